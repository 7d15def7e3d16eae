"""The conversation around the journeys: signing in, going back, cancelling, odd taps,
commands and the operator's endpoints, all against the running bot process."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.e2e.conftest import FIRST_SCREEN
from tests.e2e.harness import User
from tests.e2e.stack import World

pytestmark = pytest.mark.e2e

HEAT_PUMP_MAKES = "Who made your heat pump?"
CAR_MAKES = "Which make is your car?"
SIGN_IN_SCREEN = "Sign in to your device's account"
GOING_LIVE = "go live"


async def test_denied_sign_in_is_explained(linked: User) -> None:
    await linked.choose("Heat pump", "Daikin")
    denied, page = await linked.oauth_deny(expect="Access wasn't allowed")
    assert "Sign-in not completed" in page.text
    assert any("Sign in" in label for label in denied.labels)
    wizard = await linked.sandbox.only_wizard(linked.account)
    assert wizard["currentStep"]["__typename"] == "AuthFlow"


async def test_after_a_denial_signing_in_again_works(linked: User) -> None:
    await linked.choose("Heat pump", "Daikin")
    await linked.oauth_deny(expect="Access wasn't allowed")
    waiting = await linked.oauth_allow(expect=GOING_LIVE)
    await linked.wait_new_message("is connected!", after=waiting.id)


async def test_paste_the_address_when_the_browser_does_not_come_back(linked: User) -> None:
    await linked.choose("Heat pump", "Daikin")
    landing = await linked.consent(allow=True)
    await linked.tap("I've signed in", expect="paste the full address")
    await linked.type("https://example.com/nothing-useful", expect="not the address I need")
    waiting = await linked.type(landing, expect=GOING_LIVE)
    await linked.wait_new_message("is connected!", after=waiting.id)


async def test_back_on_a_list_step_shows_the_previous_question(linked: User) -> None:
    await linked.choose("Electric car or charger", "Tesla")
    assert "Which model" in (await linked.screen()).text
    await linked.tap("Back", expect=CAR_MAKES)
    models = await linked.choose("Kia")
    assert "Which model" in models.text
    wizard = await linked.sandbox.only_wizard(linked.account)
    completed = [s["__typename"] for s in wizard["completedSteps"]]
    assert completed == ["SelectDeviceType", "SelectVehicleMake"]


async def test_cancel_asks_first_and_says_registered_devices_stay(linked: User) -> None:
    await linked.choose("Electric car or charger", "Renault", "Zoe", "No smart charger")
    confirm = await linked.tap("Cancel", expect="Stop the setup?")
    assert "stays registered" in confirm.text
    kept = await linked.tap("No, keep going", expect="One more thing first")
    assert "Done" in " ".join(kept.labels)
    await linked.tap("Cancel", expect="Stop the setup?")
    stopped = await linked.tap("Yes, stop", expect="Setup stopped")
    assert "stays registered" in stopped.text
    assert await linked.sandbox.wizards(linked.account) != []
    await linked.tap("Connect a device", expect=FIRST_SCREEN)


@pytest.mark.usefixtures("clean_faults")
async def test_a_button_from_a_step_that_moved_on_changes_nothing(linked: User) -> None:
    await linked.choose("Heat pump", "Daikin")
    sign_in = await linked.screen()
    # Telegram refuses to take the sign-in message's buttons away (it does for old
    # messages): the turn carries on, and the buttons stay on screen.
    await linked.sim.fault("editMessageReplyMarkup", error_code=500)
    waiting = await linked.oauth_allow(expect=GOING_LIVE)
    await linked.wait_new_message("is connected!", after=waiting.id)
    before = await linked.sandbox.only_wizard(linked.account)
    # The sign-in message is still on screen above the new one, buttons and all.
    moved_on = await linked.act(
        lambda: linked.sim.tap(linked.user_id, "I've signed in", message_id=sign_in.id),
        expect="moved on",
    )
    assert "Sign in" not in " ".join(moved_on.labels)
    assert await linked.sandbox.only_wizard(linked.account) == before


async def test_messages_the_chat_has_moved_past_keep_their_text_but_lose_their_buttons(
    linked: User,
) -> None:
    await linked.choose("Heat pump", "Daikin")
    sign_in = await linked.screen()
    waiting = await linked.oauth_allow(expect=GOING_LIVE)
    await linked.wait_new_message("is connected!", after=waiting.id)
    shown = {m.id: m for m in await linked.bot_messages()}
    assert shown[sign_in.id].text == sign_in.text and shown[sign_in.id].labels == []
    assert [m.id for m in shown.values() if m.labels] in ([], [max(shown)])


async def test_a_double_tap_makes_one_change_in_kraken(linked: User, world: World) -> None:
    selections = await world.metric("kraken_calls_total", operation="SelectFromList")
    screen = await linked.screen()
    label = next(b for b in screen.labels if b == "Heat pump")

    async def tap_twice() -> None:
        await asyncio.gather(
            linked.sim.tap(linked.user_id, label, message_id=screen.id),
            linked.sim.tap(linked.user_id, label, message_id=screen.id),
        )

    await linked.act(tap_twice, expect=HEAT_PUMP_MAKES)
    # Both taps have been answered once the second one's turn is over.
    await linked.sim.wait_for(lambda: _answered(linked, 2), 20.0, user_id=linked.user_id)
    wizard = await linked.sandbox.only_wizard(linked.account)
    assert [s["__typename"] for s in wizard["completedSteps"]] == ["SelectDeviceType"]
    assert await world.metric("kraken_calls_total", operation="SelectFromList") == selections + 1
    newest = await linked.screen()
    assert HEAT_PUMP_MAKES in newest.text
    assert await linked.count_bot_messages("went wrong") == 0


async def _answered(user: User, taps: int) -> bool:
    events: list[dict[str, object]] = (await user.sim.chat(user.user_id))["events"]
    return sum(event["kind"] == "answer" for event in events) >= taps


async def test_status_shows_the_live_device(linked: User) -> None:
    await linked.choose("Heat pump", "Daikin")
    waiting = await linked.oauth_allow(expect=GOING_LIVE)
    await linked.wait_new_message("is connected!", after=waiting.id)
    status = await linked.type("/status", expect="Smart control: on")
    assert "Daikin" in status.text and "heat pump" in status.text
    assert "Pause smart control" in " ".join(status.labels)
    assert "Boost now" not in " ".join(status.labels)  # boosting is for cars and chargers


async def test_support_gives_a_reference(linked: User) -> None:
    support = await linked.type("/support", expect="Support reference")
    assert "SF-" in support.text and linked.account in support.text


async def test_help_and_an_unknown_command(linked: User) -> None:
    await linked.type("/help", expect="How this works")
    await linked.type("/frobnicate", expect="I don't know that command")


async def test_status_and_support_before_any_link(user: User) -> None:
    await user.type("/status", expect="isn't linked to an account")
    await user.type("/support", expect="can't find your account")
    await user.type("/start", expect="I need a personal link")


async def test_health_and_metrics_for_the_operator(world: World, linked: User) -> None:
    async with httpx.AsyncClient(base_url=world.bot_url) as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
        metrics = await http.get("/metrics")
    assert health.status_code == 200 and health.json()["ok"] is True
    assert ready.status_code == 200
    assert ready.json()["redis"] == "ok" and ready.json()["kraken"] == "ok"
    assert metrics.status_code == 200
    assert 'kraken_calls_total{operation="StartSmartFlexOnboarding"}' in metrics.text
    assert "onboardings_started_total" in metrics.text
