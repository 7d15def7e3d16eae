"""The engine against a scripted fake Kraken: every event, every error category."""

import pytest

from dialogs.callback_data import Action, encode, option_hash
from dialogs.events import (
    AuthCallback,
    NotifySupport,
    ReAuthenticate,
    RecordOAuthState,
    Resume,
    StartWatching,
    StopWatching,
)
from dialogs.machine import State, WaitReason
from dialogs.wizard import WizardSnapshots
from harness.conversation import DialogTester
from kraken.errors import CapabilityMissing, KrakenError, KrakenTransportError, ValidationError
from kraken.models import Wizard

from .fakes import FakeKraken, device, step, wizard
from .limits import assert_fits_telegram

MAKES_OPTIONS: list[dict[str, object]] = [
    {"id": "tesla", "vehicleMake": {"make": "Tesla"}},
    {"id": "vw", "vehicleMake": {"make": "Volkswagen"}},
    {"id": "old", "vehicleMake": {"make": "Oldtimer", "models": [{"isIntegrationLive": False}]}},
]
MAKES = step("SelectVehicleMake", "makes", options=MAKES_OPTIONS)
TYPES = step(
    "SelectDeviceType",
    "types",
    options=[{"id": "ELECTRIC_VEHICLES", "label": "EV"}, {"id": "HEAT_PUMPS", "label": "HP"}],
)
HEAT_PUMP_MAKES = step(
    "SelectHeatPumpMake",
    "hp-makes",
    options=[{"id": "daikin", "label": "Daikin"}, {"id": "mitsubishi", "label": "Mitsubishi"}],
)
VARIANTS = step(
    "SelectVehicleVariant",
    "variants",
    options=[
        {"id": "m3", "vehicleVariant": {"make": "Tesla", "models": [{"model": "Model 3"}]}},
    ],
)
AUTH = step("AuthFlow", "auth", authorizationUri="https://oem.example/a?state=st-1&x=1")
WAIT = step("WaitForTransition", "wait")
INPUTS = step(
    "UserInputRequired",
    "inputs",
    userInputs=[
        {"key": "serial", "description": "Serial", "isRequired": True, "regex": "[A-Z]{2}\\d{4}"},
        {"key": "note", "description": "Note", "isRequired": False},
    ],
)


async def started(fake: FakeKraken) -> DialogTester:
    tester = DialogTester(fake)
    await tester.begin("A-1", 1)
    return tester


class TestBegin:
    async def test_starts_a_new_wizard_when_nothing_is_resumable(self) -> None:
        fake = FakeKraken(wizard(MAKES))
        tester = await started(fake)
        assert fake.called("start_onboarding") == [("A-1", 1)]
        assert tester.state == State.CHOOSING and "Which make" in tester.last_screen.text

    async def test_offers_to_resume_an_open_wizard(self) -> None:
        open_wizard = wizard(WAIT, wizard_id="w9", display_name="Tesla Model 3")
        fake = FakeKraken(open_wizard, resumable=[open_wizard])
        tester = await started(fake)
        assert tester.state == State.RESUMING and "Tesla Model 3" in tester.last_screen.text
        await tester.tap("Pick up where I left off")
        assert tester.state == State.WAITING and fake.called("start_onboarding") == []

    async def test_start_over_cancels_the_old_wizard(self) -> None:
        old = wizard(WAIT, wizard_id="old")
        fake = FakeKraken(old, after=[wizard(MAKES, wizard_id="new")], resumable=[old])
        tester = await started(fake)
        await tester.tap("Start over")
        assert fake.called("cancel") == [("old",)]
        assert tester.conversation.wizard_id == "new" and tester.state == State.CHOOSING

    async def test_property_without_eligible_devices_is_told_so(self) -> None:
        fake = FakeKraken(wizard(MAKES), eligible=[])
        tester = await started(fake)
        assert tester.state == State.INELIGIBLE and "Nothing to connect" in tester.last_screen.text
        assert fake.called("start_onboarding") == []

    async def test_resume_intent_opens_that_wizard(self) -> None:
        fake = FakeKraken(wizard(AUTH, wizard_id="w7"))
        tester = DialogTester(fake)
        await tester.begin("A-1", 1, Resume("w7"))
        assert fake.called("wizard") == [("A-1", "w7")] and tester.state == State.SIGNING_IN

    async def test_reauthentication_intent_starts_a_reauth_wizard(self) -> None:
        fake = FakeKraken(wizard(AUTH))
        tester = DialogTester(fake)
        await tester.begin("A-1", 1, ReAuthenticate("dev-1"))
        assert fake.called("start_reauthentication") == [("A-1", "dev-1", 1)]
        assert RecordOAuthState("st-1", "w1") in tester.last_effects


