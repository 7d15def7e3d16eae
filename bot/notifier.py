"""The background notifier: arq jobs that look at waiting wizards and tell the user.

Exactly once across workers: arq runs one job per id at a time, the turn itself runs under
the chat lock, and the engine only speaks when the stored step differs from Kraken's — so a
change seen by two looks (or by the user's own "check now") is announced once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from arq import Retry
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from arq.worker import Worker, func
from redis.asyncio import Redis
from redis.exceptions import RedisError
from telegram.error import TelegramError

from bot.alerts import DeviceAlerts, adopt_bound_chats
from bot.screens import wait_overdue
from bot.state.keys import KeySpace
from bot.state.lock import LockTimeout
from bot.turns import LookResult, Turns
from bot.watches import DEVICES_FUNCTION, LOOK_FUNCTION, Watches, WatchPolicy
from kraken.errors import ErrorCategory, KrakenError
from kraken.http import RequestDeferred, background_requests

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

JOB_TIMEOUT_S = 20.0
# A device look that meets a busy chat or a Redis outage runs again after the wait policy's
# delays; past this many tries it fails and waits for the next start-up's re-arm.
DEVICE_LOOK_TRIES = 1000


@dataclass
class NotifierContext:
    turns: Turns
    watches: Watches


async def look_at_wizard(
    ctx: dict[str, Any], chat_id: int, wizard_id: str, step_id: str | None
) -> str:
    """One run of a wait's job: a look at Kraken, or — before a wait of known length is
    expected to end — only its progress line redrawn; then the next run, by what is awaited
    (`WatchPolicy.next_run`)."""
    notifier: NotifierContext = ctx["notifier"]
    attempt: int = ctx.get("job_try", 1)
    policy = notifier.watches.policy
    scheduled_ms = ctx.get("score")
    if scheduled_ms:
        notifier.turns.metrics.notifier_lag.observe(max(0.0, time.time() - scheduled_ms / 1000))
    later = policy.delay(attempt)  # until the wait is known
    try:
        wait = await notifier.turns.waiting(chat_id, wizard_id, step_id)
        if wait is None:
            result = LookResult.GONE
        else:
            later = policy.next_run(attempt, wait.now, wait.ends, wait.next_refresh)
            with background_requests():  # the request budget may put a look off, never a tap
                result = await notifier.turns.look(chat_id, wait)
    except RequestDeferred as deferred:
        # Nothing was asked: the budget is tight, so this look comes back when it says.
        notifier.turns.metrics.looks_deferred.inc()
        if attempt < last_try(policy):
            raise Retry(defer=max(deferred.delay, later)) from None
        result = LookResult.WAITING  # no try left: say so rather than go quiet
    except TelegramError as error:
        # The news is still news (the turn was not saved): tell it on the next look.
        log.warning("look at wizard %s could not reach the chat: %s", wizard_id, error)
        result = LookResult.WAITING
    except KrakenError as error:
        if error.category not in (ErrorCategory.RETRY, ErrorCategory.REAUTHENTICATE):
            log.warning("look at wizard %s stopped: %s", wizard_id, error.code)
            await notifier.watches.forget(chat_id, wizard_id)
            return "error"
        result = LookResult.WAITING
    except RedisError as error:
        # A failed job would leave the queue for good; a retried one is looked at again.
        log.warning("look at wizard %s lost Redis: %s", wizard_id, type(error).__name__)
        raise Retry(defer=later) from None
    if result is LookResult.WAITING:
        if out_of_time(ctx, attempt, policy):
            await notifier.watches.forget(chat_id, wizard_id)
            await notifier.turns.say(chat_id, [await wait_overdue(notifier.turns, chat_id)], None)
            return "overdue"
        raise Retry(defer=later)
    await notifier.watches.forget(chat_id, wizard_id, step_id)
    return str(result.value)


async def look_at_devices(ctx: dict[str, Any], chat_id: int, token: str) -> str:
    """One slow look at a LIVE chat's devices (`bot.alerts`); it queues the next itself."""
    notifier: NotifierContext = ctx["notifier"]
    attempt: int = ctx.get("job_try", 1)
    try:
        outcome = await DeviceAlerts(notifier.turns).look(chat_id, token)
    except (RedisError, LockTimeout) as error:
        log.warning("device look for chat %s put off: %s", chat_id, type(error).__name__)
        raise Retry(defer=notifier.watches.policy.delay(attempt)) from None
    return outcome.value


