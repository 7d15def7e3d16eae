"""The one way bot commands get a Redis: `REDIS_URL`, else an embedded server under DATA_DIR.

The embedded server persists (append-only file) so a restart keeps conversations and live
hand-off links. Several commands on one machine must share it: support runs `python -m bot
handoff` next to a running `python -m bot run`, and the token it issues must land in the bot's
Redis. So the process that starts the server records its URL in `DATA_DIR/redis/server.url`,
and later processes use that server while it answers; two servers on one data file would
corrupt it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.embedded_redis import EmbeddedRedis, redis_url_from_env_or_embedded


@dataclass
class RedisConnection:
    client: Redis
    url: str
    """Shared with arq and other processes, which open their own connections to it."""
    embedded: EmbeddedRedis | None = None

    async def close(self) -> None:
        await self.client.aclose()
        if self.embedded is not None:
            _url_file(self.embedded.data_dir).unlink(missing_ok=True)
            await asyncio.to_thread(self.embedded.stop)


def _url_file(redis_dir: Path) -> Path:
    return redis_dir / "server.url"


async def _answers(url: str) -> bool:
    client = Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()


async def open_redis(redis_url: str | None, data_dir: Path) -> RedisConnection:
    """Connect to `redis_url`, or to this machine's embedded server (starting it if needed)."""
    if redis_url:
        return RedisConnection(Redis.from_url(redis_url), redis_url)
    redis_dir = data_dir / "redis"
    url_file = _url_file(redis_dir)
    if url_file.exists():
        running = url_file.read_text().strip()
        if await _answers(running):
            return RedisConnection(Redis.from_url(running), running)
    url, server = await asyncio.to_thread(redis_url_from_env_or_embedded, redis_dir, True)
    if server is not None:
        url_file.write_text(url)
    return RedisConnection(Redis.from_url(url), url, server)


@contextlib.asynccontextmanager
async def redis_connection(redis_url: str | None, data_dir: Path) -> AsyncIterator[RedisConnection]:
    connection = await open_redis(redis_url, data_dir)
    try:
        yield connection
    finally:
        await connection.close()
