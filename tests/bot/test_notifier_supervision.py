"""The notifier survives Redis going away: its supervisor restarts the arq worker with
backoff, re-arms the waits, clears what the dead worker left in progress; heartbeats in Redis
tell any process how many notifiers are alive and how late the oldest due job is."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from arq.worker import func
from redis.asyncio.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.notifier import (
    Backoff,
    NotifierHeartbeats,
    NotifierSupervisor,
    StartupHook,
    TrackingWorker,
    supervised,
)
from bot.state.keys import KeySpace
from tests.bot.conftest import FakeClock

KEYS = KeySpace("sup:")
FAST = Backoff(first=0.01, longest=0.02)
PATIENCE = 10.0  # seconds an awaited event may take on a busy CI machine


class FlakyRedis(ArqRedis):
    """arq's Redis, with a switch that makes every command fail as a dead server would."""

    down = False

    def _check(self) -> None:
        if self.down:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Refused.")

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self._check()
        return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        pipe = super().pipeline(transaction, shard_hint)
        execute = pipe.execute

        async def checked(raise_on_error: bool = True) -> list[Any]:
            self._check()
            return await execute(raise_on_error)

        pipe.execute = checked  # type: ignore[method-assign]
        return pipe


class Jobs:
    """A job that blocks until cancelled, counting its starts."""

    def __init__(self) -> None:
        self.starts = 0
        self.started = asyncio.Event()

    async def block(self, ctx: dict[str, Any]) -> None:
        self.starts += 1
        self.started.set()
        await asyncio.Event().wait()


class Rearms:
    """Stands in for `Watches.rearm`."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> int:
        self.calls += 1
        return 0


@pytest.fixture
async def pool(redis_url: str, redis_client: aioredis.Redis) -> AsyncIterator[FlakyRedis]:
    client = FlakyRedis.from_url(redis_url)
    try:
        yield client
    finally:
        client.down = False
        await client.aclose()


class Workers:
    """The supervisor's worker factory: real arq workers on `pool`, counted."""

    def __init__(self, pool: FlakyRedis, jobs: Jobs) -> None:
        self.pool, self.jobs = pool, jobs
        self.built = 0
        self.built_while_down = asyncio.Event()

    def __call__(self, started: StartupHook) -> TrackingWorker:
        self.built += 1
        if self.pool.down:
            self.built_while_down.set()
        return TrackingWorker(
            functions=[func(self.jobs.block, name="block", timeout=60)],
            redis_pool=self.pool,
            queue_name=KEYS.job_queue(),
            on_startup=started,
            handle_signals=False,
            poll_delay=0.01,
            keep_result=0,
        )


def warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bot.notifier" and r.levelno == logging.WARNING]


async def test_a_worker_that_cannot_reach_redis_is_retried_until_it_can(
    pool: FlakyRedis, redis_client: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    pool.down = True
    rearm, workers = Rearms(), Workers(pool, Jobs())

    def third_time_lucky(started: StartupHook) -> TrackingWorker:
        pool.down = workers.built < 2
        return workers(started)

    heartbeats = NotifierHeartbeats(redis_client, KEYS)
    supervisor = NotifierSupervisor(
        third_time_lucky, rearm=rearm, heartbeats=heartbeats, backoff=FAST
    )
    with caplog.at_level(logging.INFO, logger="bot.notifier"):
        async with supervised(supervisor):
            await asyncio.wait_for(supervisor.wait_up(), PATIENCE)
            assert (await heartbeats.figures()).alive == 1
    assert workers.built == 3
    assert rearm.calls == 1  # re-armed once Redis answered, not by the failed attempts
    assert supervisor.restarts == 2 and supervisor.last_error == "ConnectionError"
    failed = warnings(caplog)
    assert len(failed) == 2, [r.getMessage() for r in failed]
    assert all(r.exc_info is None and "restarting in" in r.getMessage() for r in failed)
    assert (await heartbeats.figures()).alive == 0, "a stopped notifier leaves the count"


async def test_a_worker_that_dies_is_restarted_and_its_job_runs_again_at_once(
    pool: FlakyRedis, redis_client: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    jobs, rearm = Jobs(), Rearms()
    workers = Workers(pool, jobs)
    heartbeats = NotifierHeartbeats(redis_client, KEYS)
    supervisor = NotifierSupervisor(workers, rearm=rearm, heartbeats=heartbeats, backoff=FAST)
    await pool.enqueue_job("block", _job_id="wait-1", _queue_name=KEYS.job_queue())
    async with supervised(supervisor) as task:
        await asyncio.wait_for(jobs.started.wait(), PATIENCE)
        assert await redis_client.exists(in_progress_key_prefix + "wait-1")

        pool.down = True  # the worker dies mid-job; arq cannot clear the job's mark
        await asyncio.wait_for(workers.built_while_down.wait(), PATIENCE)
        assert not supervisor.up and not task.done()
        assert await redis_client.exists(in_progress_key_prefix + "wait-1")

        jobs.started.clear()
        pool.down = False
        await asyncio.wait_for(supervisor.wait_up(), PATIENCE)
        # Without the supervisor clearing the mark, arq would wait out its 70 s lifetime.
        await asyncio.wait_for(jobs.started.wait(), PATIENCE)
    assert jobs.starts == 2
    assert rearm.calls == 2  # the first start and the restart that worked
    assert warnings(caplog)
    assert all(r.exc_info is None for r in warnings(caplog))


async def test_heartbeats_count_live_notifiers_and_expire(
    redis_client: aioredis.Redis, clock: FakeClock
) -> None:
    heartbeats = NotifierHeartbeats(redis_client, KEYS, ttl=15, clock=clock)
    await heartbeats.beat("host-a:1")
    await heartbeats.beat("host-b:2")
    assert (await heartbeats.figures()).alive == 2
    assert 0 < await redis_client.pttl(KEYS.notifier_heartbeats()) <= 15_000

    clock.advance(10)
    await heartbeats.beat("host-a:1")
    clock.advance(6)  # b's heartbeat is 16 s old, a's 6 s
    assert (await heartbeats.figures()).alive == 1
    await heartbeats.leave("host-a:1")
    assert (await heartbeats.figures()).alive == 0


async def test_the_oldest_due_job_age_ignores_jobs_not_yet_due(
    redis_client: aioredis.Redis, clock: FakeClock
) -> None:
    heartbeats = NotifierHeartbeats(redis_client, KEYS, clock=clock)
    assert (await heartbeats.figures()).oldest_due_s == 0.0
    now_ms = int(clock() * 1000)
    await redis_client.zadd(KEYS.job_queue(), {"later": now_ms + 5_000})
    assert (await heartbeats.figures()).oldest_due_s == 0.0
    await redis_client.zadd(KEYS.job_queue(), {"late": now_ms - 42_000, "less": now_ms - 1_000})
    assert (await heartbeats.figures()).oldest_due_s == pytest.approx(42.0)


def test_restart_delays_double_up_to_a_bound() -> None:
    backoff = Backoff(first=1.0, longest=30.0)
    assert [backoff.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(10_000) == 30