# Room for looks the request budget put off (and Redis outages): arq drops a job silently
# past its tries, so the job's limit is well above the looks a wait normally takes.
_TRIES_HEADROOM = 4


def last_try(policy: WatchPolicy) -> int:
    return policy.max_tries() * _TRIES_HEADROOM


def out_of_time(ctx: dict[str, Any], attempt: int, policy: WatchPolicy) -> bool:
    """Give up once the wait has had its looks and its time (`enqueue_time`: when the first
    look was queued; deferred looks use tries, not time), or on the job's last try."""
    if attempt >= last_try(policy):
        return True
    if attempt < policy.max_tries():
        return False
    first = ctx.get("enqueue_time")
    if not isinstance(first, datetime):
        return True  # no clock to go by (a caller outside arq): the tries decide
    return datetime.now(first.tzinfo) - first >= policy.give_up_after


class TrackingWorker(Worker):
    """An arq worker that knows which jobs it started and never finished.

    arq marks a job in progress (a key with a 30 s lifetime) before running it and clears the
    mark when the job ends; if Redis is gone at that moment the mark stays, and no worker runs
    the job until it expires. The supervisor clears the marks of this worker's unfinished jobs
    once Redis answers again, so a wait resumes at once after an outage.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unfinished: set[str] = set()

    async def run_job(self, job_id: str, score: int) -> None:
        self.unfinished.add(job_id)
        await super().run_job(job_id, score)
        self.unfinished.discard(job_id)


def build_worker(
    arq: ArqRedis, keys: KeySpace, notifier: NotifierContext, **options: Any
) -> TrackingWorker:
    policy = notifier.watches.policy
    return TrackingWorker(
        functions=[
            func(
                look_at_wizard,
                name=LOOK_FUNCTION,
                max_tries=last_try(policy) + 1,
                timeout=JOB_TIMEOUT_S,
            ),
            func(
                look_at_devices,
                name=DEVICES_FUNCTION,
                max_tries=DEVICE_LOOK_TRIES,
                timeout=JOB_TIMEOUT_S,
            ),
        ],
        redis_pool=arq,
        queue_name=keys.job_queue(),
        ctx={"notifier": notifier},
        keep_result=0,
        poll_delay=0.2,
        handle_signals=False,
        max_jobs=50,
        **options,
    )


# ------------------------------------------------------------------------------ supervision

HEARTBEAT_EVERY_S = 5.0
HEARTBEAT_TTL_S = 15.0
# Health checks and scrapes read Redis with this bound: a hung Redis must not hang them.
READ_TIMEOUT_S = 1.0

StartupHook = Callable[[dict[Any, Any]], Awaitable[None]]
WorkerFactory = Callable[[StartupHook], TrackingWorker]


@dataclass(frozen=True)
class NotifierFigures:
    alive: int
    """Notifier processes whose heartbeat has not expired, this one included."""
    oldest_due_s: float
    """How long the most overdue job has been due (0 when none is due)."""


class NotifierHeartbeats:
    """Which notifiers are running, shared through Redis so any process can tell.

    One sorted set: member = a notifier instance, score = when its heartbeat expires (ms). A
    member counts while its score is in the future; the set itself expires with the newest
    heartbeat. The oldest due job comes from arq's queue, a sorted set scored by due time (ms).
    """

    def __init__(
        self,
        redis: Redis,
        keys: KeySpace,
        *,
        ttl: float = HEARTBEAT_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl_ms = int(ttl * 1000)
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def beat(self, instance: str) -> None:
        now, key = self._now_ms(), self._keys.notifier_heartbeats()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {instance: now + self._ttl_ms})
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.pexpire(key, self._ttl_ms)
            await pipe.execute()

    async def leave(self, instance: str) -> None:
        await self._redis.zrem(self._keys.notifier_heartbeats(), instance)

    async def figures(self) -> NotifierFigures:
        now = self._now_ms()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcount(self._keys.notifier_heartbeats(), f"({now}", "+inf")
            pipe.zrange(self._keys.job_queue(), 0, 0, withscores=True)
            alive, first = await pipe.execute()
        due_ms = float(first[0][1]) if first else float(now)
        return NotifierFigures(int(alive), max(0.0, (now - due_ms) / 1000))


@dataclass(frozen=True)
class Backoff:
    """Delays between restarts of a worker that keeps failing: doubling, bounded."""

    first: float = 1.0
    longest: float = 30.0

    def delay(self, failures: int) -> float:
        return float(min(self.longest, self.first * 2 ** min(max(failures - 1, 0), 32)))


def _instance_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class NotifierSupervisor:
    """Keeps this process's arq worker running through Redis outages.

    When the worker's task ends (a Redis connection error, usually) it logs one warning line
    and starts a fresh worker after a bounded exponential backoff; a worker counts as started
    once arq has reached Redis and run `on_startup`, which clears the in-progress marks its
    predecessor left, re-arms every wait and writes the first heartbeat. The delay starts over
    after each successful start. `run` returns only by cancellation (shutdown).
    """

    def __init__(
        self,
        build: WorkerFactory,
        *,
        rearm: Callable[[], Awaitable[int]],
        heartbeats: NotifierHeartbeats,
        backoff: Backoff = Backoff(),
        beat_every: float = HEARTBEAT_EVERY_S,
    ) -> None:
        self._build = build
        self._rearm = rearm
        self._heartbeats = heartbeats
        self._backoff = backoff
        self._beat_every = beat_every
        self.instance = _instance_name()
        self.restarts = 0
        self.last_error: str | None = None
        self._up = asyncio.Event()
        self._unfinished: set[str] = set()

    @property
    def up(self) -> bool:
        return self._up.is_set()

    async def wait_up(self) -> None:
        await self._up.wait()

    async def run(self) -> None:
        beating = asyncio.create_task(self._beat_forever())
        failures = 0
        try:
            while True:
                error, started = await self._run_worker(self._build(self._started))
                failures = 1 if started else failures + 1
                self.last_error = type(error).__name__
                delay = self._backoff.delay(failures)
                log.warning(
                    "notifier stopped (%s: %s); restarting in %.0f s", self.last_error, error, delay
                )
                await asyncio.sleep(delay)
                self.restarts += 1
        finally:
            self._up.clear()
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                await asyncio.wait_for(self._heartbeats.leave(self.instance), READ_TIMEOUT_S)

    async def _started(self, ctx: dict[Any, Any]) -> None:
        """arq's on_startup: Redis has answered. Errors here end the worker (and retry)."""
        if self._unfinished:
            arq: ArqRedis = ctx["redis"]
            await arq.delete(*(in_progress_key_prefix + job for job in self._unfinished))
            self._unfinished.clear()
        rearmed = await self._rearm()
        await self._heartbeats.beat(self.instance)
        self._up.set()
        again = "back" if self.restarts else "running"
        log.info("notifier %s; %d waits re-armed", again, rearmed)

    async def _run_worker(self, worker: TrackingWorker) -> tuple[BaseException, bool]:
        """Run `worker` until its task ends: why it ended, and whether it had started.
        Cancelled (shutdown): stop the worker and its jobs, then raise."""
        task = asyncio.create_task(worker.async_run())
        try:
            await asyncio.wait([task])
        finally:
            started = self.up
            self._up.clear()
            await self._stop(worker, task)
        error = asyncio.CancelledError() if task.cancelled() else task.exception()
        return error or RuntimeError("the worker returned"), started

    async def _stop(self, worker: TrackingWorker, task: asyncio.Task[None]) -> None:
        """Cancel the worker and its jobs (arq re-runs a cancelled job) and wait for them."""
        jobs = list(worker.tasks.values())
        for running in (*jobs, task):
            running.cancel()
        await asyncio.gather(task, *jobs, return_exceptions=True)
        self._unfinished |= worker.unfinished

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self._beat_every)
            if self.up:
                with contextlib.suppress(RedisError, OSError, TimeoutError):
                    await asyncio.wait_for(self._heartbeats.beat(self.instance), READ_TIMEOUT_S)


async def _rearm(runtime: Runtime) -> int:
    """At start-up: every wait and device watch queued again, and (once per deployment) the
    devices of chats bound before device alerts existed watched too."""
    return await runtime.watches.rearm() + await adopt_bound_chats(runtime.turns)


def supervisor_for(runtime: Runtime, **options: Any) -> NotifierSupervisor:
    """The notifier of `run` and `worker`: the runtime's turns and watches, supervised."""
    context = NotifierContext(runtime.turns, runtime.watches)
    return NotifierSupervisor(
        lambda started: build_worker(runtime.arq, runtime.keys, context, on_startup=started),
        rearm=lambda: _rearm(runtime),
        heartbeats=NotifierHeartbeats(runtime.redis.client, runtime.keys),
        **options,
    )


@contextlib.asynccontextmanager
async def supervised(notifier: NotifierSupervisor) -> AsyncIterator[asyncio.Task[None]]:
    """Run the supervised notifier beside whatever else this process does; stop it on exit."""
    task = asyncio.create_task(notifier.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
