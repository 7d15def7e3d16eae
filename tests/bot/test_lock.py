from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import redis.asyncio as aioredis

from bot.state import ChatLock, KeySpace, LockTimeout

CHAT = 7
KEYS = KeySpace()


def lock_on(client: aioredis.Redis, **options: object) -> ChatLock:
    return ChatLock(client, KEYS, CHAT, **options)  # type: ignore[arg-type]


async def test_two_workers_never_run_a_chat_at_once(
    redis_client: aioredis.Redis, other_worker: aioredis.Redis
) -> None:
    """A read-modify-write on a shared counter loses updates unless the lock serialises it."""

    async def tap(client: aioredis.Redis) -> None:
        async with lock_on(client, timeout=30.0):
            value = int(await client.get("counter") or 0)
            await asyncio.sleep(0)  # let the other worker run here if it could
            await client.set("counter", value + 1)

    await asyncio.gather(*(tap(c) for _ in range(10) for c in (redis_client, other_worker)))
    assert int(await redis_client.get("counter")) == 20


async def test_busy_chat_times_out(
    redis_client: aioredis.Redis, other_worker: aioredis.Redis
) -> None:
    async with lock_on(redis_client):
        with pytest.raises(LockTimeout):
            await lock_on(other_worker, timeout=0.05).acquire()


async def test_release_wakes_a_waiter_before_the_lock_would_expire(
    redis_client: aioredis.Redis, other_worker: aioredis.Redis
) -> None:
    holder = lock_on(redis_client, ttl=timedelta(minutes=5))
    await holder.acquire()
    waiter = lock_on(other_worker, ttl=timedelta(minutes=5), timeout=60.0)
    waiting = asyncio.create_task(waiter.acquire())
    await holder.release()
    await asyncio.wait_for(waiting, timeout=10)  # far below the 5-minute TTL
    assert waiter.held
    await waiter.release()


async def test_lock_is_released_when_the_body_raises(
    redis_client: aioredis.Redis, other_worker: aioredis.Redis
) -> None:
    with pytest.raises(RuntimeError):
        async with lock_on(redis_client):
            raise RuntimeError("handler failed")
    assert await redis_client.exists(KEYS.chat_lock(CHAT)) == 0
    async with lock_on(other_worker, timeout=0.0) as lock:
        assert lock.held


async def test_dead_holder_lock_expires_and_cannot_be_released_by_it(
    redis_client: aioredis.Redis, other_worker: aioredis.Redis
) -> None:
    crashed = lock_on(redis_client, ttl=timedelta(milliseconds=200), renew=False)
    await crashed.acquire()
    survivor = lock_on(other_worker, timeout=10.0)
    await survivor.acquire()
    await crashed.release()  # the "crashed" process comes back late
    assert crashed.lost
    assert await redis_client.exists(KEYS.chat_lock(CHAT)) == 1, "survivor's lock was deleted"
    await survivor.release()


async def test_renewal_keeps_a_long_holder_locked(
    redis_client: aioredis.Redis, other_worker: aioredis.Redis
) -> None:
    async with lock_on(redis_client, ttl=timedelta(milliseconds=300)) as long_holder:
        # The waiter would get in after one TTL without renewal; it waits for over three.
        with pytest.raises(LockTimeout):
            await lock_on(other_worker, timeout=1.0).acquire()
        assert long_holder.held and long_holder.renewals >= 3


async def test_a_write_sent_with_the_release_never_keeps_the_chat_locked(
    redis_client: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """Writes queued for the release go out with it; one that fails is logged, and the chat
    is free all the same."""
    lock = lock_on(redis_client, fetch=["held-value"])
    await redis_client.set("held-value", "before")
    async with lock:
        assert lock.fetched == [b"before"]
        lock.on_release(lambda pipe: pipe.set("after", "1"), "first write")
        lock.on_release(lambda pipe: pipe.incr("held-value"), "a write that fails")
    assert await redis_client.get("after") == b"1"
    assert "a write that fails: ResponseError" in caplog.text
    async with lock_on(redis_client, timeout=0.1):  # taken at once: the release happened
        pass