class TestLists:
    async def test_choosing_selects_the_option_on_the_current_step(self) -> None:
        fake = FakeKraken(wizard(MAKES), after=[wizard(MAKES), wizard(VARIANTS, MAKES)])
        tester = await started(fake)
        await tester.tap("Volkswagen")
        assert fake.called("select_from_list") == [("makes", "vw")]
        assert tester.state == State.CHOOSING and "Which model" in tester.last_screen.text

    async def test_unsupported_option_is_selected_with_a_warning(self) -> None:
        fake = FakeKraken(wizard(MAKES), after=[wizard(MAKES), wizard(VARIANTS, MAKES)])
        tester = await started(fake)
        screen = await tester.tap("Oldtimer")
        assert screen.text.startswith("Note: <b>Oldtimer</b> can't be smart-controlled yet")
        assert "Which model" in screen.text
        assert fake.called("select_from_list") == [("makes", "old")]

    async def test_typing_filters_and_show_all_clears(self) -> None:
        tester = await started(FakeKraken(wizard(MAKES)))
        screen = await tester.type("volks")
        assert next(b.label for b in screen.buttons()) == "Volkswagen"
        screen = await tester.type("zzz")
        assert "Nothing matches" in screen.text
        screen = await tester.tap("Show all")
        assert "Tesla" in tester.labels()

    async def test_back_reselects_on_the_earlier_list_step(self) -> None:
        fake = FakeKraken(
            wizard(MAKES), after=[wizard(MAKES), wizard(VARIANTS, MAKES), wizard(VARIANTS, MAKES)]
        )
        tester = await started(fake)
        await tester.tap("Tesla")
        screen = await tester.tap("Back")
        assert "changing an earlier answer" in screen.text and "Which make" in screen.text
        await tester.tap("Volkswagen")
        assert fake.called("select_from_list")[-1] == ("makes", "vw")
        assert tester.conversation.revisit_step_id is None


class TestStaleAndForged:
    async def test_tap_from_an_older_step_changes_nothing(self) -> None:
        fake = FakeKraken(wizard(MAKES), after=[wizard(MAKES), wizard(VARIANTS, MAKES)])
        tester = await started(fake)
        old_data = tester.last_screen.buttons()[0].data  # type: ignore[union-attr]
        await tester.tap("Tesla")
        screen = await tester.tap_data(old_data)
        assert screen.text.startswith("That menu has moved on")
        assert "Which model" in screen.text
        assert len(fake.called("select_from_list")) == 1

    async def test_forged_data_is_refused(self) -> None:
        fake = FakeKraken(wizard(MAKES))
        tester = await started(fake)
        screen = await tester.tap_data("1|zzzzzz|c|0")
        assert screen.text.startswith("That button isn't valid")
        assert fake.called("select_from_list") == []

    async def test_valid_looking_action_not_allowed_in_this_state_is_stale(self) -> None:
        tester = await started(FakeKraken(wizard(MAKES)))
        screen = await tester.tap_data(encode("makes", Action.KEY_ADDED))
        assert screen.text.startswith("That menu has moved on")

    async def test_out_of_range_option_is_invalid(self) -> None:
        fake = FakeKraken(wizard(MAKES))
        tester = await started(fake)
        screen = await tester.tap_data(encode("makes", Action.CHOOSE, 99))
        assert screen.text.startswith("That button isn't valid")


