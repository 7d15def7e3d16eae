"""Every Telegram update handled once and never lost, whichever process takes it.

Both ways updates arrive meet here: polling hands them to PTB's update processor, and the
webhook puts them in the inbox (Redis) and on PTB's queue, then answers Telegram at once —
so a webhook request never waits on a chat's turn. The processor claims each update in the
ledger (`bot.state.inbound`), runs PTB's handlers while renewing the claim, and marks the
update done only when its turn has finished. A process killed mid-turn leaves its update
in the inbox; the sweeper of any live process hands it to the pipeline again once the
claim has lapsed, and the handlers learn (`replaying`) that the first attempt may already
have reached Kraken.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from redis.exceptions import RedisError
from telegram import Bot, Update
from telegram.ext import Application, BaseUpdateProcessor

from bot.state.conversations import OpenChats, StaleWrite, UnsupportedVersion, open_chats
from bot.state.inbound import MAX_TRIES, Claim, ClaimResult, UpdateLedger

log = logging.getLogger(__name__)

SWEEP_INTERVAL = timedelta(seconds=3)

replaying: ContextVar[bool] = ContextVar("replaying", default=False)
"""True while the handlers run an update whose earlier attempt died part-way."""

claimed: ContextVar[Claim | None] = ContextVar("claimed", default=None)
"""The running update's claim: its rate count and whether its chat was busy, read by the
handlers instead of asking Redis again."""


class LedgeredUpdates(BaseUpdateProcessor):
    """PTB's update processor with the ledger around each update (PTB's concurrency kept)."""

    def __init__(self, ledger: UpdateLedger, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self.ledger = ledger

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if not isinstance(update, Update):
            await coroutine
            return
        chat = update.effective_chat
        chat_id = chat.id if chat is not None else None
        try:
            claim = await self.ledger.received(update.update_id) or await self.ledger.claim(
                update.update_id, update.to_json(), chat_id
            )
        except RedisError as error:
            # Without Redis nothing can be recorded; the handlers still run so the customer
            # hears that something is wrong on our side (the error reply needs no Redis).
            log.warning("update %s: ledger unavailable (%s)", update.update_id, error)
            await coroutine
            return
        if claim.result is not ClaimResult.CLAIMED or claim.tries > MAX_TRIES:
            _discard(coroutine)
            if claim.tries > MAX_TRIES:
                log.error("update %s given up after %d attempts", update.update_id, MAX_TRIES)
                await self.ledger.finish(claim)
            else:
                log.info("update %s dropped: %s", update.update_id, claim.result.value)
            return
        chats = OpenChats(chat_id)
        tokens = (replaying.set(claim.replayed), claimed.set(claim), open_chats.set(chats))
        renewer = asyncio.create_task(self._keep_claimed(claim))
        done = False
        try:
            await coroutine
            done = True  # PTB's error handlers have had any error; a cancellation has not
        finally:
            renewer.cancel()
            replaying.reset(tokens[0])
            claimed.reset(tokens[1])
            open_chats.reset(tokens[2])
            await self._close(update.update_id, chats, claim if done else None)

    async def _close(self, update_id: int, chats: OpenChats, claim: Claim | None) -> None:
        """Save and release the update's chat and mark the update done, in one round trip;
        without `claim` (cancelled: the process is stopping) the update stays in the inbox
        for the sweeper."""
        finish = (lambda pipe: self.ledger.queue_finish(pipe, claim)) if claim else None
        try:
            if not await chats.close(finish) and claim is not None:
                await self.ledger.finish(claim)
        except RedisError as error:
            log.warning("update %s handled but not recorded as done: %s", update_id, error)
        except (StaleWrite, UnsupportedVersion) as error:
            # The lock lapsed mid-turn and another turn saved the chat since: its save
            # stands, and this one's screens were already shown.
            log.warning("update %s: conversation not saved: %s", update_id, error)

    async def _keep_claimed(self, claim: Claim) -> None:
        interval = self.ledger.lease_ms / 3000
        with contextlib.suppress(RedisError):
            while True:
                await asyncio.sleep(interval)  # a timer is the point: renew on a schedule
                if not await self.ledger.renew(claim):
                    log.warning("update %s: claim lapsed while handling it", claim.update_id)
                    return

    async def initialize(self) -> None:
        """Nothing to set up: the ledger lives in Redis."""

    async def shutdown(self) -> None:
        """Nothing to tear down: unfinished updates stay in the inbox for the next process."""


def _discard(coroutine: Awaitable[Any]) -> None:
    if inspect.iscoroutine(coroutine):
        coroutine.close()


class OrphanSweeper:
    """Hands updates whose handler died back to the pipeline (every few seconds)."""

    def __init__(
        self,
        ledger: UpdateLedger,
        bot: Bot,
        dispatch: Callable[[Update], Awaitable[None]],
        interval: timedelta = SWEEP_INTERVAL,
    ) -> None:
        self._ledger = ledger
        self._bot = bot
        self._dispatch = dispatch
        self._interval = interval.total_seconds()

    async def sweep(self) -> int:
        """One pass; returns how many updates were handed back."""
        lapsed = timedelta(milliseconds=self._ledger.lease_ms)
        orphans = await self._ledger.orphans(older_than=lapsed)
        for update_id, raw in orphans:
            log.info("update %s was left unfinished; handling it again", update_id)
            update = Update.de_json(json.loads(raw), self._bot)
            await self._dispatch(update)
        return len(orphans)

    async def run(self) -> None:
        while True:
            try:
                await self.sweep()
            except RedisError as error:
                log.warning("orphaned update sweep failed: %s", error)
            await asyncio.sleep(self._interval)  # a timer is the point: look on a schedule

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self.run(), name="orphaned update sweep")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def handle_update(application: Application, update: Update) -> None:  # type: ignore[type-arg]
    """Handle one update the way PTB's own update loop does (through the ledger), for callers
    that fetch updates themselves: the in-process test kit and the benchmark."""
    await application.update_processor.process_update(update, application.process_update(update))
