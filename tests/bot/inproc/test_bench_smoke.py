"""`python -m bench` end to end with a few users: every figure present, everyone onboarded.
Timings are printed, never asserted."""

from __future__ import annotations

import redis.asyncio as aioredis

from bench.echo import run_echo
from bench.onboarding import run_onboarding
from bench.report import figures, table

USERS = 20


async def test_bench_reports_every_figure_with_all_users_onboarded(
    redis_url: str, redis_client: aioredis.Redis
) -> None:
    result = await run_onboarding(redis_url, USERS, concurrency=1)
    echo, echo_rate = await run_echo(USERS, concurrency=1)
    f = figures(result, echo, echo_rate)

    assert f.completed == USERS
    assert len(result.latencies) == result.updates == USERS * 3
    assert len(result.notifier_lags) == len(result.redis_bytes) == USERS
    assert f.redis_bytes > 0 and f.minimum_calls <= f.calls_per_onboarding
    assert len(echo) == USERS * 3 and echo_rate > 0
    printed = table(f)
    for label in (
        "updates per second",
        "bot-side p50",
        "bot-side p99",
        "echo bot p50 / p99",
        "Kraken calls per onboarding",
        "reads a mutation already answered",
        "Redis bytes per conversation",
        "notifier lag p50 / p95",
    ):
        assert label in printed
    assert await redis_client.dbsize() == 0  # the run cleans up after itself
