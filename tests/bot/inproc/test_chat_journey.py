"""A customer goes from a hand-off link to a LIVE heat pump through the real bot."""

from __future__ import annotations

from harness.deployment import InProcessDeployment
from tests.bot.inproc.conftest import USER


async def methods_since(deployment: InProcessDeployment, seq: int) -> list[str]:
    """Bot API calls that changed the chat (answers to taps aside), after outbox `seq`."""
    entries = await deployment.sim.outbox(since=seq)
    return [e["method"] for e in entries if e["method"] in ("sendMessage", "editMessageText")]


async def last_seq(deployment: InProcessDeployment) -> int:
    entries = await deployment.sim.outbox()
    return int(entries[-1]["seq"]) if entries else 0


async def test_heat_pump_journey_ends_with_a_connected_message(
    started: InProcessDeployment,
) -> None:
    d = started
    await d.user_taps(USER, "Heat pump")
    await d.user_taps(USER, "Daikin")
    page = await d.sign_in(USER, "Sign in")
    assert page.status_code == 200
    assert "t.me/" in page.text
    waiting = await d.sim.transcript(USER)
    assert "waiting for the connection" in waiting[-1].text

    assert await d.notifier_look(USER) == d.runtime.watches.policy.delay(1)
    d.advance(d.sandbox.config.delays.wait_for_live_integration)
    assert await d.notifier_look(USER, attempt=2) == "changed"

    last = (await d.sim.transcript(USER))[-1]
    assert "Daikin heat pump is connected" in last.text
    conv = await d.runtime.turns.peek(USER)
    assert conv is not None and conv.state == "live"


async def test_taps_edit_the_live_message_and_typed_text_gets_a_new_one(
    started: InProcessDeployment,
) -> None:
    d = started
    seq = await last_seq(d)
    await d.user_taps(USER, "Heat pump")
    assert await methods_since(d, seq) == ["editMessageText"]

    seq = await last_seq(d)
    await d.user_says(USER, "daik")
    assert await methods_since(d, seq) == ["sendMessage"]
    newest = (await d.sim.transcript(USER))[-1]
    assert newest.sender == "bot" and "Daikin" in newest.labels
