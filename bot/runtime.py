"""Wiring: settings in, every long-lived object of a bot process out.

`run`, `web` and `worker` differ only in which of these they start (polling, the web server,
the notifier); building them in one place keeps the three processes configured alike.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
from arq.connections import ArqRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError
from telegram import Update
from telegram.ext import Application, ApplicationBuilder
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.delivery import ChatPacedRateLimiter
from bot.handlers import Handlers
from bot.handoff.service import HandoffService
from bot.metrics import Metrics
from bot.redis_conn import RedisConnection, open_redis
from bot.state.bindings import ChatBindings
from bot.state.budget import KrakenBudget
from bot.state.conversations import ConversationStore
from bot.state.inbound import ChatRate, ClaimResult, UpdateLedger
from bot.state.keys import KeySpace
from bot.state.oauth import OAuthStates
from bot.turns import Turns, WaitFigures
from bot.updates import LedgeredUpdates, OrphanSweeper
from bot.voice import RedisSpeechCache, VoiceChat, VoiceChats, VoiceKeys
from bot.watches import Watches, WatchPolicy
from kraken import ApiKeyCredentials, KrakenClient
from kraken.http import GatedTransport
from kraken.schema import SchemaCache
from voice import VoiceConfig, VoicePipeline

log = logging.getLogger(__name__)

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
    watches: Watches
    oauth: OAuthStates
    turns: Turns
    ledger: UpdateLedger
    voice: VoiceChat | None = None

    @property
    def bot_username(self) -> str:
        return self.settings.telegram_bot_username or self.application.bot.username

    async def receive(self, update: Update, raw: str | None = None) -> None:
        """A webhook update: into the inbox (so a crash cannot lose it) and claimed for this
        process in the same round trip, then onto PTB's queue; the caller answers Telegram
        without waiting for the turn. `raw`: the JSON as Telegram sent it (kept as is: no
        second encoding). A redelivery of an update that is done or being handled stops here."""
        chat = update.effective_chat
        try:
            claim = await self.ledger.receive(
                update.update_id, raw or update.to_json(), chat.id if chat else None
            )
        except RedisError as error:
            log.warning("update %s not kept in the inbox: %s", update.update_id, error)
        else:
            if claim.result is not ClaimResult.CLAIMED:
                log.info("update %s dropped: %s", update.update_id, claim.result.value)
                return
        await self.application.update_queue.put(update)

    def sweeper(self) -> OrphanSweeper:
        """Re-handles updates whose process died mid-turn; run it where updates are handled."""
        return OrphanSweeper(self.ledger, self.application.bot, self.application.update_queue.put)


def build_application(
    settings: Settings,
    ledger: UpdateLedger,
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
        .concurrent_updates(LedgeredUpdates(ledger, CONCURRENT_UPDATES))
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


def build_voice(
    settings: Settings, turns: Turns, redis: Redis, keys: KeySpace, metrics: Metrics
) -> VoiceChat | None:
    """The voice side (None with VOICE_ENABLED=false): the pipeline's workers start on the
    first voice note, not here, so processes that never hear one never pay for the models."""
    if not settings.voice_enabled:
        return None
    voice_keys = VoiceKeys(keys)
    cache = RedisSpeechCache(
        redis,
        voice_keys,
        ttl=settings.voice_cache_ttl,
        max_items=settings.voice_cache_items,
        max_bytes=settings.voice_cache_item_bytes,
        metrics=metrics,
    )
    config = VoiceConfig(
        workers=settings.voice_workers,
        executor=settings.voice_executor,
        timeout_s=settings.voice_timeout,
    )
    voice = VoiceChat(
        turns=turns,
        pipeline=VoicePipeline(config, cache=cache),
        chats=VoiceChats(redis, voice_keys),
        metrics=metrics,
    )
    turns.on_shown = voice.shown
    return voice


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    polling: bool,
    policy: WatchPolicy | None = None,
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

    # Every Kraken request passes the request budget shared by all processes on this Redis.
    budget = KrakenBudget(
        connection.client, keys, requests_per_hour=settings.kraken_requests_per_hour
    )
    kraken = KrakenClient(
        str(settings.kraken_api_url),
        ApiKeyCredentials(api_key=settings.kraken_api_key),
        transport=GatedTransport(budget, kraken_transport),
        observer=observe,
        schema_cache=SchemaCache.redis(connection.client, keys.kraken_schema()),
    )
    rate = ChatRate(connection.client, keys)
    ledger = UpdateLedger(connection.client, bot_id=settings.bot_id(), keys=keys, rate=rate)
    application = build_application(
        settings, ledger, polling=polling, transport=telegram_transport, paced=paced
    )
    store = ConversationStore(connection.client, keys=keys)
    handoff = HandoffService(connection.client, ttl=settings.handoff_ttl, keys=keys)
    watches = Watches(arq, keys, policy or settings.watch_policy())
    oauth = OAuthStates(connection.client, keys)
    turns = Turns(
        store=store,
        kraken=kraken,
        bot=application.bot,
        watches=watches,
        oauth=oauth,
        bindings=ChatBindings(connection.client, keys, settings.binding_ttl),
        handoff=handoff,
        metrics=metrics,
        waits=WaitFigures(
            test_charge=timedelta(seconds=settings.test_charge_seconds),
            progress_every=timedelta(seconds=settings.progress_every),
        ),
        default_locale=settings.default_locale,
    )
    voice = build_voice(settings, turns, connection.client, keys, metrics)
    Handlers(
        turns=turns,
        handoff=handoff,
        rate=rate,
        voice=voice,
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
        watches,
        oauth,
        turns,
        ledger,
        voice,
    )
    try:
        await application.initialize()
        # What this Kraken instance supports: every process learns it before serving (from
        # Redis when another process just did); it never fails start-up (see the client).
        capabilities = await kraken.detect_capabilities()
        log.info("kraken capabilities: %s", capabilities.summary())
        metrics.watch_capabilities(lambda: kraken.known_capabilities)
        yield runtime
    finally:
        if voice is not None:
            await voice.close()  # before the bot goes: spoken screens under way still go out
        with contextlib.suppress(Exception):
            await application.shutdown()
        await kraken.aclose()
        with contextlib.suppress(RedisError):
            await budget.close()  # what customers' requests still owe the budget
        await arq.aclose()
        await connection.close()
