"""Feeding updates to a PTB application and timing only the handling, shared by every bot
the benchmark measures so their figures compare like for like."""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable

from telegram import Update

current_update: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "current_update", default=None
)
"""The update being handled by this task, so traffic it causes can be attributed to it."""


async def drain(
    fetch: Callable[[], Awaitable[list[Update]]],
    handle: Callable[[Update], Awaitable[None]],
    *,
    concurrency: int,
    latencies: dict[int, float],
) -> int:
    """Handle every pending update, `concurrency` at a time (PTB's concurrent_updates);
    records each update's time inside `handle` (not its wait for a slot) by update id."""
    gate = asyncio.Semaphore(concurrency)

    async def one(update: Update) -> None:
        async with gate:
            current_update.set(update.update_id)
            started = time.perf_counter()
            await handle(update)
            latencies[update.update_id] = time.perf_counter() - started

    handled = 0
    while updates := await fetch():
        await asyncio.gather(*(one(update) for update in updates))
        handled += len(updates)
    return handled
