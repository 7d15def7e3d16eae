"""Fixtures for the bot's infrastructure tests: a second independent Redis connection (a
second "worker") and a controllable clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis


class FakeClock:
    """Wall-clock stand-in (`time.time` shape) that moves only when a test says so."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def other_worker(
    redis_url: str, redis_client: aioredis.Redis
) -> AsyncIterator[aioredis.Redis]:
    """A separate client (own connection pool), as a second process would have."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()
