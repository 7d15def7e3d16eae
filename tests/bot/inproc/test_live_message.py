"""One live message: only the newest wizard message has buttons, waits show progress, and a
slow Kraken shows "typing…" — through the real PTB stack against the emulator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from dialogs.conversation import utcnow
from harness.deployment import InProcessDeployment
from sandbox.kraken.faults import Fault
from tests.bot.inproc.conftest import USER

TEST_CHARGE_RUNNING = "Test charge running"


async def choose(d: InProcessDeployment, *labels: str) -> None:
    """Pick options on successive list steps, narrowing a list by typing when needed."""
    for label in labels:
        newest = (await d.sim.transcript(USER))[-1]
        if not any(label.casefold() in shown.casefold() for shown in newest.labels):
            await d.user_says(USER, label)
        await d.user_taps(USER, label)


async def bot_messages_with_buttons(d: InProcessDeployment) -> list[str]:
    return [m.text for m in await d.sim.transcript(USER) if m.sender == "bot" and m.buttons]


def clock_at(offset: timedelta) -> Callable[[], datetime]:
    return lambda: utcnow() + offset


@pytest.fixture
async def test_charge_running(started: InProcessDeployment) -> InProcessDeployment:
    d = started
    await choose(d, "Electric car or charger", "Tesla", "Model 3", "No smart charger")
    page = await d.sign_in(USER, "Sign in")
    assert page.status_code == 200
    await d.user_taps(USER, "I've added the key")
    await d.user_taps(USER, "start the test")
    assert TEST_CHARGE_RUNNING in (await d.sim.transcript(USER))[-1].text
    return d


async def test_only_the_newest_wizard_message_keeps_its_buttons(
    started: InProcessDeployment,
) -> None:
    d = started
    await d.user_taps(USER, "Heat pump")
    await d.user_says(USER, "daik")  # typed: the answer is a new message
    await d.user_taps(USER, "Daikin")
    await d.sign_in(USER, "Sign in")  # the OAuth return: a new message again
    d.advance(d.sandbox.config.delays.wait_for_live_integration)
    assert await d.notifier_look(USER, attempt=2) == "changed"

    transcript = [m for m in await d.sim.transcript(USER) if m.sender == "bot"]
    assert "is connected" in transcript[-1].text
    with_buttons = await bot_messages_with_buttons(d)
    # Before: the list, the sign-in message and the wait each kept their buttons.
    assert with_buttons == [] or with_buttons == [transcript[-1].text]
    # The superseded messages kept their text: the chat still reads as a record.
    assert any("Who made your heat pump" in m.text for m in transcript)


async def test_a_running_test_charge_shows_progress_and_the_result_replaces_it(
    test_charge_running: InProcessDeployment,
) -> None:
    d = test_charge_running
    running = (await d.sim.transcript(USER))[-1]
    turns = d.runtime.turns

    turns.clock = clock_at(timedelta(seconds=70))
    assert isinstance(await d.notifier_look(USER), float)  # still waiting
    first = next(m for m in await d.sim.transcript(USER) if m.id == running.id)
    assert "▰" in first.text and "about 6 minutes left" in first.text

    turns.clock = clock_at(timedelta(seconds=250))
    await d.notifier_look(USER, attempt=2)
    later = next(m for m in await d.sim.transcript(USER) if m.id == running.id)
    assert "about 3 minutes left" in later.text and later.text != first.text

    turns.clock = clock_at(timedelta(seconds=260))  # within the refresh interval: no edit
    seq = (await d.sim.outbox())[-1]["seq"]
    await d.notifier_look(USER, attempt=3)
    assert [e["method"] for e in await d.sim.outbox(since=seq)] == []

    d.advance(3600)
    assert await d.notifier_look(USER, attempt=4) == "changed"
    finished = next(m for m in await d.sim.transcript(USER) if m.id == running.id)
    assert "minutes left" not in finished.text and finished.text.endswith("✓")
    assert not finished.buttons
    assert (await d.sim.transcript(USER))[-1].id != running.id  # the news is a new message


async def test_a_slow_kraken_answer_shows_typing(started: InProcessDeployment) -> None:
    d = started
    seq = (await d.sim.outbox())[-1]["seq"]
    d.sandbox.faults.add(
        Fault(operation="selectFromListForSmartFlexOnboarding", times=1, latency_ms=1_600)
    )
    await d.user_taps(USER, "Heat pump")
    methods = [e["method"] for e in await d.sim.outbox(since=seq)]
    assert "sendChatAction" in methods
    assert methods.index("sendChatAction") < methods.index("editMessageText")


async def test_a_quick_answer_shows_no_typing(started: InProcessDeployment) -> None:
    d = started
    seq = (await d.sim.outbox())[-1]["seq"]
    await d.user_taps(USER, "Heat pump")
    assert "sendChatAction" not in [e["method"] for e in await d.sim.outbox(since=seq)]
