from typing import Any

import pytest

from dialogs.callback_data import Action, decode, option_hash, step_hash
from dialogs.conversation import Conversation
from dialogs.i18n import available_locales, has_key
from dialogs.machine import state_for
from dialogs.render import render_step
from dialogs.render.lists import PAGE_SIZE
from dialogs.screen import CallbackButton, Screen, UrlButton
from kraken.models import STEP_TYPES, ListOption, Step

from .fakes import options, step
from .limits import assert_fits_telegram

REFUSALS = [
    "DEVICE_LIVE",
    "DEVICE_ONBOARDING_IN_PROGRESS",
    "DEVICE_RETIRED",
    "DEVICE_SUSPENDED",
    "DEVICE_DISCONNECTED",
    "DEVICE_ALREADY_CHARGING",
    "DEVICE_AWAY_FROM_HOME",
    "DEVICE_NO_LOCATION_CONFIGURED",
    "DEVICE_LOCATION_UNABLE_TO_IDENTIFY",
    "DEVICE_LOCATION_MISSING",
]
FAILURES = [
    "NONE",
    "UNKNOWN",
    "ASSESSMENTS_FAILED",
    "NOT_AT_HOME",
    "UNABLE_TO_COMMUNICATE",
    "DEVICE_DISCONNECTED",
    "SOC_LIMIT_REACHED",
    "ERROR",
]


def conv_for(s: Step, **extra: Any) -> Conversation:
    return Conversation(
        account_number="A-1",
        property_id=1,
        wizard_id="w1",
        step_id=s.id,
        state=state_for(s),
        **extra,
    )


def actions(screen: Screen) -> list[Action]:
    return [
        decode(b.data).action  # type: ignore[union-attr]
        for b in screen.buttons()
        if isinstance(b, CallbackButton)
    ]


@pytest.mark.parametrize("typename", [*sorted(STEP_TYPES), "SomethingNew"])
@pytest.mark.parametrize("locale", available_locales())
def test_every_step_type_has_a_screen_that_fits_telegram(typename: str, locale: str) -> None:
    s = step(typename)
    screen = render_step(conv_for(s, locale=locale), s)
    assert_fits_telegram(screen)


def test_unknown_step_sends_user_to_the_app_with_a_reference_and_check_now() -> None:
    s = step("SomethingNew", "s9")
    screen = render_step(conv_for(s), s)
    assert "finish it in the app" in screen.text
    assert "SF-w1/SomethingNew" in screen.text
    assert Action.CHECK_NOW in actions(screen)


def test_buttons_are_bound_to_the_step_they_were_drawn_for() -> None:
    s = step("WaitForTransition", "step-42")
    screen = render_step(conv_for(s), s)
    hashes = {decode(b.data).step_hash for b in screen.buttons()}  # type: ignore[union-attr]
    assert hashes == {step_hash("step-42")}


