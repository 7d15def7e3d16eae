"""Wiring: settings in, every long-lived object of a bot process out.

`run`, `web` and `worker` differ only in which of these they start (polling, the web server,
the notifier); building them in one place keeps the three processes configured alike.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from arq.connections import ArqRedis
from arq.worker import Worker
from telegram.ext import Application, ApplicationBuilder
from telegram.request import HTTPXRequest

from bot.chat.pacing import ChatPacedRateLimiter
from bot.config import Settings
from bot.handlers import Handlers
from bot.handoff.service import HandoffService
from bot.metrics import Metrics
from bot.notifier import NotifierContext, build_worker
from bot.oauth import OAuthStates
from bot.polling import PollPolicy, PollScheduler
from bot.redis_conn import RedisConnection, open_redis
from bot.service import ChatService
from bot.state.bindings import ChatBindings
from bot.state.conversations import ConversationStore
from bot.state.dedupe import UpdateDeduper
from bot.state.keys import KeySpace
from kraken import ApiKeyCredentials, KrakenClient

CONCURRENT_UPDATES = 64


@dataclass
class Runtime:
    settings: Settings
    redis: RedisConnection
    arq: ArqRedis
    keys: KeySpace
    kraken: KrakenClient
    metrics: Metrics
    application: Application  # type: ignore[type-arg]
    store: ConversationStore
    handoff: HandoffService
    polls: PollScheduler
    oauth: OAuthStates
    service: ChatService

    @property
    def bot_username(self) -> str:
        return self.settings.telegram_bot_username or self.application.bot.username

    def notifier_worker(self) -> Worker:
        return build_worker(self.arq, self.keys, NotifierContext(self.service, self.polls))


def build_application(
    settings: Settings,
    *,
    polling: bool,
    transport: httpx.AsyncBaseTransport | None = None,
    paced: bool = True,
) -> Application:  # type: ignore[type-arg]
    """`transport` and `paced=False` are for in-process use (bot.testing): an emulator behind
    an ASGI transport, and no outbound pacing when flood control is not what is measured."""
    api = settings.telegram_api_url.rstrip("/")
    httpx_kwargs = {"transport": transport} if transport is not None else None
    builder: ApplicationBuilder = (  # type: ignore[type-arg]
        Application.builder()
        .token(settings.bot_token())
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .request(
            HTTPXRequest(connection_pool_size=CONCURRENT_UPDATES + 8, httpx_kwargs=httpx_kwargs)
        )
        .concurrent_updates(CONCURRENT_UPDATES)
    )
    if paced:
        builder = builder.rate_limiter(ChatPacedRateLimiter())
    if polling:
        builder = builder.get_updates_request(
            HTTPXRequest(read_timeout=40.0, httpx_kwargs=httpx_kwargs)
        )
    else:
        builder = builder.updater(None)
    return builder.build()


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    polling: bool,
    policy: PollPolicy | None = None,
    telegram_transport: httpx.AsyncBaseTransport | None = None,
    kraken_transport: httpx.AsyncBaseTransport | None = None,
    paced: bool = True,
) -> AsyncIterator[Runtime]:
    """The transports and `paced` exist for in-process deployments (see `bot.testing`)."""
    connection = await open_redis(settings.redis_url, settings.data_dir)
    arq = ArqRedis.from_url(connection.url)
    keys = KeySpace(settings.redis_prefix)
    metrics = Metrics()

    def observe(operation: str, code: str | None, _seconds: float) -> None:
        metrics.kraken_calls.labels(operation=operation).inc()
        if code is not None:
            metrics.kraken_errors.labels(code=code).inc()

    kraken = KrakenClient(
        str(settings.kraken_api_url),
        ApiKeyCredentials(api_key=settings.kraken_api_key),
        transport=kraken_transport,
        observer=observe,
    )
    application = build_application(
        settings, polling=polling, transport=telegram_transport, paced=paced
    )
    store = ConversationStore(connection.client, keys=keys)
    handoff = HandoffService(connection.client, ttl=settings.handoff_ttl, keys=keys)
    polls = PollScheduler(arq, keys, policy or settings.poll_policy())
    oauth = OAuthStates(connection.client, keys)
    service = ChatService(
        store=store,
        kraken=kraken,
        bot=application.bot,
        polls=polls,
        oauth=oauth,
        bindings=ChatBindings(connection.client, keys),
        metrics=metrics,
        default_locale=settings.default_locale,
    )
    Handlers(
        service=service,
        handoff=handoff,
        deduper=UpdateDeduper(connection.client, bot_id=settings.bot_id(), keys=keys),
        redis=connection.client,
        keys=keys,
    ).install(application)
    runtime = Runtime(
        settings,
        connection,
        arq,
        keys,
        kraken,
        metrics,
        application,
        store,
        handoff,
        polls,
        oauth,
        service,
    )
    try:
        await application.initialize()
        yield runtime
    finally:
        with contextlib.suppress(Exception):
            await application.shutdown()
        await kraken.aclose()
        await arq.aclose()
        await connection.close()
