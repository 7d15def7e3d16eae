"""The whole assistant in one process, for tests and the benchmark (like aiogram-dialog's
test tools, shipped with the package so scenario tests and `bench` share one wiring).

The real `Runtime` (PTB Application, Redis, Kraken client, notifier) runs against the
Telegram emulator and the Kraken sandbox mounted as ASGI apps: no sockets, no sleeps. Updates
are fetched from the emulator with getUpdates and handed to `Application.process_update`,
so the harness decides when a user's update is handled and can time exactly that.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from arq import Retry
from pydantic import SecretStr
from starlette.applications import Starlette
from telegram import Update

from bot.config import Settings
from bot.notifier import NotifierContext, look_at_devices, look_at_wizard
from bot.runtime import Runtime, open_runtime
from bot.turns import LookResult
from bot.updates import handle_update
from bot.watches import WatchPolicy
from bot.web import create_web_app
from sandbox.kraken import Sandbox, SandboxConfig
from sandbox.kraken import create_app as create_sandbox_app
from sandbox.kraken.browser import press_consent
from sandbox.kraken.config import DEFAULT_API_KEY
from sandbox.telegram import DEFAULT_TOKEN, DEFAULT_USERNAME, Emulator, EmulatorConfig
from sandbox.telegram import create_app as create_emulator_app
from sandbox.telegram.client import SimClient

TELEGRAM_BASE = "http://tg"
KRAKEN_BASE = "http://kraken.test"
BOT_BASE = "http://bot.test"
CALLBACK_PATH = "/oauth/callback"
# getUpdates hands out at most 100 updates per call, as Telegram does.
UPDATES_PER_FETCH = 100

TransportWrapper = Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport]


def in_process_settings(redis_url: str, *, prefix: str = "sfa:") -> Settings:
    """Settings pointing at the in-process emulator and sandbox; `.env` is ignored."""
    return Settings(
        _env_file=None,
        telegram_bot_token=SecretStr(DEFAULT_TOKEN),
        telegram_api_url=TELEGRAM_BASE,
        telegram_bot_username=DEFAULT_USERNAME,
        kraken_api_url=f"{KRAKEN_BASE}/v1/graphql/",
        kraken_api_key=SecretStr(DEFAULT_API_KEY),
        redis_url=redis_url,
        redis_prefix=prefix,
        public_url=BOT_BASE,
    )


@dataclass
class InProcessDeployment:
    """One bot, one emulator, one sandbox; users act through `sim`, time moves by `advance`."""

    runtime: Runtime
    sim: SimClient
    emulator_app: Starlette
    sandbox_app: Starlette
    browser: httpx.AsyncClient
    """The user's web browser: reaches the sandbox's consent pages and the bot's web app."""
    latencies: list[float] = field(default_factory=list)
    """Seconds spent in `Application.process_update`, one entry per processed update."""
    _offset: int = 0

    @property
    def sandbox(self) -> Sandbox:
        sandbox: Sandbox = self.sandbox_app.state.sandbox
        return sandbox

    @property
    def emulator(self) -> Emulator:
        emulator: Emulator = self.emulator_app.state.emulator
        return emulator

    # ------------------------------------------------------------------ updates

    async def fetch(self) -> list[Update]:
        """Updates Telegram holds for the bot, confirmed as taken (getUpdates with offset)."""
        updates = await self.runtime.application.bot.get_updates(
            offset=self._offset, limit=UPDATES_PER_FETCH, timeout=0
        )
        if updates:
            self._offset = updates[-1].update_id + 1
        return list(updates)

    async def process(self, update: Update) -> None:
        started = time.perf_counter()
        await handle_update(self.runtime.application, update)
        self.latencies.append(time.perf_counter() - started)

    async def pump(self, concurrency: int = 1) -> int:
        """Handle every pending update, at most `concurrency` at a time; returns how many.

        Ordering within a chat holds only with concurrency 1 or one update per chat pending.
        """
        handled = 0
        gate = asyncio.Semaphore(concurrency)

        async def one(update: Update) -> None:
            async with gate:
                await self.process(update)

        while updates := await self.fetch():
            await asyncio.gather(*(one(update) for update in updates))
            handled += len(updates)
        return handled

    # ------------------------------------------------------------------ users

    async def handoff_token(self, account_number: str, property_id: int | None = 1) -> str:
        """What support would give the customer (`/start <token>` is what the link sends)."""
        issued = await self.runtime.handoff.issue(account_number, property_id, None)
        return issued.token

    async def user_says(self, user_id: int, text: str, **user: Any) -> None:
        await self.sim.send(user_id, text, **user)
        await self.pump()

    async def user_taps(self, user_id: int, label: str) -> None:
        """Tap the newest button whose label contains `label` (emoji and arrows aside)."""
        await self.sim.tap(user_id, await self.button(user_id, label))
        await self.pump()

    async def button(self, user_id: int, label: str) -> str:
        """The full label of the newest button in the chat whose label contains `label`."""
        for message in reversed(await self.sim.transcript(user_id)):
            for full in message.labels:
                if label.casefold() in full.casefold():
                    return full
        raise AssertionError(f"no button like {label!r} in chat {user_id}")

    async def sign_in(self, user_id: int, label: str, *, allow: bool = True) -> httpx.Response:
        """Open the sign-in link, answer the provider's consent page, follow the redirect
        back to the bot's `/oauth/callback`; returns the page the browser ends on."""
        authorize = await self.sim.open_url(user_id, await self.button(user_id, label))
        landed = await press_consent(self.browser, authorize, allow=allow)
        return await self.browser.get(landed)

    # ------------------------------------------------------------------ the outside world

    def advance(self, seconds: float) -> None:
        """Move time on for Kraken (its waits resolve on the next read past their deadline)
        and for the bot (the notifier's schedule and the progress lines go by its clock)."""
        self.sandbox.clock.advance(seconds)
        before = self.runtime.turns.clock
        self.runtime.turns.clock = lambda: before() + timedelta(seconds=seconds)

    async def notifier_look(self, chat_id: int, attempt: int = 1) -> str | float:
        """One notifier job run for the chat's waiting wizard, as arq would run it.

        Returns the job's result ("changed", "gone", ...), or the delay in seconds before the
        job's next look while the wizard is still waiting.
        """
        conv = await self.runtime.turns.peek(chat_id)
        if conv is None or conv.wizard_id is None:
            return LookResult.GONE.value
        ctx = {
            "notifier": NotifierContext(self.runtime.turns, self.runtime.watches),
            "job_try": attempt,
        }
        try:
            result = await look_at_wizard(ctx, chat_id, conv.wizard_id, conv.step_id)
        except Retry as retry:
            return float(retry.defer_score or 0) / 1000
        return result

    async def alerts_look(self, chat_id: int) -> str | None:
        """The chat's next slow look at its devices after LIVE (`bot.alerts`), run now as
        arq would run it; its outcome ("told", "nothing new", ...), or None when the chat's
        devices are not watched."""
        token = await self.runtime.watches.device_watch_token(chat_id)
        if token is None:
            return None
        ctx = {"notifier": NotifierContext(self.runtime.turns, self.runtime.watches)}
        return await look_at_devices(ctx, chat_id, token)