class TestActsOnlyOnTheStepSeen:
    """Kraken moved on elsewhere (the customer's app, another chat) and this worker has no
    snapshot (a restart, another web worker): an answer never lands on another step."""

    @staticmethod
    async def moved_on(current: object, after: Wizard) -> tuple[FakeKraken, DialogTester]:
        fake = FakeKraken(wizard(current))  # type: ignore[arg-type]
        tester = await started(fake)
        fake.current = after
        tester.snapshots = WizardSnapshots()
        fake.calls.clear()
        return fake, tester

    async def test_a_tap_on_a_list_that_moved_on_selects_nothing(self) -> None:
        fake, tester = await self.moved_on(TYPES, wizard(HEAT_PUMP_MAKES, TYPES))
        screen = await tester.tap("Electric car or charger")
        assert fake.called("select_from_list") == []
        assert screen.text.startswith("That menu has moved on")
        assert "Daikin" in tester.labels() and tester.conversation.step_id == "hp-makes"

    async def test_a_revisited_list_is_not_acted_on_once_the_wizard_moved_on(self) -> None:
        fake = FakeKraken(wizard(MAKES), after=[wizard(MAKES), wizard(VARIANTS, MAKES)])
        tester = await started(fake)
        await tester.tap("Tesla")
        await tester.tap("Back")
        fake.current = wizard(AUTH, VARIANTS, MAKES)  # the app chose the model meanwhile
        tester.snapshots = WizardSnapshots()
        screen = await tester.tap("Volkswagen")
        assert fake.called("select_from_list") == [("makes", "tesla")]
        assert screen.text.startswith("That menu has moved on") and tester.state == State.SIGNING_IN

    async def test_typing_a_filter_on_a_list_that_moved_on_shows_the_fresh_step(self) -> None:
        _, tester = await self.moved_on(TYPES, wizard(HEAT_PUMP_MAKES, TYPES))
        screen = await tester.type("dai")
        assert screen.text.startswith("That menu has moved on")
        assert tester.conversation.step_id == "hp-makes" and not tester.conversation.list_filter

    async def test_a_typed_answer_is_not_submitted_to_another_input_step(self) -> None:
        other = step("UserInputRequired", "inputs-2", userInputs=[{"key": "serial"}])
        fake, tester = await self.moved_on(
            step("UserInputRequired", "inputs-1", userInputs=[{"key": "serial"}]), wizard(other)
        )
        screen = await tester.type("AB1234")
        assert fake.called("complete_user_input") == []
        assert screen.text.startswith("That menu has moved on")
        assert tester.conversation.step_id == "inputs-2" and tester.conversation.inputs == {}

    async def test_a_pasted_sign_in_url_is_not_used_for_another_sign_in(self) -> None:
        daikin = step("AuthFlow", "auth-2", authorizationUri="https://daikin.example/a?state=s2")
        fake, tester = await self.moved_on(AUTH, wizard(daikin))
        screen = await tester.type("https://bot.example/cb?code=c1&state=st-1")
        assert fake.called("complete_auth_flow") == []
        assert screen.text.startswith("That menu has moved on")
        assert tester.conversation.step_id == "auth-2"

    async def test_the_oauth_callback_is_not_used_for_another_sign_in(self) -> None:
        daikin = step("AuthFlow", "auth-2", authorizationUri="https://daikin.example/a?state=s2")
        fake, tester = await self.moved_on(AUTH, wizard(daikin))
        await tester.auth_callback("https://bot.example/cb?code=c1&state=st-1")
        assert fake.called("complete_auth_flow") == []
        assert tester.conversation.step_id == "auth-2"

    async def test_i_have_signed_in_on_a_sign_in_that_moved_on_is_stale(self) -> None:
        _, tester = await self.moved_on(AUTH, wizard(WAIT, AUTH))
        screen = await tester.tap("I've signed in")
        assert screen.text.startswith("That menu has moved on") and tester.state == State.WAITING
        assert not tester.conversation.awaiting_url

    async def test_back_on_a_step_that_moved_on_is_stale(self) -> None:
        fake = FakeKraken(wizard(MAKES), after=[wizard(MAKES), wizard(VARIANTS, MAKES)])
        tester = await started(fake)
        await tester.tap("Tesla")
        fake.current = wizard(AUTH, VARIANTS, MAKES)
        screen = await tester.tap("Back")
        assert screen.text.startswith("That menu has moved on") and tester.state == State.SIGNING_IN
        assert tester.conversation.revisit_step_id is None

    async def test_a_still_current_step_is_acted_on_after_a_fresh_read(self) -> None:
        fake, tester = await self.moved_on(MAKES, wizard(MAKES))
        await tester.tap("Volkswagen")
        assert fake.called("wizards") == [("A-1", None, "w1", None)]
        assert fake.called("select_from_list") == [("makes", "vw")]


