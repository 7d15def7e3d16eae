"""Drops Telegram updates that were already handled.

Telegram redelivers a webhook update when the response was slow or failed, and with several
webhook workers the retry can land on a different process, so only a shared record helps.
"""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis

from bot.state.keys import KeySpace

# Telegram keeps undelivered updates for 24 hours; a record older than that cannot be hit.
DEFAULT_DEDUPE_TTL = timedelta(days=1)


class UpdateDeduper:
    def __init__(
        self,
        redis: Redis,
        bot_id: int,
        keys: KeySpace | None = None,
        ttl: timedelta = DEFAULT_DEDUPE_TTL,
    ) -> None:
        self._redis = redis
        self._bot_id = bot_id
        self._keys = keys or KeySpace()
        self._ttl_s = int(ttl.total_seconds())

    async def first_time(self, update_id: int) -> bool:
        """True the first time an update id is seen, False for every replay."""
        key = self._keys.update(self._bot_id, update_id)
        return bool(await self._redis.set(key, 1, nx=True, ex=self._ttl_s))
