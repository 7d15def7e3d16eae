"""The bot's HTTP face: Telegram webhook, OAuth callback, support hand-off, health, metrics.

`python -m bot web` serves it in webhook mode (several processes may run behind a load
balancer: updates are deduplicated and chats locked in Redis); `python -m bot run` serves the
same app next to polling.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import logging
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.error import TelegramError

from bot.config import Settings
from bot.handlers import publish_commands
from bot.handoff.http import support_routes
from bot.handoff.links import deep_link
from bot.metrics import metrics_route
from bot.pages import oauth_page
from bot.runtime import Runtime, open_runtime
from dialogs import machine as m
from dialogs.events import AuthCallback

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query"]
MAX_UPDATE_BYTES = 1 << 20


def create_web_app(runtime: Runtime, *, webhook: bool) -> Starlette:
    settings = runtime.settings

    async def telegram_webhook(request: Request) -> Response:
        expected = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
        given = request.headers.get(SECRET_HEADER, "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return JSONResponse({"ok": False, "error": "forbidden"}, status_code=403)
        body = await request.body()
        if len(body) > MAX_UPDATE_BYTES:
            return JSONResponse({"ok": False, "error": "too large"}, status_code=413)
        try:
            update = Update.de_json(await request.json(), runtime.application.bot)
        except Exception:
            return JSONResponse({"ok": False, "error": "bad update"}, status_code=400)
        # Processed before answering: if this worker dies mid-way Telegram re-delivers, and
        # the update_id dedupe makes the re-delivery harmless.
        await runtime.application.process_update(update)
        return JSONResponse({"ok": True})

    async def oauth_callback(request: Request) -> Response:
        state = request.query_params.get("state", "")
        target = await runtime.oauth.take(state)
        bot_link = f"https://t.me/{runtime.bot_username}"
        if target is None:
            log.info("oauth callback with unknown or replayed state")
            locale = settings.default_locale
            page = oauth_page(locale, kind="failed", bot_link=bot_link)
            return HTMLResponse(page, status_code=400)
        base = settings.public_url or str(request.base_url).rstrip("/")
        continuation = f"{base}{request.url.path}?{request.url.query}"
        try:
            await runtime.service.run(target.chat_id, AuthCallback(continuation), notify=True)
        except TelegramError as error:
            # The sign-in itself went through and was saved; only the chat message failed.
            # The browser still hears how it went, and the chat catches up on the next look.
            log.warning("oauth callback: could not tell chat %s: %s", target.chat_id, error)
        conv = await runtime.service.peek(target.chat_id)
        locale = runtime.service.locale_for(conv)
        kind = "denied" if conv is not None and conv.state == m.SIGNING_IN else "done"
        return HTMLResponse(oauth_page(locale, kind=kind, bot_link=bot_link))

    async def healthz(request: Request) -> Response:
        checks: dict[str, Any] = {}
        try:
            await asyncio.wait_for(runtime.redis.client.ping(), timeout=2)
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
        try:
            await asyncio.wait_for(runtime.kraken.ping(), timeout=5)
            checks["kraken"] = "ok"
        except Exception as exc:
            checks["kraken"] = f"error: {getattr(exc, 'code', None) or type(exc).__name__}"
        healthy = all(value == "ok" for value in checks.values())
        return JSONResponse({"ok": healthy, **checks}, status_code=200 if healthy else 503)

    routes: list[Route] = [
        Route("/oauth/callback", oauth_callback, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        metrics_route(runtime.metrics),
    ]
    if webhook:
        routes.append(Route(WEBHOOK_PATH, telegram_webhook, methods=["POST"]))
    if settings.support_api_token is not None:
        routes += support_routes(
            runtime.handoff,
            lambda: runtime.bot_username,
            settings.support_api_token,
            runtime.kraken,
        )
    return Starlette(routes=routes)


def link_for(runtime: Runtime, token: str) -> str:
    return deep_link(runtime.bot_username, token)


async def serve(app: Starlette, port: int) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn installs the handlers and returns on them)."""
    config = uvicorn.Config(
        app, host="0.0.0.0", port=port, log_level="warning", access_log=False, lifespan="off"
    )
    await uvicorn.Server(config).serve()


async def _run_web(settings: Settings) -> None:
    async with open_runtime(settings, polling=False) as runtime:
        assert settings.public_url and settings.webhook_secret
        await runtime.application.bot.set_webhook(
            url=f"{settings.public_url}{WEBHOOK_PATH}",
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=ALLOWED_UPDATES,
        )
        await runtime.application.start()
        await publish_commands(runtime.application.bot, settings.default_locale)
        try:
            await serve(create_web_app(runtime, webhook=True), settings.port)
        finally:
            await runtime.application.stop()


def main(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(_run_web(settings))
    return 0