class TestOptionsByIdentity:
    async def test_an_option_tap_after_the_list_was_reordered_picks_by_id(self) -> None:
        reordered = step("SelectVehicleMake", "makes", options=list(reversed(MAKES_OPTIONS)))
        fake = FakeKraken(wizard(MAKES))
        tester = await started(fake)
        tesla = tester._find("Tesla").data  # type: ignore[union-attr]
        fake.current = wizard(reordered)
        tester.snapshots = WizardSnapshots()
        await tester.tap_data(tesla)
        assert fake.called("select_from_list") == [("makes", "tesla")]

    async def test_an_option_gone_from_the_list_is_refused(self) -> None:
        fewer = step("SelectVehicleMake", "makes", options=MAKES_OPTIONS[1:])
        fake = FakeKraken(wizard(MAKES))
        tester = await started(fake)
        tesla = tester._find("Tesla").data  # type: ignore[union-attr]
        fake.current = wizard(fewer)
        tester.snapshots = WizardSnapshots()
        screen = await tester.tap_data(tesla)
        assert screen.text.startswith("That button isn't valid")
        assert fake.called("select_from_list") == []

    async def test_an_index_is_not_an_option(self) -> None:
        fake = FakeKraken(wizard(MAKES))
        tester = await started(fake)
        screen = await tester.tap_data(encode("makes", Action.CHOOSE, 0))
        assert screen.text.startswith("That button isn't valid")
        assert fake.called("select_from_list") == []

    async def test_options_whose_ids_share_a_hash_are_refused(self) -> None:
        # Two options named by the same hash cannot be told apart: neither is chosen.
        twins = step("SelectVehicleMake", "makes", options=[MAKES_OPTIONS[0]] * 2)
        fake = FakeKraken(wizard(twins))
        tester = await started(fake)
        screen = await tester.tap_data(encode("makes", Action.CHOOSE, option_hash("tesla")))
        assert screen.text.startswith("That button isn't valid")
        assert fake.called("select_from_list") == []


class TestInputs:
    async def test_regex_is_checked_locally_before_kraken(self) -> None:
        fake = FakeKraken(wizard(INPUTS), after=[wizard(INPUTS), wizard(WAIT)])
        tester = await started(fake)
        screen = await tester.type("nope")
        assert "doesn't look right" in screen.text and fake.called("complete_user_input") == []
        await tester.type("AB1234")
        await tester.tap("Skip")
        assert fake.called("complete_user_input") == [("inputs", {"serial": "AB1234"})]
        assert tester.state == State.WAITING

    async def test_server_validation_error_is_shown_and_asked_again(self) -> None:
        rejected = KrakenError(
            "Invalid data.",
            code="KT-CT-4375",
            validation_errors=[ValidationError(None, "Unknown serial.", ())],
        )
        fake = FakeKraken(wizard(INPUTS), errors={"complete_user_input": rejected})
        tester = await started(fake)
        await tester.type("AB1234")
        screen = await tester.type("fine")
        assert "Unknown serial." in screen.text and "Question 1 of 2" in screen.text
        assert tester.state == State.ANSWERING_INPUT


class TestSignIn:
    async def test_records_the_oauth_state_and_accepts_the_landing_url(self) -> None:
        fake = FakeKraken(wizard(AUTH), after=[wizard(AUTH), wizard(WAIT, AUTH)])
        tester = await started(fake)
        assert RecordOAuthState("st-1", "w1") in tester.last_effects
        await tester.tap("I've signed in")
        screen = await tester.type("not a url")
        assert "not the address" in screen.text
        await tester.type("https://bot.example/cb?code=c1&state=st-1")
        assert fake.called("complete_auth_flow") == [
            ("auth", "https://bot.example/cb?code=c1&state=st-1")
        ]
        assert StartWatching("w1", WaitReason.TRANSITION) in tester.last_effects

    async def test_access_denied_is_explained(self) -> None:
        fake = FakeKraken(wizard(AUTH))
        tester = await started(fake)
        screen = await tester.type("https://bot.example/cb?error=access_denied&state=st-1")
        assert "Access wasn't allowed" in screen.text and fake.called("complete_auth_flow") == []

    async def test_oauth_callback_completes_the_step(self) -> None:
        fake = FakeKraken(wizard(AUTH), after=[wizard(WAIT, AUTH)])
        tester = await started(fake)
        await tester.auth_callback("https://bot.example/cb?code=c&state=st-1")
        assert tester.state == State.WAITING

    async def test_oauth_callback_for_this_wizard_completes_the_step(self) -> None:
        fake = FakeKraken(wizard(AUTH), after=[wizard(AUTH), wizard(WAIT, AUTH)])
        tester = await started(fake)
        await tester.send(AuthCallback("https://bot.example/cb?code=c&state=st-1", "w1"))
        assert fake.called("complete_auth_flow") and tester.state == State.WAITING

    async def test_oauth_callback_for_another_wizard_changes_nothing(self) -> None:
        fake = FakeKraken(wizard(AUTH))
        tester = await started(fake)
        before = tester.conversation
        fake.calls.clear()
        outcome = await tester.send(AuthCallback("https://bot.example/cb?code=c&state=st-1", "w0"))
        assert outcome.screens == [] and outcome.effects == [] and fake.calls == []
        assert outcome.conversation == before

    async def test_oauth_callback_for_a_step_that_moved_on_changes_nothing(self) -> None:
        fake = FakeKraken(wizard(WAIT))
        tester = await started(fake)
        await tester.auth_callback("https://bot.example/cb?code=c&state=st-1")
        assert fake.called("complete_auth_flow") == [] and tester.state == State.WAITING


