"""Every sandbox journey, from the support link to the device going live, as a customer.

Waits are resolved by the notifier: when Kraken moves on, the customer gets a new message
without tapping anything. Labels are the ones the in-process scenario tests use.
"""

from __future__ import annotations

import pytest

from tests.e2e.harness import User

pytestmark = pytest.mark.e2e

CONNECTED = "is connected!"
TEST_CHECKLIST = "Time for a short test charge"
START_TEST = "start the test"
# Sandbox seconds that cover the longest wait (the 7-minute test charge at time scale 0.01).
PAST_ANY_WAIT = 10


async def finish_test_charge(user: User, button: str = START_TEST) -> None:
    """Start the test charge, let the sandbox clock pass it, and expect the push."""
    running = await user.tap(button, expect="Test charge running")
    await user.sandbox.advance(PAST_ANY_WAIT)
    await user.wait_new_message(CONNECTED, after=running.id)
    assert await user.count_bot_messages(CONNECTED) == 1
    assert await user.sandbox.device_statuses(user.account) == ["LIVE"]


async def test_tesla_with_two_cars(linked: User) -> None:
    """(a): Tesla Model S, two cars on the Tesla account, virtual key, test charge."""
    await linked.choose("Electric car or charger", "Tesla", "Model S", "No smart charger")
    await linked.oauth_allow(expect="I've added the key")
    await linked.tap("I've added the key", expect="several cars")
    await linked.tap((await linked.screen()).labels[0], expect=TEST_CHECKLIST)
    await finish_test_charge(linked)


async def test_tesla_with_one_car(linked: User) -> None:
    """(a'): Model 3 skips the choice of car."""
    await linked.choose("Electric car or charger", "Tesla", "Model 3", "No smart charger")
    await linked.oauth_allow(expect="I've added the key")
    await linked.tap("I've added the key", expect=TEST_CHECKLIST)
    await finish_test_charge(linked)


async def test_car_registered_by_an_aggregator(linked: User) -> None:
    """(b): Volkswagen e-Golf via ENODE: Kraken registers the device while we wait."""
    await linked.choose("Electric car or charger", "Volkswagen", "e-Golf", "No smart charger")
    registering = await linked.oauth_allow(expect="Registering your device")
    await linked.wait_new_message(TEST_CHECKLIST, after=registering.id)
    await finish_test_charge(linked)


async def test_car_and_charger_both_supported_pick_the_charger(linked: User) -> None:
    """(c): both integrations live, the car is recommended, the customer picks the charger."""
    await linked.choose("Electric car or charger", "Tesla", "Model Y", "myenergi", "zappi v2 7kW")
    screen = await linked.screen()
    assert "recommended" in screen.labels[0]
    await linked.tap("My charger", expect="Sign in to your device's account")
    registering = await linked.oauth_allow(expect="Registering your device")
    await linked.wait_new_message(TEST_CHECKLIST, after=registering.id)
    await finish_test_charge(linked)


async def test_ocpp_charger_with_a_serial_number(linked: User) -> None:
    """(d): a wrong serial number is explained; the right one leads to the set-up action."""
    await linked.choose("Electric car or charger", "Fiat", "500e", "Wallbox", "Pulsar Plus 7kW")
    refused = await linked.type("not valid!", expect="doesn't look right")
    assert "type it again" in refused.text
    action = await linked.type("WB12345678", expect="One more thing first")
    assert "WB12345678" in action.text
    waiting = await linked.tap("Done", expect="Waiting for the manufacturer")
    await linked.wait_new_message(CONNECTED, after=waiting.id)
    assert await linked.sandbox.device_statuses(linked.account) == ["LIVE"]


async def test_app_only_provider(linked: User) -> None:
    """(e): Renault Zoe through the Jedlix app: an action outside the chat, then a wait."""
    await linked.choose("Electric car or charger", "Renault", "Zoe", "No smart charger")
    await linked.wait_text("One more thing first")
    waiting = await linked.tap("Done", expect="Waiting for the manufacturer")
    await linked.wait_new_message(CONNECTED, after=waiting.id)


async def test_heat_pump(linked: User) -> None:
    """(f): sign in, then the integration goes live while the customer is away."""
    await linked.choose("Heat pump", "Daikin")
    waiting = await linked.oauth_allow(expect="go live")
    await linked.wait_new_message(CONNECTED, after=waiting.id)
    assert await linked.count_bot_messages(CONNECTED) == 1


async def test_unsupported_combination_then_back_to_a_charger(linked: User) -> None:
    """(g): unsupported car without a charger; going back to pick a charger rescues it."""
    await linked.choose("Electric car or charger", "Fiat", "500e", "No smart charger")
    assert "isn't supported" in (await linked.screen()).text
    back = await linked.tap("Back", expect="charger")
    assert "Who made your charger?" in back.text
    await linked.choose("Wallbox", "Pulsar Plus 7kW")
    refused = await linked.type("not valid!", expect="doesn't look right")
    assert "type it again" in refused.text


async def test_refused_test_charge_then_retry(linked: User) -> None:
    """(h): Nissan Leaf away from home: told what to do, then the retry works."""
    await linked.choose("Electric car or charger", "Nissan", "Leaf", "No smart charger")
    registering = await linked.oauth_allow(expect="Registering your device")
    await linked.wait_new_message(TEST_CHECKLIST, after=registering.id)
    refused = await linked.tap(START_TEST, expect="doesn't seem to be at home")
    assert "Try again" in " ".join(refused.labels)
    await finish_test_charge(linked, "Try again")


async def test_failed_test_charge_then_retry(linked: User) -> None:
    """(h'): Hyundai Kona: the test runs, fails the assessment, and the retry succeeds."""
    await linked.choose("Electric car or charger", "Hyundai", "Kona Electric", "No smart charger")
    registering = await linked.oauth_allow(expect="Registering your device")
    await linked.wait_new_message(TEST_CHECKLIST, after=registering.id)
    running = await linked.tap(START_TEST, expect="Test charge running")
    await linked.sandbox.advance(PAST_ANY_WAIT)
    failed = await linked.wait_new_message("couldn't see the car charging", after=running.id)
    assert "FAILED_ONBOARDING_TEST" in await linked.sandbox.device_statuses(linked.account)
    assert any("Try again" in label for label in failed.labels)
    await finish_test_charge(linked, "Try again")
