"""How screens reach the chat when Telegram answers awkwardly, and updates that must not act."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from datetime import timedelta

from harness.deployment import InProcessDeployment
from tests.bot.inproc.conftest import USER
from tests.bot.inproc.test_chat_journey import last_seq, methods_since


async def reach_waiting(d: InProcessDeployment) -> None:
    await d.user_taps(USER, "Heat pump")
    await d.user_taps(USER, "Daikin")
    await d.sign_in(USER, "Sign in")


async def test_an_identical_edit_counts_as_shown(started: InProcessDeployment) -> None:
    d = started
    await reach_waiting(d)
    await d.user_taps(USER, "Check now")  # "still waiting" above the same screen
    before = await d.sim.transcript(USER)
    seq = await last_seq(d)
    await d.user_taps(USER, "Check now")  # nothing changed at Kraken: the very same screen

    edits = await d.sim.outbox("editMessageText", since=seq)
    assert "message is not modified" in edits[-1]["response"]["description"]
    assert await methods_since(d, seq) == ["editMessageText"]  # no error message, no resend
    after = await d.sim.transcript(USER)
    assert [m.text for m in after] == [m.text for m in before]


async def test_a_deleted_live_message_is_replaced_by_a_new_one(
    started: InProcessDeployment,
) -> None:
    d = started
    live = (await d.sim.transcript(USER))[-1]
    await d.sim.tap(USER, "Heat pump")  # the message goes before the bot handles the tap
    await d.runtime.application.bot.delete_message(USER, live.id)
    seq = await last_seq(d)
    await d.pump()

    assert await methods_since(d, seq) == ["editMessageText", "sendMessage"]
    edit = (await d.sim.outbox("editMessageText", since=seq))[-1]
    assert "message to edit not found" in edit["response"]["description"]
    newest = (await d.sim.transcript(USER))[-1]
    assert newest.sender == "bot" and newest.id != live.id and newest.buttons
    conv = await d.runtime.turns.peek(USER)
    assert conv is not None and conv.message_id == newest.id


async def test_a_button_from_an_old_step_changes_nothing(started: InProcessDeployment) -> None:
    d = started
    await d.sim.tap(USER, "Heat pump")
    await d.sim.tap(USER, "Heat pump")  # a double tap: both reach the bot before any edit
    await d.pump()

    conv = await d.runtime.turns.peek(USER)
    assert conv is not None and conv.step_type == "SelectHeatPumpMake"
    newest = (await d.sim.transcript(USER))[-1]
    assert newest.text.startswith("That menu has moved on")
    assert "Daikin" in newest.labels  # still the heat pump makes, one step on, not two


async def test_the_same_update_delivered_twice_is_handled_once(
    started: InProcessDeployment,
) -> None:
    d = started
    await d.sim.send(USER, "/help")
    (update,) = await d.fetch()
    seq = await last_seq(d)
    await d.process(update)
    await d.process(update)
    assert len(await methods_since(d, seq)) == 1


async def test_a_tap_answered_too_late_still_moves_the_wizard_on(
    started: InProcessDeployment,
) -> None:
    d = started
    await d.sim.configure(callback_answer_deadline_s=0)  # every answer arrives "too old"
    seq = await last_seq(d)
    await d.user_taps(USER, "Heat pump")

    answers = await d.sim.outbox("answerCallbackQuery", since=seq)
    assert "query is too old" in answers[-1]["response"]["description"]
    conv = await d.runtime.turns.peek(USER)
    assert conv is not None and conv.step_type == "SelectHeatPumpMake"
    assert "Daikin" in (await d.sim.transcript(USER))[-1].labels


class _Hung:
    """Kraken as seen from a process being stopped: the call starts and never returns."""

    def __init__(self, real: object) -> None:
        self._real = real
        self.entered = asyncio.Event()

    def __getattr__(self, name: str) -> object:
        attribute = getattr(self._real, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute

        async def hang(*args: object, **kwargs: object) -> object:
            self.entered.set()
            await asyncio.Event().wait()  # until the process stops (the task is cancelled)
            raise AssertionError("unreachable")

        return hang


async def test_an_update_cut_short_by_a_stopping_process_frees_its_chat_and_waits_for_a_sweeper(
    started: InProcessDeployment,
) -> None:
    """Shutdown mid-turn: the chat is released at once (the next process need not wait out
    the lock), nothing half-done is saved, and the update stays in the inbox to be handled
    again once its lease lapses — it is not marked done."""
    d, turns = started, started.runtime.turns
    before = await turns.peek(USER)
    await d.sim.tap(USER, await d.button(USER, "Heat pump"))
    (update,) = await d.fetch()
    hung = _Hung(turns.kraken)
    turns.kraken = hung  # type: ignore[assignment]
    handling = asyncio.create_task(d.process(update))
    await hung.entered.wait()
    assert await turns.store.busy(USER)
    handling.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await handling

    assert not await turns.store.busy(USER)
    assert await turns.peek(USER) == before
    ledger = d.runtime.ledger
    assert await ledger.pending() == 1
    await d.runtime.redis.client.delete(  # the lease lapses, as it would for a stopped process
        d.runtime.keys.update_lease(d.runtime.application.bot.id, update.update_id)
    )
    assert [found for found, _ in await ledger.orphans(older_than=timedelta(0))] == [
        update.update_id
    ]