class TestEndings:
    """`currentStep: null` is not LIVE: the ending comes from what Kraken says."""

    async def test_a_wizard_cancelled_elsewhere_is_told_as_cancelled_never_connected(
        self,
    ) -> None:
        fake = FakeKraken(wizard(WAIT))
        tester = await started(fake)
        fake.cancelled.add("w1")  # support cancelled it, or the app did
        outcome = await tester.wizard_changed(wizard(None, WAIT))
        text = outcome.screens[0].text
        assert tester.state == State.CANCELLED
        assert "was cancelled" in text and "connected" not in text
        assert StopWatching("w1") in tester.last_effects

    async def test_complete_but_not_live_keeps_watching_and_says_what_is_happening(
        self,
    ) -> None:
        fake = FakeKraken(wizard(WAIT, display_name="Zappi"), device_list=[device("PENDING_LIVE")])
        tester = await started(fake)
        outcome = await tester.wizard_changed(wizard(None, WAIT, display_name="Zappi"))
        assert tester.state == State.COMPLETING
        assert (
            "Almost there" in outcome.screens[0].text and "connected" not in outcome.screens[0].text
        )
        assert StartWatching("w1", WaitReason.DEVICE_LIVE) in tester.last_effects
        # The next look finds the same: no news, no message.
        again = await tester.wizard_changed(wizard(None, WAIT, display_name="Zappi"))
        assert again.screens == [] and tester.state == State.COMPLETING
        fake.device_list = [device("LIVE")]
        live = await tester.wizard_changed(wizard(None, WAIT, display_name="Zappi"))
        assert tester.state == State.LIVE and "Zappi is connected" in live.screens[0].text
        assert StopWatching("w1") in tester.last_effects

    async def test_a_live_device_with_smart_control_paused_says_so(self) -> None:
        fake = FakeKraken(wizard(WAIT), device_list=[device("LIVE", suspended=True)])
        tester = await started(fake)
        outcome = await tester.wizard_changed(wizard(None, WAIT, display_name="Zappi"))
        assert tester.state == State.LIVE
        assert "Smart control is paused" in outcome.screens[0].text

    async def test_a_retired_device_gets_an_honest_message_and_a_reference(self) -> None:
        fake = FakeKraken(wizard(WAIT), device_list=[device("RETIRED")])
        tester = await started(fake)
        outcome = await tester.wizard_changed(wizard(None, WAIT, display_name="Zappi"))
        text = outcome.screens[0].text
        assert tester.state == State.ENDED and "isn't under smart control" in text
        assert "SF-w1/RETIRED" in text and "connected" not in text
        assert any(isinstance(e, NotifySupport) for e in tester.last_effects)


class TestWaiting:
    async def test_check_now_says_still_waiting_when_nothing_changed(self) -> None:
        tester = await started(FakeKraken(wizard(WAIT)))
        screen = await tester.tap("Check now")
        assert screen.text.startswith("Still waiting")

    async def test_notifier_change_shows_the_next_step_and_stops_polling(self) -> None:
        fake = FakeKraken(wizard(WAIT))
        tester = await started(fake)
        outcome = await tester.wizard_changed(wizard(None, WAIT, display_name="Zappi"))
        assert tester.state == State.LIVE and "Zappi is connected" in outcome.screens[0].text
        assert StopWatching("w1") in outcome.effects

    async def test_notifier_without_news_stays_silent(self) -> None:
        tester = await started(FakeKraken(wizard(WAIT)))
        outcome = await tester.wizard_changed(wizard(WAIT))
        assert outcome.screens == [] and outcome.effects == []

    async def test_unknown_step_keeps_polling(self) -> None:
        tester = await started(FakeKraken(wizard(step("BrandNewStep", "n"))))
        assert tester.state == State.UNKNOWN_STEP
        assert StartWatching("w1", WaitReason.UNKNOWN_STEP) in tester.last_effects
        assert "finish it in the app" in tester.last_screen.text


