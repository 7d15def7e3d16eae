"""The bot's HTTP face: Telegram webhook, OAuth callback, support hand-off, health, metrics.

`python -m bot web` serves it in webhook mode (several processes may run behind a load
balancer: updates are deduplicated and chats locked in Redis); `python -m bot run` serves the
same app next to polling.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.error import TelegramError

from bot.console import console_routes
from bot.handoff.http import support_routes
from bot.metrics import metrics_route
from bot.notifier import READ_TIMEOUT_S, NotifierFigures, NotifierHeartbeats, NotifierSupervisor
from bot.pages import oauth_page
from bot.runtime import Runtime
from dialogs.events import AuthCallback
from dialogs.machine import State

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query"]
MAX_UPDATE_BYTES = 1 << 20
# Readiness asks Kraken at most this often, however many probes (or strangers) ask us.
KRAKEN_CHECK_TTL_S = 10.0
KRAKEN_CHECK_TIMEOUT_S = 5.0
# Readiness fails when no notifier is alive and a job has been due this long.
STALLED_AFTER_S = 120.0


async def read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is longer than `limit` bytes: refused on its
    Content-Length before reading anything, and read no further than the limit otherwise."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


class CachedCheck:
    """A dependency check whose result (good or bad) is reused for `ttl` seconds; concurrent
    callers share one check."""

    def __init__(
        self,
        check: Callable[[], Awaitable[str]],
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._check, self._ttl, self._clock = check, ttl, clock
        self._lock = asyncio.Lock()
        self._result: tuple[float, str] | None = None

    async def __call__(self) -> str:
        async with self._lock:
            if self._result is None or self._clock() - self._result[0] >= self._ttl:
                self._result = (self._clock(), await self._check())
            return self._result[1]


async def _check(probe: Callable[[], Awaitable[object]], timeout: float) -> str:  # noqa: ASYNC109
    """ "ok", or "error: <KT-CT code or exception type>" (never a message: no secrets)."""
    try:
        await asyncio.wait_for(probe(), timeout)
    except Exception as exc:
        return f"error: {getattr(exc, 'code', None) or type(exc).__name__}"
    return "ok"


def health_routes(runtime: Runtime, notifier: NotifierSupervisor | None) -> list[Route]:
    """`/healthz` (liveness: no remote call; fails only while this process's own notifier is
    down), `/readyz` (readiness: Redis, Kraken at most every KRAKEN_CHECK_TTL_S, a stalled
    notifier) and `/metrics` with the notifier gauges read from Redis at scrape time."""
    heartbeats = NotifierHeartbeats(runtime.redis.client, runtime.keys)
    kraken = CachedCheck(
        lambda: _check(runtime.kraken.ping, KRAKEN_CHECK_TIMEOUT_S), KRAKEN_CHECK_TTL_S
    )
    if notifier is not None:
        runtime.metrics.watch_notifier(lambda: notifier.up)

    async def figures() -> tuple[NotifierFigures | None, dict[str, Any]]:
        info: dict[str, Any] = {}
        if notifier is not None:
            info["in_process"] = "running" if notifier.up else "down"
        try:
            read = await asyncio.wait_for(heartbeats.figures(), READ_TIMEOUT_S)
        except Exception as exc:
            info.update(alive=None, oldest_due_job_seconds=None, error=type(exc).__name__)
            return None, info
        info.update(alive=read.alive, oldest_due_job_seconds=round(read.oldest_due_s, 1))
        return read, info

    async def healthz(request: Request) -> Response:
        _, info = await figures()
        alive = notifier is None or notifier.up
        known = runtime.kraken.known_capabilities
        body = {"ok": alive, "notifier": info, "kraken": known.summary() if known else None}
        return JSONResponse(body, status_code=200 if alive else 503)

    async def readyz(request: Request) -> Response:
        redis = await _check(runtime.redis.client.ping, READ_TIMEOUT_S * 2)
        read, info = await figures()
        info["stalled"] = bool(read and not read.alive and read.oldest_due_s > STALLED_AFTER_S)
        checks = {"redis": redis, "kraken": await kraken()}
        ready = all(value == "ok" for value in checks.values()) and not info["stalled"]
        body = {"ok": ready, **checks, "notifier": info}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def refresh_gauges() -> None:
        read, _ = await figures()
        nan = float("nan")
        runtime.metrics.notifier_alive_workers.set(read.alive if read else nan)
        runtime.metrics.notifier_oldest_due_job.set(read.oldest_due_s if read else nan)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        metrics_route(runtime.metrics, refresh=refresh_gauges),
    ]


def create_web_app(
    runtime: Runtime, *, webhook: bool, notifier: NotifierSupervisor | None = None
) -> Starlette:
    """`notifier`: the notifier this process runs (`run`), reported by health and metrics."""
    settings = runtime.settings

    async def telegram_webhook(request: Request) -> Response:
        expected = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
        given = request.headers.get(SECRET_HEADER, "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return JSONResponse({"ok": False, "error": "forbidden"}, status_code=403)
        body = await read_body(request, MAX_UPDATE_BYTES)
        if body is None:
            return JSONResponse({"ok": False, "error": "too large"}, status_code=413)
        try:
            update = Update.de_json(json.loads(body), runtime.application.bot)
        except Exception:
            return JSONResponse({"ok": False, "error": "bad update"}, status_code=400)
        # Kept in the inbox, then answered at once: the turn runs behind the answer, so a
        # busy chat never holds Telegram's request, and a worker that dies mid-turn leaves
        # the update for another to finish (see `bot.updates`).
        await runtime.receive(update, body.decode())
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
        current = await runtime.turns.peek(target.chat_id)
        if current is None or current.wizard_id != target.wizard_id:
            # The chat has moved to another wizard since this sign-in link was shown.
            log.info("oauth callback for a wizard chat %s no longer shows", target.chat_id)
            page = oauth_page(runtime.turns.locale_for(current), kind="failed", bot_link=bot_link)
            return HTMLResponse(page, status_code=400)
        base = settings.public_url or str(request.base_url).rstrip("/")
        continuation = f"{base}{request.url.path}?{request.url.query}"
        event = AuthCallback(continuation, wizard_id=target.wizard_id)
        try:
            await runtime.turns.run(target.chat_id, event, notify=True)
        except TelegramError as error:
            # The sign-in itself went through and was saved; only the chat message failed.
            # The browser still hears how it went, and the chat catches up on the next look.
            log.warning("oauth callback: could not tell chat %s: %s", target.chat_id, error)
        conv = await runtime.turns.peek(target.chat_id)
        locale = runtime.turns.locale_for(conv)
        kind = "denied" if conv is not None and conv.state is State.SIGNING_IN else "done"
        return HTMLResponse(oauth_page(locale, kind=kind, bot_link=bot_link))

    routes: list[Route] = [
        Route("/oauth/callback", oauth_callback, methods=["GET"]),
        *health_routes(runtime, notifier),
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
    routes += console_routes(runtime)
    return Starlette(routes=routes)
