"""Per-chat conversation documents in Redis, with optimistic concurrency.

The document is opaque JSON produced by the dialogs layer, wrapped in an envelope:
`{"v": schema, "rev": n, "data": {...}, "updated": unix_ts}`. `rev` goes up by one per save
and a save names the rev it read, so two workers that both loaded rev 4 cannot both write
rev 5: the second gets `StaleWrite` and must reload (the chat lock makes that rare; the rev
check makes it harmless when the lock was lost, e.g. a worker paused past the lock's TTL).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis

from bot.state.keys import KeySpace
from bot.state.lock import ChatLock

SCHEMA_VERSION = 1
DEFAULT_CONVERSATION_TTL = timedelta(days=30)


# Write rev N+1 only over rev N (or over nothing, for N = 0), in one round trip. Returns
# {1} when written, else {0, the stored rev or 0, the stored schema version or 0}.
_SAVE = """
local raw = redis.call('GET', KEYS[1])
local rev, version = 0, 0
if raw then
    local stored = cjson.decode(raw)
    rev, version = tonumber(stored['rev']), tonumber(stored['v'])
end
if rev ~= tonumber(ARGV[1]) or version > tonumber(ARGV[3]) then
    return {0, rev, version}
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
return {1}
"""


class StaleWrite(Exception):
    """Someone saved this chat after the caller loaded it; reload and re-apply the update."""

    def __init__(self, chat_id: int, expected_rev: int, actual_rev: int | None) -> None:
        found = actual_rev if actual_rev else "none"
        super().__init__(f"chat {chat_id}: expected rev {expected_rev}, found {found}")
        self.chat_id = chat_id
        self.expected_rev = expected_rev
        self.actual_rev = actual_rev


class UnsupportedVersion(Exception):
    """The stored document was written by a newer release; refuse rather than clobber it."""


@dataclass(frozen=True)
class StoredConversation:
    chat_id: int
    version: int
    rev: int
    data: dict[str, Any]
    updated: float


@dataclass
class OpenedChat:
    """A chat whose lock is held: what was stored when it was taken, and the lock (writes
    that can wait for the release go out with it)."""

    stored: StoredConversation | None
    lock: ChatLock


class ConversationStore:
    def __init__(
        self,
        redis: Redis,
        keys: KeySpace | None = None,
        ttl: timedelta = DEFAULT_CONVERSATION_TTL,
        clock: Callable[[], float] = time.time,
        schema_version: int = SCHEMA_VERSION,
    ) -> None:
        self._redis = redis
        self._keys = keys or KeySpace()
        self._ttl_ms = int(ttl.total_seconds() * 1000)
        self._clock = clock
        self._schema_version = schema_version
        self._save = redis.register_script(_SAVE)

    @property
    def redis(self) -> Redis:
        """The connection the store uses (modules keeping per-chat records beside it)."""
        return self._redis

    @property
    def keys(self) -> KeySpace:
        return self._keys

    async def load(self, chat_id: int) -> StoredConversation | None:
        return self.decode(chat_id, await self._redis.get(self._keys.conversation(chat_id)))

    async def save(
        self,
        chat_id: int,
        data: Mapping[str, Any],
        expected_rev: int,
        *,
        ttl: timedelta | None = None,
    ) -> StoredConversation:
        """Write rev `expected_rev + 1`; `expected_rev=0` creates a chat that must not exist yet.

        The TTL is refreshed on every save, so an active chat never expires; `ttl` overrides
        the store's (a stranger's chat is kept only briefly)."""
        ttl_ms = int(ttl.total_seconds() * 1000) if ttl is not None else self._ttl_ms
        stored = StoredConversation(
            chat_id=chat_id,
            version=self._schema_version,
            rev=expected_rev + 1,
            data=dict(data),
            updated=self._clock(),
        )
        key = self._keys.conversation(chat_id)
        answer = await self._save(
            keys=[key],
            args=[expected_rev, self._encode(stored), self._schema_version, ttl_ms],
        )
        if answer[0] != 1:
            current_rev, version = int(answer[1]), int(answer[2])
            if version > self._schema_version:
                raise UnsupportedVersion(
                    f"chat {chat_id}: stored schema v{version}, this release reads up to "
                    f"v{self._schema_version}"
                )
            raise StaleWrite(chat_id, expected_rev, current_rev or None)
        return stored

    async def delete(self, chat_id: int) -> None:
        await self._redis.delete(self._keys.conversation(chat_id))

    async def busy(self, chat_id: int) -> bool:
        """Whether a turn for the chat is running right now (somewhere)."""
        return bool(await self._redis.exists(self._keys.chat_lock(chat_id)))

    def lock(
        self,
        chat_id: int,
        timeout: float = 10.0,
        ttl: timedelta = timedelta(seconds=30),
    ) -> ChatLock:
        """The cross-process lock around load -> handle -> save for one chat."""
        return ChatLock(self._redis, self._keys, chat_id, ttl=ttl, timeout=timeout)

    @contextlib.asynccontextmanager
    async def opened(
        self, chat_id: int, ttl: timedelta = timedelta(seconds=30)
    ) -> AsyncIterator[OpenedChat]:
        """The chat's lock and its stored conversation, taken in one round trip."""
        key = self._keys.conversation(chat_id)
        async with ChatLock(self._redis, self._keys, chat_id, ttl=ttl, fetch=key) as lock:
            yield OpenedChat(self.decode(chat_id, lock.fetched), lock)

    def _encode(self, stored: StoredConversation) -> str:
        envelope = {
            "v": stored.version,
            "rev": stored.rev,
            "data": stored.data,
            "updated": stored.updated,
        }
        return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)

    def decode(self, chat_id: int, raw: bytes | str | None) -> StoredConversation | None:
        """A stored document as read by a caller that fetched it itself (in a pipeline)."""
        if raw is None:
            return None
        envelope = json.loads(raw)
        version = int(envelope["v"])
        if version > self._schema_version:
            raise UnsupportedVersion(
                f"chat {chat_id}: stored schema v{version}, this release reads up to "
                f"v{self._schema_version}"
            )
        return StoredConversation(
            chat_id=chat_id,
            version=version,
            rev=int(envelope["rev"]),
            data=envelope["data"],
            updated=float(envelope["updated"]),
        )
