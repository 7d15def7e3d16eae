"""Which account a chat belongs to, kept longer than the conversation itself.

The conversation document expires after weeks of silence (or is lost with a Redis that keeps
nothing on disk); the binding outlives it so the chat can be rebuilt from Kraken — the
account's resumable wizard — instead of asking the customer for a new support link.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from redis.asyncio import Redis

from bot.state.keys import KeySpace

DEFAULT_BINDING_TTL = timedelta(days=365)


@dataclass(frozen=True)
class Binding:
    account_number: str
    property_id: int | None


class ChatBindings:
    def __init__(self, redis: Redis, keys: KeySpace, ttl: timedelta = DEFAULT_BINDING_TTL) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl

    async def bind(self, chat_id: int, binding: Binding) -> None:
        body = json.dumps({"account": binding.account_number, "property": binding.property_id})
        await self._redis.set(self._keys.binding(chat_id), body, ex=self._ttl)

    async def get(self, chat_id: int) -> Binding | None:
        raw = await self._redis.get(self._keys.binding(chat_id))
        if raw is None:
            return None
        data = json.loads(raw)
        return Binding(account_number=str(data["account"]), property_id=data["property"])
