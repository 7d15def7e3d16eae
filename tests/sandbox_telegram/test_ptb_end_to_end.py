"""A real python-telegram-bot application talks to the emulator over loopback HTTP.

The echo bot runs unchanged by polling and by webhook; the user side is driven through /sim.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update

from sandbox.telegram.client import SimClient
from tests.sandbox_telegram.conftest import TOKEN, bound_socket, server_for
from tests.sandbox_telegram.echo_bot import EchoApp, build_application

SECRET = "webhook-secret_1"


async def converse(sim: SimClient, user_id: int) -> None:
    """What a user does with the echo bot, and what they must see."""
    await sim.send(user_id, "hello there", first_name="Ann")
    await sim.wait_for_text(user_id, "bot: hello there")
    await sim.send(user_id, "/menu")
    await sim.wait_for_text(user_id, "[Heat pump] [EV charger]")
    await sim.tap(user_id, "EV charger")
    edited = await sim.wait_for_message(user_id, lambda m: m.edited)
    assert edited.text == "You picked EV charger"
    assert edited.buttons == []
    transcript = await sim.transcript_text(user_id)
    assert "> tapped [EV charger]\n    < answered" in transcript


async def test_echo_bot_by_polling(live_server: str) -> None:
    application = build_application(TOKEN, f"{live_server}/bot")
    async with SimClient(live_server) as sim, application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(timeout=1)
        try:
            await converse(sim, 7)
        finally:
            await application.updater.stop()
            await application.stop()
        calls = [entry["method"] for entry in await sim.outbox()]
        assert {"getMe", "getUpdates", "sendMessage", "answerCallbackQuery"} <= set(calls)
        assert "editMessageText" in calls


def webhook_receiver(application: EchoApp) -> Starlette:
    """The bot's webhook endpoint: checks Telegram's secret header, then queues the update."""

    async def receive(request: Request) -> Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != SECRET:
            return Response(status_code=403)
        update = Update.de_json(await request.json(), application.bot)
        await application.update_queue.put(update)
        return Response(status_code=200)

    return Starlette(routes=[Route("/telegram", receive, methods=["POST"])])


@pytest.fixture
async def webhook_bot(live_server: str) -> AsyncIterator[EchoApp]:
    application = build_application(TOKEN, f"{live_server}/bot", with_updater=False)
    sock = bound_socket()
    server = server_for(webhook_receiver(application))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    async with application:
        await application.start()
        port = sock.getsockname()[1]
        await application.bot.set_webhook(f"http://127.0.0.1:{port}/telegram", secret_token=SECRET)
        try:
            yield application
        finally:
            await application.bot.delete_webhook()
            await application.stop()
            server.should_exit = True
            await serving
            sock.close()


async def test_echo_bot_by_webhook(live_server: str, webhook_bot: EchoApp) -> None:
    async with SimClient(live_server) as sim:
        await converse(sim, 8)
        info = await webhook_bot.bot.get_webhook_info()
        assert info.pending_update_count == 0
        assert info.last_error_message is None
        polled = [entry["method"] for entry in await sim.outbox("getUpdates")]
        assert polled == []