class TestCancel:
    async def test_cancel_asks_first_and_keeps_registered_devices(self) -> None:
        fake = FakeKraken(wizard(WAIT))
        tester = await started(fake)
        screen = await tester.tap("Cancel")
        assert "stays registered" in screen.text and fake.called("cancel") == []
        await tester.tap("Yes, stop")
        assert fake.called("cancel") == [("w1",)] and tester.state == State.CANCELLED
        assert StopWatching("w1") in tester.last_effects

    async def test_keep_going_returns_to_the_step(self) -> None:
        tester = await started(FakeKraken(wizard(WAIT)))
        await tester.cancel()
        await tester.tap("No, keep going")
        assert tester.state == State.WAITING


class TestErrors:
    @pytest.mark.parametrize(
        ("error", "phrase", "support"),
        [
            (KrakenTransportError("down"), "couldn't reach the energy system", False),
            (KrakenError("busy", code="KT-CT-4376"), "try again in a minute", False),
            (KrakenError("expired", code="KT-CT-1124"), "reconnecting", False),
            (KrakenError("bad", code="KT-CT-4371"), "quote reference <code>SF-w1/KT-CT-4371", True),
        ],
    )
    async def test_each_category_becomes_a_screen(
        self, error: KrakenError, phrase: str, support: bool
    ) -> None:
        fake = FakeKraken(wizard(MAKES), errors={"select_from_list": error})
        tester = await started(fake)
        screen = await tester.tap("Tesla")
        assert phrase in screen.text and tester.state == State.ERROR
        assert any(isinstance(e, NotifySupport) for e in tester.last_effects) == support
        assert_fits_telegram(screen)
        await tester.tap("Try again")
        assert tester.state == State.CHOOSING

    async def test_step_moved_on_refreshes_and_shows_the_current_step(self) -> None:
        moved = KrakenError("Invalid onboarding step ID.", code="KT-CT-4377")
        fake = FakeKraken(wizard(MAKES), errors={"select_from_list": moved})
        tester = await started(fake)
        fake.current = wizard(VARIANTS, MAKES)
        screen = await tester.tap("Tesla")
        assert screen.text.startswith("That menu has moved on") and "Which model" in screen.text

    async def test_test_charge_refusal_tells_the_user_what_to_fix(self) -> None:
        charge = step("TestCharge", "tc", isReady=True)
        refused = KrakenError(
            "Unable to trigger charge.", code="KT-CT-4355", refusal_reasons=["DEVICE_DISCONNECTED"]
        )
        fake = FakeKraken(wizard(charge), errors={"start_test_charge": refused})
        tester = await started(fake)
        screen = await tester.tap("start the test")
        assert "isn't plugged in" in screen.text and "Try again" in tester.labels()[0]

    async def test_a_step_this_instance_cannot_do_is_finished_in_the_app_and_watched(
        self,
    ) -> None:
        charge = step("TestCharge", "tc", isReady=True)
        missing = CapabilityMissing("test_charge", "no test charge mutation")
        fake = FakeKraken(wizard(charge), errors={"start_test_charge": missing})
        tester = await started(fake)
        screen = await tester.tap("start the test")
        assert "finish it in the app" in screen.text
        assert "SF-w1/UNSUPPORTED-test_charge" in screen.text
        assert "GraphQL" not in screen.text and "mutation" not in screen.text
        assert tester.state == State.UNKNOWN_STEP and "Check now" in tester.labels()[0]
        assert StartWatching("w1", WaitReason.UNKNOWN_STEP) in tester.last_effects


class TestHelpAndLanguage:
    async def test_help_then_continue_returns_to_the_step(self) -> None:
        tester = await started(FakeKraken(wizard(WAIT)))
        assert "How this works" in (await tester.help()).text
        await tester.tap("Continue")
        assert (
            tester.state == State.WAITING
            and "Waiting for the manufacturer" in tester.last_screen.text
        )

    async def test_language_switch_re_renders_in_the_new_language(self) -> None:
        tester = await started(FakeKraken(wizard(WAIT)))
        screen = await tester.language("de")
        assert "Deutsch" in screen.text and "Jetzt prüfen" in tester.labels()[0]
        assert tester.conversation.locale_override

    async def test_unexpected_text_points_to_the_buttons(self) -> None:
        tester = await started(FakeKraken(wizard(WAIT)))
        screen = await tester.type("hello?")
        assert "use the buttons" in screen.text