@contextlib.asynccontextmanager
async def in_process_deployment(
    redis_url: str,
    *,
    accounts: Sequence[str] = ("A-SANDBOX1",),
    time_scale: float = 1.0,
    policy: WatchPolicy | None = None,
    paced: bool = False,
    wrap_kraken: TransportWrapper | None = None,
    prefix: str = "sfa:",
) -> AsyncIterator[InProcessDeployment]:
    """Build and start everything; `paced=False` leaves out the outbound flood pacing (the
    emulator's flood control is off too), `wrap_kraken` lets a harness watch Kraken traffic."""
    emulator_app = create_emulator_app(EmulatorConfig())
    sandbox_app = create_sandbox_app(
        SandboxConfig(
            public_url=KRAKEN_BASE,
            redirect_uri=f"{BOT_BASE}{CALLBACK_PATH}",
            time_scale=time_scale,
            accounts=tuple(dict.fromkeys(["A-SANDBOX1", *accounts])),
            commit_seconds=0,
        )
    )
    kraken_transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=sandbox_app)
    if wrap_kraken is not None:
        kraken_transport = wrap_kraken(kraken_transport)
    async with contextlib.AsyncExitStack() as stack:
        runtime = await stack.enter_async_context(
            open_runtime(
                in_process_settings(redis_url, prefix=prefix),
                polling=True,  # for its getUpdates request; the updater itself never starts
                policy=policy,
                telegram_transport=httpx.ASGITransport(app=emulator_app),
                kraken_transport=kraken_transport,
                paced=paced,
            )
        )
        sim = await stack.enter_async_context(
            SimClient(TELEGRAM_BASE, transport=httpx.ASGITransport(app=emulator_app))
        )
        browser = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=_Browser(sandbox_app, create_web_app(runtime, webhook=False))
            )
        )
        stack.push_async_callback(emulator_app.state.emulator.close)
        yield InProcessDeployment(runtime, sim, emulator_app, sandbox_app, browser)


class _Browser(httpx.AsyncBaseTransport):
    """Routes by host: the provider's pages on the sandbox, everything else to the bot."""

    def __init__(self, sandbox_app: Starlette, bot_app: Starlette) -> None:
        self._sandbox = httpx.ASGITransport(app=sandbox_app)
        self._bot = httpx.ASGITransport(app=bot_app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = self._sandbox if request.url.host == urlsplit(KRAKEN_BASE).hostname else self._bot
        return await target.handle_async_request(request)