class TestLists:
    def make_list(self, count: int) -> Step:
        return step(
            "SelectVehicleMake",
            "s1",
            options=[{"id": f"m{i}", "vehicleMake": {"make": f"Make {i}"}} for i in range(count)],
        )

    def test_long_lists_are_paged_within_eight_rows(self) -> None:
        s = self.make_list(20)
        conv = conv_for(s, back_step_id="s0")
        first = render_step(conv, s)
        assert_fits_telegram(first)
        assert [b.label for b in first.buttons()][:PAGE_SIZE] == [f"Make {i}" for i in range(6)]
        assert "Page 1 of 4" in first.text and "type a few letters" in first.text
        conv.list_page = 3
        last = render_step(conv, s)
        labels = [b.label for b in last.buttons()]
        assert "Make 19" in labels and "Next ▶" not in labels and "◀ Previous" in labels
        assert "◀ Back" in labels

    def test_typing_narrows_the_list_and_says_when_nothing_matches(self) -> None:
        s = step(
            "SelectVehicleMake",
            "s1",
            options=[
                {"id": "t", "vehicleMake": {"make": "Tesla"}},
                {"id": "v", "vehicleMake": {"make": "Volkswagen"}},
            ],
        )
        narrowed = render_step(conv_for(s, list_filter="tes"), s)
        assert next(b.label for b in narrowed.buttons()) == "Tesla"
        assert "Volkswagen" not in [b.label for b in narrowed.buttons()]
        nothing = render_step(conv_for(s, list_filter="xyz"), s)
        assert "Nothing matches “xyz”" in nothing.text
        assert "Show all" in [b.label for b in nothing.buttons()]

    def test_option_buttons_name_their_option_by_id_not_position(self) -> None:
        s = step(
            "SelectVehicleMake",
            "s1",
            options=[
                {"id": "t", "vehicleMake": {"make": "Tesla"}},
                {"id": "v", "vehicleMake": {"make": "Volkswagen"}},
            ],
        )
        screen = render_step(conv_for(s, list_filter="volks"), s)
        data = decode(screen.buttons()[0].data)  # type: ignore[union-attr]
        assert data is not None and data.action is Action.CHOOSE and data.arg == option_hash("v")

    def test_models_show_years_and_unsupported_ones_are_marked(self) -> None:
        s = step(
            "SelectVehicleVariant",
            "s2",
            options=[
                {
                    "id": "a",
                    "vehicleVariant": {
                        "make": "Tesla",
                        "models": [
                            {
                                "model": "Model 3",
                                "availableFrom": 2019,
                                "availableTo": 2023,
                                "isIntegrationLive": True,
                            }
                        ],
                    },
                },
                {
                    "id": "b",
                    "vehicleVariant": {
                        "make": "Tesla",
                        "models": [
                            {"model": "Roadster", "availableFrom": 2008, "isIntegrationLive": False}
                        ],
                    },
                },
            ],
        )
        screen = render_step(conv_for(s), s)
        labels = [b.label for b in screen.buttons()]
        assert labels[:2] == ["Model 3 (2019–2023)", "⏳ Roadster (2008 onwards)"]
        assert "can't be smart-controlled yet" in screen.text

    def test_identical_labels_are_numbered(self) -> None:
        s = step(
            "SelectUserVehicle",
            "s3",
            options=[
                {"id": "a", "vehicle": {"displayName": "My Tesla"}},
                {"id": "b", "vehicle": {"displayName": "My Tesla"}},
            ],
        )
        labels = [b.label for b in render_step(conv_for(s), s).buttons()][:2]
        assert labels == ["My Tesla · 1", "My Tesla · 2"]

    @pytest.mark.parametrize(("locale", "expected"), [("en", "57.5 kWh"), ("de", "57,5 kWh")])
    def test_look_alike_variants_are_told_apart_by_battery(
        self, locale: str, expected: str
    ) -> None:
        def variant(option_id: str, battery: float) -> dict[str, Any]:
            model = {
                "model": "Model 3",
                "availableFrom": 2019,
                "availableTo": 2023,
                "batterySize": battery,
                "isIntegrationLive": True,
            }
            return {"id": option_id, "vehicleVariant": {"make": "Tesla", "models": [model]}}

        s = step("SelectVehicleVariant", "s2", options=[variant("a", 57.5), variant("b", 75)])
        labels = [b.label for b in render_step(conv_for(s, locale=locale), s).buttons()][:2]
        assert labels[0].endswith(expected) and labels[1].endswith("75 kWh")
        assert "· 1" not in labels[0]

    def test_device_types_are_translated(self) -> None:
        s = step("SelectDeviceType", "s0", options=[{"id": "HEAT_PUMPS", "label": "Heat Pump"}])
        screen = render_step(conv_for(s, locale="de"), s)
        assert screen.buttons()[0].label == "Wärmepumpe"


def test_vehicle_or_charger_recommends_the_car_first() -> None:
    s = step("SelectVehicleOrChargePoint", "s5")
    screen = render_step(conv_for(s), s)
    assert "battery" in screen.text
    first = decode(screen.buttons()[0].data)  # type: ignore[union-attr]
    assert first is not None and first.arg == "ELECTRIC_VEHICLE"
    assert "recommended" in screen.buttons()[0].label


class TestUserInput:
    s = step(
        "UserInputRequired",
        "s6",
        userInputs=[
            {
                "key": "serial",
                "description": "Serial number",
                "isRequired": True,
                "regex": "[A-Z]{2}\\d{4}",
            },
            {"key": "nickname", "description": "Nickname", "isRequired": False},
        ],
    )

    def test_prompts_one_input_at_a_time_with_the_regex_to_check(self) -> None:
        screen = render_step(conv_for(self.s), self.s)
        assert "Serial number" in screen.text and "Question 1 of 2" in screen.text
        assert screen.expects is not None and screen.expects.regex == "[A-Z]{2}\\d{4}"
        assert Action.SKIP_INPUT not in actions(screen)

    def test_optional_inputs_can_be_skipped(self) -> None:
        screen = render_step(conv_for(self.s, input_index=1), self.s)
        assert "optional" in screen.text and Action.SKIP_INPUT in actions(screen)
        assert screen.expects is not None and screen.expects.optional

    def test_the_servers_complaint_is_shown(self) -> None:
        s = step(
            "UserInputRequired",
            "s6",
            userInputs=[{"key": "vin"}],
            error={"message": "VIN <unknown>"},
        )
        assert "VIN &lt;unknown&gt;" in render_step(conv_for(s), s).text


