"""kill -9 of the bot while a wait is pending, then a restart: nothing lost, nothing twice.

This module's Kraken runs waits at their real length (time scale 1), so the test charge is
certainly still running across the crash; the test moves the sandbox clock to end it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import deployment
from tests.e2e.harness import User
from tests.e2e.stack import World

pytestmark = pytest.mark.e2e

CONNECTED = "is connected!"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, e2e_redis_url: str) -> Iterator[World]:
    with deployment(tmp_path_factory.mktemp("e2e-crash"), e2e_redis_url, 1.0) as crashing:
        # The sandbox's test charge runs its real 7 minutes unless a test moves its clock;
        # the bot expects it over at once, so the notifier asks Kraken from then on.
        crashing.test_charge_seconds = 1.0
        crashing.start(crashing.bot_process("bot", "run", port=crashing.bot_port))
        yield crashing


async def test_the_conversation_survives_a_crash_of_the_bot(linked: User, world: World) -> None:
    await linked.choose("Electric car or charger", "Tesla", "Model 3", "No smart charger")
    await linked.oauth_allow(expect="I've added the key")
    await linked.tap("I've added the key", expect="Time for a short test charge")
    running = await linked.tap("start the test", expect="Test charge running")
    await world.turn_running(linked.user_id, running=False)

    crashed = world.group.processes[-1]
    crashed.kill()
    assert crashed.returncode == -9
    world.start(world.bot_process("bot", "run", port=world.bot_port))

    still = await linked.tap("Check now", expect="Still waiting")
    assert "Test charge running" in still.text
    await linked.sandbox.advance(3600)
    await linked.wait_new_message(CONNECTED, after=running.id)
    assert await linked.count_bot_messages(CONNECTED) == 1
    assert await linked.count_bot_messages("Test charge running") == 1
    assert await linked.sandbox.device_statuses(linked.account) == ["LIVE"]


SELECT = "selectFromListForSmartFlexOnboarding"
HEAT_PUMP_MAKES = "Who made your heat pump?"


async def test_a_tap_whose_bot_died_during_the_kraken_call_is_handled_after_the_restart(
    linked: User, world: World
) -> None:
    """Before: the update was marked seen before it was handled, so the tap was lost and
    the chat kept showing the first question."""
    await linked.sandbox.fault(SELECT, times=1, latencyMs=15_000)
    message, label = await linked.button("Heat pump")
    await linked.sim.tap(linked.user_id, label, message_id=message.id)
    await world.turn_running(linked.user_id)

    crashed = world.group.processes[-1]
    crashed.kill()
    assert crashed.returncode == -9
    world.start(world.bot_process("bot", "run", port=world.bot_port))

    moved = await linked.wait_text(HEAT_PUMP_MAKES, timeout=40)
    assert moved.id == message.id
    wizard = await linked.sandbox.only_wizard(linked.account)
    assert [step["__typename"] for step in wizard["completedSteps"]] == ["SelectDeviceType"]
    assert await linked.count_bot_messages("went wrong") == 0


async def test_sigterm_stops_the_bot_in_order_and_it_exits_0(linked: User, world: World) -> None:
    """Platforms stop processes with SIGTERM; before, uvicorn re-raised it and the process
    died (143) before stopping polling, the notifier and its connections."""
    running = world.group.processes[-1]
    assert running.stop() == 0
    assert "stopped" in running.log_tail(5)
    world.start(world.bot_process("bot", "run", port=world.bot_port))
    await linked.tap("Heat pump", expect=HEAT_PUMP_MAKES)


async def test_a_wizard_cancelled_outside_the_chat_is_told_as_cancelled_never_connected(
    linked: User,
) -> None:
    """`currentStep: null` is not LIVE: before, the notifier told this customer their
    device was connected."""
    await linked.choose("Heat pump", "Daikin")
    waiting = await linked.oauth_allow(expect="waiting")
    wizard = await linked.sandbox.only_wizard(linked.account)
    await linked.sandbox.graphql(  # support cancels it from their side
        "mutation($input: CancelSmartFlexOnboardingInput!) {"
        " cancelSmartFlexOnboarding(input: $input) { wizard { id } } }",
        {"input": {"wizardId": wizard["id"]}},
    )
    told = await linked.wait_new_message("was cancelled", after=waiting.id)
    assert told.labels == ["Connect a device"]  # start again
    assert await linked.count_bot_messages("is connected") == 0
