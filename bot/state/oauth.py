"""The provider's redirect back to us: `state` -> chat, once.

When the AuthFlow screen is shown the engine asks us to record the `state` parameter of the
authorization link; the provider echoes it on the redirect. Only a hash of it is stored, and
taking it deletes it, so an unknown or replayed redirect finds nothing and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from redis.asyncio import Redis

from bot.state.keys import KeySpace

DEFAULT_TTL = timedelta(hours=2)
MAX_STATE_LENGTH = 512


@dataclass(frozen=True)
class OAuthTarget:
    chat_id: int
    wizard_id: str


class OAuthStates:
    def __init__(self, redis: Redis, keys: KeySpace, ttl: timedelta = DEFAULT_TTL) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl

    def _key(self, state: str) -> str:
        return self._keys.oauth_state(hashlib.sha256(state.encode()).hexdigest())

    async def record(self, state: str, chat_id: int, wizard_id: str) -> None:
        body = json.dumps({"chat": chat_id, "wizard": wizard_id})
        await self._redis.set(self._key(state), body, ex=self._ttl)

    async def take(self, state: str) -> OAuthTarget | None:
        if not state or len(state) > MAX_STATE_LENGTH:
            return None
        raw = await self._redis.getdel(self._key(state))
        if raw is None:
            return None
        data = json.loads(raw)
        return OAuthTarget(chat_id=int(data["chat"]), wizard_id=str(data["wizard"]))