class TestSignIn:
    s = step(
        "AuthFlow",
        "s7",
        authorizationUri="https://oem.example/auth?state=abc",
        redirectUri="https://bot.example/oauth/callback",
    )

    def test_link_to_the_provider_and_a_way_to_paste_the_landing_url(self) -> None:
        screen = render_step(conv_for(self.s), self.s)
        link = screen.buttons()[0]
        assert isinstance(link, UrlButton) and link.url.startswith("https://oem.example/auth")
        assert Action.SIGNED_IN in actions(screen)

    def test_after_signed_in_it_asks_for_the_url(self) -> None:
        screen = render_step(conv_for(self.s, awaiting_url=True), self.s)
        assert "paste the full address" in screen.text
        assert screen.expects is not None

    def test_tesla_scopes_use_the_modify_scopes_link(self) -> None:
        s = step("TeslaModifyScopes", "s8", modifyScopesUri="https://tesla.example/scopes")
        screen = render_step(conv_for(s), s)
        assert any(
            isinstance(b, UrlButton) and b.url == "https://tesla.example/scopes"
            for b in screen.buttons()
        )


def test_virtual_key_links_to_tesla_and_names_the_key() -> None:
    s = step("TeslaSetupVirtualKey", "k", key="bot.example", uri="https://tesla.com/_ak/x")
    screen = render_step(conv_for(s), s)
    assert "<code>bot.example</code>" in screen.text
    assert isinstance(screen.buttons()[0], UrlButton)
    assert Action.KEY_ADDED in actions(screen)


def test_user_actions_are_listed_with_their_links() -> None:
    s = step(
        "UserActionRequired",
        "u",
        userActions=[
            {"description": "Update the car's software", "uri": "https://oem.example/update"},
            {"description": "Enable location"},
        ],
    )
    screen = render_step(conv_for(s), s)
    assert "1. Update the car's software" in screen.text and "2. Enable location" in screen.text
    assert [b.label for b in screen.buttons() if isinstance(b, UrlButton)] == ["Open link 1"]


class TestTestCharge:
    def test_checklist_before_starting(self) -> None:
        s = step("TestCharge", "t", isReady=True, isStarted=False)
        screen = render_step(conv_for(s), s)
        for fact in ("plugged in at home", "isn't full", "7 minutes"):
            assert fact in screen.text
        assert Action.CONFIRM_TEST in actions(screen)

    def test_running_offers_check_now(self) -> None:
        s = step("TestCharge", "t", isStarted=True)
        screen = render_step(conv_for(s), s)
        assert "running" in screen.text and Action.CHECK_NOW in actions(screen)

    @pytest.mark.parametrize("reason", sorted(set(REFUSALS + FAILURES)))
    def test_every_reason_has_advice(self, reason: str) -> None:
        assert has_key(f"test_charge.reason.{reason}")
        s = step("TestCharge", "t", error={"message": "x", "reasons": [reason]})
        screen = render_step(conv_for(s), s)
        assert "didn't work" in screen.text and Action.CONFIRM_TEST in actions(screen)

    def test_away_from_home_tells_the_user_what_to_do(self) -> None:
        s = step("TestCharge", "t", error={"reasons": ["DEVICE_AWAY_FROM_HOME"]})
        assert "at home" in render_step(conv_for(s), s).text


@pytest.mark.parametrize(
    ("typename", "phrase"),
    [
        ("SmartFlexOnboardingDeviceRegistration", "Registering"),
        ("WaitForTransition", "manufacturer"),
        ("WaitForLiveIntegration", "go live"),
    ],
)
def test_waiting_says_what_for_with_check_now_and_cancel(typename: str, phrase: str) -> None:
    s = step(typename, "w")
    screen = render_step(conv_for(s), s)
    assert phrase in screen.text
    assert actions(screen) == [Action.CHECK_NOW, Action.CANCEL]


def test_live_congratulates_and_explains_smart_charging() -> None:
    screen = render_step(Conversation(device_name="Tesla Model Y"), None)
    assert "Tesla Model Y is connected" in screen.text and "smartly" in screen.text


def test_unsupported_combination_offers_going_back() -> None:
    s = step("UnsupportedCombination", "u")
    screen = render_step(conv_for(s, back_step_id="earlier"), s)
    assert Action.BACK in actions(screen)


def test_terminal_error_lists_problems_and_a_support_reference() -> None:
    s = step("TerminalError", "x", errors=[{"errorCode": "E1", "description": "Broken"}])
    screen = render_step(conv_for(s), s)
    assert "Broken (E1)" in screen.text and "SF-w1/E1" in screen.text


def test_option_labels_never_exceed_a_sane_length() -> None:
    s = step("SelectVehicleMake", "s", options=[{"id": "x", "vehicleMake": {"make": "M" * 200}}])
    assert len(render_step(conv_for(s), s).buttons()[0].label) <= 48


def test_not_live_flag_defaults_to_selectable() -> None:
    assert options("A")[0].is_integration_live is None
    assert ListOption(id="a", label="A").is_integration_live is None
