from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from arq.connections import ArqRedis

from bot.notifier import last_try, out_of_time
from bot.state.keys import KeySpace
from bot.watches import Watches, WatchPolicy


def test_delays_start_short_grow_and_stay_capped() -> None:
    policy = WatchPolicy(first_delay=2, growth=2, max_delay=30)
    delays = [policy.delay(n) for n in range(1, 12)]
    assert delays[0] == 2
    assert delays == sorted(delays)
    assert max(delays) == 30
    assert policy.delay(10_000) == 30  # no overflow however long a wait runs


def test_max_tries_covers_the_give_up_window_and_no_more() -> None:
    policy = WatchPolicy(first_delay=3, growth=1.5, max_delay=60, give_up_after=timedelta(hours=1))
    tries = policy.max_tries()
    covered = sum(policy.delay(n) for n in range(1, tries + 1))
    assert covered >= 3600
    assert covered - policy.delay(tries) < 3600


def test_an_unknown_wait_backs_off_by_its_attempts_whatever_the_clock_says() -> None:
    policy = WatchPolicy()
    now = datetime.now(UTC)
    assert [policy.next_run(n, now, None, now) for n in (1, 2, 30)] == [
        policy.delay(1),
        policy.delay(2),
        policy.max_delay,
    ]


def test_a_wait_of_known_length_sleeps_to_its_end_waking_only_for_its_progress_line() -> None:
    policy = WatchPolicy(first_delay=3, growth=1.5, max_delay=60, close_looks=4)
    began = datetime.now(UTC)
    ends = began + timedelta(minutes=7)

    def at(seconds: float) -> datetime:
        return began + timedelta(seconds=seconds)

    assert policy.next_run(1, at(3), ends, at(45)) == 42  # the progress line's turn
    assert policy.next_run(9, at(405), ends, at(450)) == 15  # the end comes first
    assert policy.next_run(2, at(100), ends, None) == 320  # no line to draw
    assert policy.next_run(2, at(100), ends, at(100)) == 320  # a line not due again

    # From the expected end: seconds apart, then as an unknown wait from its start.
    seconds, gaps = 420.0, []
    while seconds < 420 + 120:
        gaps.append(policy.next_run(40, at(seconds), ends, None))
        seconds += gaps[-1]
    assert gaps[:5] == [3.0] * 5
    assert gaps[5:8] == [policy.delay(2), policy.delay(3), policy.delay(4)]
    assert policy.next_run(40, at(420 + 3600), ends, None) == policy.max_delay


@pytest.fixture
async def arq(redis_url: str, redis_client: object) -> AsyncIterator[ArqRedis]:
    pool = ArqRedis.from_url(redis_url)
    yield pool
    await pool.aclose()


async def test_watching_twice_schedules_one_job(arq: ArqRedis) -> None:
    keys = KeySpace("t:")
    polls = Watches(arq, keys, WatchPolicy(first_delay=60))
    await polls.watch(7, "W1", "S1")
    await polls.watch(7, "W1", "S1")
    queued = await arq.zrange(keys.job_queue(), 0, -1)
    assert queued == [keys.watch_job("W1", "S1").encode()]
    assert await arq.hgetall(keys.active_watches()) == {b"7|W1": b"S1"}  # type: ignore[misc]


async def test_rearm_recreates_lost_jobs_from_the_active_set(arq: ArqRedis) -> None:
    keys = KeySpace("t:")
    polls = Watches(arq, keys, WatchPolicy(first_delay=60))
    await polls.watch(7, "W1", "S1")
    await polls.watch(8, "W2", None)
    # The queue is gone, as after losing a worker's jobs — but not the set of active polls.
    await arq.flushdb()
    active = {"7|W1": "S1", "8|W2": ""}
    await arq.hset(keys.active_watches(), mapping=active)  # type: ignore[misc]
    assert await polls.rearm() == 2
    queued = set(await arq.zrange(keys.job_queue(), 0, -1))
    assert queued == {keys.watch_job("W1", "S1").encode(), keys.watch_job("W2", None).encode()}


async def test_forgetting_an_old_step_keeps_the_watch_on_the_new_one(arq: ArqRedis) -> None:
    keys = KeySpace("t:")
    polls = Watches(arq, keys, WatchPolicy(first_delay=60))
    await polls.watch(7, "W1", "S2")
    await polls.forget(7, "W1", "S1")
    assert await arq.hget(keys.active_watches(), "7|W1") == b"S2"  # type: ignore[misc]
    await polls.forget(7, "W1", "S2")
    assert await arq.hget(keys.active_watches(), "7|W1") is None  # type: ignore[misc]


def test_a_wait_gives_up_after_its_looks_and_its_time_and_never_past_the_jobs_last_try() -> None:
    """Looks the request budget put off use tries, not time: a wait that had its tries but
    not its hour goes on (arq would drop a job past its tries without a word, so the last
    try always ends with the message)."""
    policy = WatchPolicy(first_delay=3, growth=1.5, max_delay=60, give_up_after=timedelta(hours=1))
    tries = policy.max_tries()
    started = datetime.now(UTC)
    assert not out_of_time({"enqueue_time": started}, tries - 1, policy)
    assert not out_of_time({"enqueue_time": started}, tries, policy)  # deferred: time left
    an_hour_ago = started - timedelta(hours=1, seconds=1)
    assert out_of_time({"enqueue_time": an_hour_ago}, tries, policy)
    assert out_of_time({"enqueue_time": started}, last_try(policy), policy)
    assert out_of_time({}, tries, policy)  # outside arq the tries decide, as before
