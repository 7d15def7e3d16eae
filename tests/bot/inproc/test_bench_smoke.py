"""`python -m bench` end to end with a few users: every process started, everyone onboarded
through the webhook, every figure printed and sane. Timings are printed, never asserted."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio as aioredis

from bench.notifier import WaitKind, measure_waits
from bench.notifier import table as notifier_table
from bench.report import redis_per_update, table
from bench.run import Options, measure

USERS = 4


async def test_bench_reports_every_figure_with_all_users_onboarded(
    redis_url: str, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    options = Options(users=USERS, rounds=1, levels=(1, 4), processes=(1, 2))
    m = await measure(options, redis_url, tmp_path)

    assert m.journey is not None and m.journey.completed == USERS
    assert m.journey_sample is not None and m.journey_sample.updates == USERS * 3
    assert m.chat_sample is not None and m.chat_sample.updates == USERS
    assert 0 < m.redis_bytes < 4096
    commands, round_trips = redis_per_update(m.journey_sample)
    assert 0 < round_trips <= commands
    # A LIVE customer's message: claim, open, close — what operators size Redis by. (The
    # background's own round trips, a sweep or a budget batch, may fall in the window.)
    _, live_round_trips = redis_per_update(m.chat_sample)
    assert 0 < live_round_trips <= 3.5
    onboarding_calls = sum(m.kraken_calls.values()) / USERS
    assert 4 <= onboarding_calls < 20  # a mutation per step, and the notifier's looks
    for samples in (m.levels, m.echo_levels):
        assert set(samples) == {1, 4}
        assert all(s.updates == USERS and s.bot_cpu_per_update() >= 0 for s in samples.values())
    assert set(m.scaling) == {1, 2} and all(s.run.per_second > 0 for s in m.scaling.values())

    printed = table(m)
    print(printed)
    for label in (
        "customers LIVE",
        "bot CPU per update",
        "Redis commands / round trips per update",
        "Kraken calls per onboarding",
        "Redis bytes per conversation",
        "Kraken calls per message",
        "echo CPU/update",
        "updates/s",
    ):
        assert label in printed
    assert not [k async for k in redis_client.scan_iter(match="bench:*")]  # cleaned up


async def test_notifier_bench_tells_every_waiting_customer_and_prints_its_figures(
    redis_url: str, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    f = await measure_waits(USERS, 0.05, 1, redis_url, tmp_path)  # 3-second waits

    assert f.signed_in == f.live == USERS and len(f.lags) == USERS
    assert f.notifier_looks >= USERS  # at least the look that saw each wait end
    assert f.redis_bytes > 0 and f.notifier_cpu_s > 0
    printed = notifier_table(f)
    print(printed)
    for label in ("told LIVE", "LIVE told after Kraken's transition", "per sandbox hour"):
        assert label in printed
    assert not [k async for k in redis_client.scan_iter(match="bench:*")]


async def test_notifier_bench_takes_cars_through_their_test_charge_and_times_its_end(
    redis_url: str, redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    f = await measure_waits(USERS, 0.01, 1, redis_url, tmp_path, WaitKind.TEST_CHARGE)

    assert f.signed_in == f.live == USERS and len(f.lags) == USERS
    assert len(f.end_lags) == USERS  # each test charge's end was told, and timed
    printed = notifier_table(f)
    print(printed)
    assert "test charge's end told" in printed
    assert not [k async for k in redis_client.scan_iter(match="bench:*")]
