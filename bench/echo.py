"""A bare python-telegram-bot echo bot under the same harness: the floor any PTB bot pays
per update here (emulator round trips, PTB dispatch), to read the assistant's figures against."""

from __future__ import annotations

import time
from typing import Any

import httpx
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters
from telegram.request import HTTPXRequest

from bench.driver import drain
from harness.deployment import TELEGRAM_BASE
from sandbox.telegram import DEFAULT_TOKEN, EmulatorConfig, create_app
from sandbox.telegram.client import SimClient

MESSAGES_PER_USER = 3  # as many updates as the assistant's journey takes by chat


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


async def run_echo(users: int, concurrency: int) -> tuple[list[float], float]:
    """Latencies of every update, and updates per second."""
    emulator = create_app(EmulatorConfig())

    def request() -> HTTPXRequest:
        transport = httpx.ASGITransport(app=emulator)
        return HTTPXRequest(
            connection_pool_size=concurrency + 8, httpx_kwargs={"transport": transport}
        )

    application: Application[Any, Any, Any, Any, Any, Any] = (
        Application.builder()
        .token(DEFAULT_TOKEN)
        .base_url(f"{TELEGRAM_BASE}/bot")
        .request(request())
        .get_updates_request(request())
        .updater(None)
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, _echo))
    latencies: dict[int, float] = {}
    offset = 0

    async def fetch() -> list[Update]:
        nonlocal offset
        updates = await application.bot.get_updates(offset=offset, limit=100, timeout=0)
        if updates:
            offset = updates[-1].update_id + 1
        return list(updates)

    handled, seconds = 0, 0.0
    async with application, SimClient(transport=httpx.ASGITransport(app=emulator)) as sim:
        for n in range(MESSAGES_PER_USER):
            for user in range(users):
                await sim.send(100_000 + user, f"message {n}", first_name="Bench")
            started = time.perf_counter()
            handled += await drain(
                fetch, application.process_update, concurrency=concurrency, latencies=latencies
            )
            seconds += time.perf_counter() - started
        await emulator.state.emulator.close()
    return list(latencies.values()), handled / seconds if seconds else 0.0
