"""Fixtures shared by every test layer.

Redis is always real: `REDIS_URL` when the environment gives one, else an embedded server
started once per session. Each test gets its own logical database flushed before use.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis.asyncio as aioredis

from bot.embedded_redis import EmbeddedRedis


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("REDIS_URL", "").strip()
    if url:
        yield url
        return
    server = EmbeddedRedis(data_dir=Path(tmp_path_factory.mktemp("redis")), persist=False)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server_url: str, worker_db: int) -> str:
    return urlunsplit(urlsplit(redis_server_url)._replace(path=f"/{worker_db}"))


@pytest.fixture
def worker_db() -> int:
    """Database 9 keeps tests away from data a developer may hold in database 0."""
    return 9


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.flushdb()
        await client.aclose()
