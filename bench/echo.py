"""A bare python-telegram-bot echo bot behind a webhook, shaped like `python -m bot web`: the
floor any PTB bot pays per update (Starlette + uvicorn, `Update.de_json`, PTB's queue and
dispatch, one `sendMessage`), to read the assistant's figures against.

`python -m bench.echo` reads TELEGRAM_BOT_TOKEN, TELEGRAM_API_URL, PUBLIC_URL, WEBHOOK_SECRET
and PORT like the bot; nothing else (no Redis, no Kraken, no rate limiter).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters
from telegram.request import HTTPXRequest

from bot.cli import serve
from bot.runtime import CONCURRENT_UPDATES
from bot.web import SECRET_HEADER, WEBHOOK_PATH


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


def echo_app(application: Application[Any, Any, Any, Any, Any, Any], secret: str) -> Starlette:
    async def webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return JSONResponse({"ok": False}, status_code=403)
        update = Update.de_json(json.loads(await request.body()), application.bot)
        await application.update_queue.put(update)
        return JSONResponse({"ok": True})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route(WEBHOOK_PATH, webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


async def run() -> None:
    env = os.environ
    api = env["TELEGRAM_API_URL"].rstrip("/")
    secret = env["WEBHOOK_SECRET"]
    application: Application[Any, Any, Any, Any, Any, Any] = (
        Application.builder()
        .token(env["TELEGRAM_BOT_TOKEN"])
        .base_url(f"{api}/bot")
        .request(HTTPXRequest(connection_pool_size=CONCURRENT_UPDATES + 8))
        .concurrent_updates(CONCURRENT_UPDATES)
        .updater(None)
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, _echo))
    async with application:
        await application.bot.set_webhook(
            url=f"{env['PUBLIC_URL'].rstrip('/')}{WEBHOOK_PATH}", secret_token=secret
        )
        await application.start()
        try:
            await serve(echo_app(application, secret), int(env["PORT"]))
        finally:
            await application.stop()


if __name__ == "__main__":
    asyncio.run(run())
