"""Whole conversations against the Kraken sandbox, made only of events a user can produce.

Journeys (a)-(h) are the sandbox's (sandbox/kraken/README.md); the user taps buttons by their
label, types text, opens links in a "browser" and waits by moving the sandbox clock.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from dialogs.events import NotifySupport, ReAuthenticate, RecordOAuthState, StartWatching
from dialogs.i18n import t
from dialogs.machine import State
from dialogs.wizard import WizardSnapshots
from harness.conversation import DialogTester
from kraken.client import KrakenClient
from kraken.models import Wizard

from .conftest import ACCOUNT, PROPERTY, Sandbox

WAITING_STATES = (State.WAITING, State.TEST_CHARGE_RUNNING)


async def choose(user: DialogTester, *labels: str) -> None:
    """Pick options on successive list steps, typing to narrow a list when the option is not
    on screen; variants can share a name, so the first match is taken."""
    for label in labels:
        if label not in user.labels():
            await user.type(label)
        await user.tap(
            next(shown for shown in user.labels() if label.casefold() in shown.casefold())
        )


async def sign_in(user: DialogTester, sandbox: Sandbox, *, allow: bool = True) -> None:
    landed = await sandbox.consent(user.url("Sign in"), allow=allow)
    await user.tap("I've signed in")
    await user.type(landed)


async def wait_until_done(user: DialogTester) -> None:
    """Let time pass and check, as a patient user would, until nothing is pending."""
    for _ in range(10):
        if user.state not in WAITING_STATES:
            return
        await user.advance_clock(600)
        await user.tap("Check now")
    raise AssertionError(f"still {user.state} after waiting")


async def test_car_with_a_test_charge(user: DialogTester, sandbox: Sandbox) -> None:
    """(a): Tesla Model S, two cars on the Tesla account, virtual key, test charge."""
    await user.begin(ACCOUNT, PROPERTY)
    await choose(user, "Electric car or charger", "Tesla")
    await choose(user, "Model S", "No smart charger")
    assert any(isinstance(e, RecordOAuthState) for e in user.last_effects)
    await sign_in(user, sandbox)
    assert user.state == State.ADDING_VIRTUAL_KEY
    assert user.url("Add the key").startswith("http")
    await user.tap("I've added the key")
    assert "several cars" in user.last_screen.text
    await user.tap(user.labels()[0])
    assert user.state == State.TEST_CHARGE and "plugged in at home" in user.last_screen.text
    await user.tap("start the test")
    assert user.state == State.TEST_CHARGE_RUNNING
    assert any(isinstance(e, StartWatching) for e in user.last_effects)
    await wait_until_done(user)
    assert user.state == State.LIVE and "is connected" in user.last_screen.text


async def test_car_registered_by_kraken(user: DialogTester, sandbox: Sandbox) -> None:
    """(b): Volkswagen e-Golf via an aggregator: registration is waited for."""
    await user.begin(ACCOUNT, PROPERTY)
    await choose(user, "Electric car or charger", "Volkswagen", "e-Golf", "No smart charger")
    await sign_in(user, sandbox)
    assert "Registering your device" in user.last_screen.text
    await wait_until_done(user)
    assert user.state == State.TEST_CHARGE
    await user.tap("start the test")
    await wait_until_done(user)
    assert user.state == State.LIVE


async def test_car_and_charger_choose_the_charger(user: DialogTester, sandbox: Sandbox) -> None:
    """(c): both integrations live: the car is recommended, the user picks the charger."""
    await user.begin(ACCOUNT, PROPERTY)
    await choose(user, "Electric car or charger", "Tesla", "Model Y")
    await choose(user, "myenergi", "zappi v2 7kW")
    assert user.state == State.CHOOSING_INTEGRATION
    assert "recommended" in user.labels()[0]
    await user.tap("My charger")
    await sign_in(user, sandbox)
    await wait_until_done(user)
    await user.tap("start the test")
    await wait_until_done(user)
    assert user.state == State.LIVE


async def test_ocpp_charger_with_serial_number(user: DialogTester) -> None:
    """(d): a car without integration plus an OCPP charger: serial number, then an action."""
    await user.begin(ACCOUNT, PROPERTY)
    await choose(user, "Electric car or charger", "Fiat", "500e", "Wallbox", "Pulsar Plus 7kW")
    assert user.state == State.ANSWERING_INPUT
    screen = await user.type("not valid!")
    assert "doesn't look right" in screen.text and user.state == State.ANSWERING_INPUT
    screen = await user.type("W" * 4000)  # a paste gone wrong: refused before Kraken sees it
    assert "too long" in screen.text and user.state == State.ANSWERING_INPUT
    assert len(user.conversation.to_json()) < 1024
    await user.type("WB12345678")
    assert user.state == State.CONFIRMING_ACTION
    # The charger's OCPP endpoint is typed into its app: shown as text, not as a button.
    assert "<code>ws://" in user.last_screen.text and "WB12345678" in user.last_screen.text
    await user.tap("Done")
    assert "Waiting for the manufacturer" in user.last_screen.text
    await wait_until_done(user)
    assert user.state == State.LIVE


async def test_app_only_provider(user: DialogTester) -> None:
    """(e): Renault Zoe through the Jedlix app: an action outside the chat, then a wait."""
    await user.begin(ACCOUNT, PROPERTY)
    await choose(user, "Electric car or charger", "Renault", "Zoe", "No smart charger")
    assert user.state == State.CONFIRMING_ACTION
    await user.tap("Done")
    await wait_until_done(user)
    assert user.state == State.LIVE


async def test_heat_pump(user: DialogTester, sandbox: Sandbox) -> None:
    """(f): Daikin heat pump: sign in, then wait for the integration to go live."""
    await user.begin(ACCOUNT, PROPERTY)
    await choose(user, "Heat pump", "Daikin")
    await sign_in(user, sandbox)
    assert "go live" in user.last_screen.text
    await wait_until_done(user)
    assert user.state == State.LIVE


async def test_unsupported_then_back_to_a_charger(user: DialogTester) -> None:
    """(g): unsupported car and no charger; going back to pick a charger rescues it."""
    await user.begin(ACCOUNT, PROPERTY)
    await choose(user, "Electric car or charger", "Fiat", "500e", "No smart charger")
    assert user.state == State.UNSUPPORTED
    screen = await user.tap("Back")
    assert "changing an earlier answer" in screen.text and "charger" in screen.text
    await choose(user, "Wallbox", "Pulsar Plus 7kW")
    assert user.state == State.ANSWERING_INPUT


async def test_unsupported_heat_pump_then_back(user: DialogTester, sandbox: Sandbox) -> None:
    """(g) for heat pumps: the make has no integration; going back to another make works."""
    await user.begin(ACCOUNT, PROPERTY)
    await choose(user, "Heat pump", "Panasonic")
    assert user.state == State.UNSUPPORTED
    await user.tap("Back")
    await choose(user, "Daikin")
    await sign_in(user, sandbox)
    await wait_until_done(user)
    assert user.state == State.LIVE


async def test_car_without_integration_is_chosen_with_a_warning(user: DialogTester) -> None:
    await user.begin(ACCOUNT, PROPERTY)
    await choose(user, "Electric car or charger")
    screen = await user.type("Fiat")
    assert "⏳ Fiat" in user.labels()
    screen = await user.tap("Fiat")
    assert "can't be smart-controlled yet" in screen.text and "smart charger" in screen.text
    assert "Which model" in screen.text


async def test_refused_test_charge_then_retry(user: DialogTester, sandbox: Sandbox) -> None:
    """(h): Nissan Leaf away from home: told what to do, then the retry works."""
    await user.begin(ACCOUNT, PROPERTY)
    await choose(user, "Electric car or charger", "Nissan", "Leaf", "No smart charger")
    await sign_in(user, sandbox)
    await wait_until_done(user)
    screen = await user.tap("start the test")
    assert user.state == State.TEST_CHARGE_FAILED and "doesn't seem to be at home" in screen.text
    await user.tap("Try again")
    await wait_until_done(user)
    assert user.state == State.LIVE


async def test_failed_test_charge_then_retry(user: DialogTester, sandbox: Sandbox) -> None:
    """(h'): Hyundai Kona: the test runs, fails the assessment, and the retry succeeds."""
    await user.begin(ACCOUNT, PROPERTY)
    await choose(user, "Electric car or charger", "Hyundai", "Kona Electric", "No smart charger")
    await sign_in(user, sandbox)
    await wait_until_done(user)
    await user.tap("start the test")
    await wait_until_done(user)
    assert user.state == State.TEST_CHARGE_FAILED
    assert "couldn't see the car charging" in user.last_screen.text
    await user.tap("Try again")
    await wait_until_done(user)
    assert user.state == State.LIVE


async def test_denied_sign_in_is_explained_and_can_be_redone(
    user: DialogTester, sandbox: Sandbox
) -> None:
    await user.begin(ACCOUNT, PROPERTY)
    await choose(user, "Heat pump", "Daikin")
    landed = await sandbox.consent(user.url("Sign in"), allow=False)
    await user.auth_callback(landed)  # the provider's redirect reached our callback
    assert "Access wasn't allowed" in user.last_screen.text and user.state == State.SIGNING_IN
    # The callback used up the link's state; the same link is still good, so record it again.
    recorded = [e for e in user.last_effects if isinstance(e, RecordOAuthState)]
    assert [e.state for e in recorded] == [
        parse_qs(urlsplit(user.url("Sign in")).query)["state"][0]
    ]
    await sign_in(user, sandbox)
    assert user.state == State.WAITING


async def test_cancel_and_start_again(user: DialogTester) -> None:
    await user.begin(ACCOUNT, PROPERTY)
    await choose(user, "Electric car or charger", "Renault", "Zoe", "No smart charger")
    await user.tap("Cancel")
    assert "stays registered" in user.last_screen.text
    await user.tap("Yes, stop")
    assert user.state == State.CANCELLED
    await user.tap("Connect a device")
    assert user.state == State.CHOOSING_DEVICE_TYPE


async def test_stale_button_from_an_old_step(user: DialogTester) -> None:
    await user.begin(ACCOUNT, PROPERTY)
    old_heat_pump = next(b for b in user.last_screen.buttons() if b.label == "Heat pump")
    await choose(user, "Electric car or charger")
    screen = await user.tap_data(old_heat_pump.data)  # type: ignore[union-attr]
    assert screen.text.startswith("That menu has moved on") and "Which make" in screen.text


def progress(wizard: Wizard) -> list[tuple[str, str | None]]:
    """What Kraken has recorded: each step and the option chosen on it."""
    steps = [*wizard.completed_steps, wizard.current_step]
    return [(s.id, getattr(s, "selected_option_id", None)) for s in steps if s is not None]


async def test_a_tap_after_the_app_moved_the_wizard_on_records_nothing(
    user: DialogTester, kraken: KrakenClient
) -> None:
    """The customer's app chose "Heat pump" while the chat showed the device types, and the
    tap on "Electric car or charger" lands on a worker without a snapshot (issue 8)."""
    await user.begin(ACCOUNT, PROPERTY)
    wizard_id, step_id = user.conversation.wizard_id, user.conversation.step_id
    assert wizard_id is not None and step_id is not None
    moved = await kraken.select_from_list(wizard_id, step_id, "HEAT_PUMPS")
    user.snapshots = WizardSnapshots()
    screen = await user.tap("Electric car or charger")
    assert screen.text.startswith("That menu has moved on") and "heat pump" in screen.text
    assert progress(await kraken.wizard(ACCOUNT, wizard_id)) == progress(moved)
    assert user.conversation.step_id == moved.current_step.id  # type: ignore[union-attr]


async def test_a_model_tap_after_another_chat_moved_on_records_nothing(
    user: DialogTester, kraken: KrakenClient
) -> None:
    """A second chat on the same worker picked the model; the first chat's tap on another
    model is not applied to the charger step that is now current."""
    await user.begin(ACCOUNT, PROPERTY)
    await choose(user, "Electric car or charger", "Tesla")
    other = DialogTester(kraken)
    other.snapshots = user.snapshots
    await other.begin(ACCOUNT, PROPERTY)
    await other.tap("Pick up where I left off")
    await choose(other, "Model Y")
    wizard_id = other.conversation.wizard_id
    assert wizard_id is not None and wizard_id == user.conversation.wizard_id
    before = progress(await kraken.wizard(ACCOUNT, wizard_id))
    screen = await user.tap("Model 3 (2019–2023) · 54 kWh")
    assert screen.text.startswith("That menu has moved on")
    assert progress(await kraken.wizard(ACCOUNT, wizard_id)) == before
    assert user.conversation.step_id == other.conversation.step_id


async def test_coming_back_resumes_the_open_wizard(user: DialogTester, sandbox: Sandbox) -> None:
    await user.begin(ACCOUNT, PROPERTY)
    await choose(user, "Heat pump", "Daikin")
    again = DialogTester(user.kraken)
    screen = await again.begin(ACCOUNT, PROPERTY)
    assert again.state == State.RESUMING and "Welcome back" in screen.text
    await again.tap("Pick up where I left off")
    assert again.state == State.SIGNING_IN


class TestErrorsFromKraken:
    async def test_busy_kraken_says_try_later_and_retry_recovers(
        self, user: DialogTester, sandbox: Sandbox
    ) -> None:
        await user.begin(ACCOUNT, PROPERTY)
        await sandbox.fault("selectFromListForSmartFlexOnboarding", times=10, code="KT-CT-4372")
        screen = await user.tap("Heat pump")
        assert user.state == State.ERROR and "try again in a minute" in screen.text
        await sandbox.http.delete("/sandbox/faults")
        await user.tap("Try again")
        await user.tap("Heat pump")
        assert "heat pump" in user.last_screen.text

    async def test_kraken_unreachable(self, user: DialogTester, sandbox: Sandbox) -> None:
        await user.begin(ACCOUNT, PROPERTY)
        await sandbox.fault("selectFromListForSmartFlexOnboarding", times=10, http_status=502)
        screen = await user.tap("Heat pump")
        assert "couldn't reach the energy system" in screen.text

    async def test_step_moved_on_shows_the_current_step(
        self, user: DialogTester, sandbox: Sandbox
    ) -> None:
        await user.begin(ACCOUNT, PROPERTY)
        await sandbox.fault("selectFromListForSmartFlexOnboarding", code="KT-CT-4377")
        screen = await user.tap("Heat pump")
        assert screen.text.startswith("That menu has moved on")
        assert user.state == State.CHOOSING_DEVICE_TYPE

    async def test_token_that_cannot_be_renewed(self, user: DialogTester, sandbox: Sandbox) -> None:
        await user.begin(ACCOUNT, PROPERTY)
        await sandbox.fault("selectFromListForSmartFlexOnboarding", times=10, code="KT-CT-1124")
        screen = await user.tap("Heat pump")
        assert "reconnecting" in screen.text

    async def test_car_not_ready_for_the_test_charge(
        self, user: DialogTester, sandbox: Sandbox
    ) -> None:
        await sandbox.hook("scenario", {"accountNumber": ACCOUNT, "vehicleReadyAfterSeconds": 3600})
        await user.begin(ACCOUNT, PROPERTY)
        await choose(user, "Electric car or charger", "Tesla", "Model Y", "No smart charger")
        await sign_in(user, sandbox)
        await user.tap("I've added the key")
        screen = await user.tap("start the test")
        assert "didn't work" in screen.text and user.state == State.TEST_CHARGE

    async def test_fatal_error_gives_a_reference_and_alerts_support(
        self, user: DialogTester, sandbox: Sandbox
    ) -> None:
        await user.begin(ACCOUNT, PROPERTY)
        await sandbox.fault("selectFromListForSmartFlexOnboarding", code="KT-CT-7899")
        screen = await user.tap("Heat pump")
        wizard_id = user.conversation.wizard_id
        assert f"SF-{wizard_id}/KT-CT-7899" in screen.text
        assert any(isinstance(e, NotifySupport) for e in user.last_effects)


@pytest.mark.parametrize("locale", ["de", "es", "fr"])
async def test_journey_in_other_languages(locale: str, kraken: KrakenClient) -> None:
    user = DialogTester(kraken, locale=locale)
    await user.begin(ACCOUNT, PROPERTY)
    heat_pump = t(locale, "device_type.HEAT_PUMPS")
    assert heat_pump in user.labels()
    screen = await user.tap(heat_pump)
    assert t(locale, "step.list.title.SelectHeatPumpMake") in screen.text


async def test_reauthentication_of_a_live_device(
    user: DialogTester, kraken: KrakenClient, sandbox: Sandbox
) -> None:
    """A support link for re-authentication: sign in again, wait, done."""
    await user.begin(ACCOUNT, PROPERTY)
    await choose(user, "Heat pump", "Daikin")
    await sign_in(user, sandbox)
    await wait_until_done(user)
    (device,) = await kraken.devices(ACCOUNT, PROPERTY)
    again = DialogTester(kraken, advance_clock=sandbox.advance)
    await again.begin(ACCOUNT, PROPERTY, ReAuthenticate(device.id))
    assert again.state == State.SIGNING_IN
    await sign_in(again, sandbox)
    await wait_until_done(again)
    assert again.state == State.LIVE
