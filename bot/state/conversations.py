"""Per-chat conversation documents in Redis, with optimistic concurrency.

The document is opaque JSON produced by the dialogs layer, wrapped in an envelope:
`{"v": schema, "rev": n, "data": {...}, "updated": unix_ts}`. `rev` goes up by one per save
and a save names the rev it read, so two workers that both loaded rev 4 cannot both write
rev 5: the second gets `StaleWrite` and must reload (the chat lock makes that rare; the rev
check makes it harmless when the lock was lost, e.g. a worker paused past the lock's TTL).

A turn opens its chat (`open`: the lock, the conversation, the account's driver and whatever
else the caller reads, in one round trip) and stages its save, which goes out with the
lock's release. Within one Telegram update (`OpenChats`) the update's chat stays open from
the first turn to the end of the update, so every turn the update runs shares one load and
one save, and the release travels with the update's "done" in the ledger: three round trips
for a whole update (claim, open, close).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.state.keys import KeySpace
from bot.state.lock import ChatLock

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DEFAULT_CONVERSATION_TTL = timedelta(days=30)
# Conversations this process saved last, kept as its turns built them (`OpenedChat.latest`).
_WRITTEN_MAX = 10_000


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


# Take the chat's lock (ChatLock's acquire shape) and read, in the same round trip, the
# conversation, the chat's account (the conversation's, else its binding's), the chat that
# drives that account, and any other keys the caller asks for (KEYS[4...]).
_OPEN = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return {0, redis.call('PTTL', KEYS[1])}
end
local raw = redis.call('GET', KEYS[2])
local account = false
if raw then
    local ok, stored = pcall(cjson.decode, raw)
    local data = ok and stored['data']
    if type(data) == 'table' and type(data['account_number']) == 'string' then
        account = data['account_number']
    end
end
if not account then
    local bound = redis.call('GET', KEYS[3])
    if bound then
        local ok, binding = pcall(cjson.decode, bound)
        if ok and type(binding['account']) == 'string' then account = binding['account'] end
    end
end
local driver = false
if account then driver = redis.call('GET', ARGV[3] .. account .. ':driver') end
local reply = {1, raw, account, driver}
for i = 4, #KEYS do reply[#reply + 1] = redis.call('GET', KEYS[i]) end
return reply
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
    """A chat whose lock is held: what was stored when it was taken, the account and its
    driver as read with it, the other keys the opener asked for, and the lock (writes that
    can wait for the release go out with it, the conversation's save among them)."""

    chat_id: int
    stored: StoredConversation | None
    lock: ChatLock
    account: str | None = None
    driver: int | None = None
    """The chat that drove `account` when the chat was opened (None: nobody)."""
    fetched: dict[str, bytes | None] = field(default_factory=dict)
    latest: Any = None
    """What the holder made of the conversation so far (saved with the release)."""
    _save: tuple[dict[str, Any], int] | None = None
    _saving: StoredConversation | None = None

    def stage(self, data: Mapping[str, Any], ttl_ms: int, latest: object) -> None:
        """Save `data` with the release (the last one staged wins)."""
        self._save, self.latest = (dict(data), ttl_ms), latest


class OpenChats:
    """The chat a Telegram update is about, held open from the first turn that opens it to
    the end of the update, so the update's turns (a spoken "I heard …" and the tap it meant,
    a typed name and the turn it starts) share one load, one save and one release — and the
    release carries the update's "done" (`close`). Other chats an update touches (telling the
    account's previous driver) are opened and released on their own, so an update never
    holds two chats at once."""

    def __init__(self, chat_id: int | None) -> None:
        self.chat_id = chat_id
        self.chat: OpenedChat | None = None
        self.closed = False

    def holds(self, chat_id: int) -> bool:
        return not self.closed and chat_id == self.chat_id

    async def open(
        self, store: ConversationStore, chat_id: int, ttl: timedelta, fetch: Sequence[str] = ()
    ) -> OpenedChat:
        chat = self.chat
        if chat is None:
            chat = self.chat = await store.open(chat_id, ttl, fetch=fetch)
            return chat
        for key in fetch:  # asked for by a later turn: rare, one read
            if key not in chat.fetched:
                chat.fetched[key] = await store.redis.get(key)
        return chat

    async def close(self, extra: Callable[[Pipeline], object] | None = None) -> bool:
        """Save, release and run the writes kept for the release, with `extra` in the same
        round trip; False when no chat was opened (the caller sends `extra` itself)."""
        self.closed = True
        chat, self.chat = self.chat, None
        if chat is None:
            return False
        lock = chat.lock
        await lock.stop_renewing()
        async with lock.redis.pipeline(transaction=False) as pipe:
            release = lock.queue_release(pipe)
            if extra is not None:
                extra(pipe)
            answers = await pipe.execute(raise_on_error=False)
        for answer in answers[release.count if release else 0 :]:
            if isinstance(answer, Exception):
                log.warning(
                    "chat %s: a write sent with the release failed: %s", chat.chat_id, answer
                )
        if release is not None:
            await release.settle(answers[: release.count])
        return True


open_chats: ContextVar[OpenChats | None] = ContextVar("open_chats", default=None)
"""The running update's open chat (set by `bot.updates` around each update's handlers)."""


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
        # chat -> ((rev, updated) of our last save of it, what the holder made of it). A chat
        # opened again at that very save gets the holder's object back, not a re-validation
        # of what this process wrote itself; a save from anywhere else changes the pair.
        self._written: dict[int, tuple[tuple[int, float], object]] = {}

    @property
    def redis(self) -> Redis:
        """The connection the store uses (modules keeping per-chat records beside it)."""
        return self._redis

    @property
    def keys(self) -> KeySpace:
        return self._keys

    @property
    def ttl(self) -> timedelta:
        """How long a conversation is kept after its last save."""
        return timedelta(milliseconds=self._ttl_ms)

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
        self._check_saved(chat_id, expected_rev, answer)
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

    async def open(
        self, chat_id: int, ttl: timedelta = timedelta(seconds=30), fetch: Sequence[str] = ()
    ) -> OpenedChat:
        """Take the chat's lock and read its conversation, account, driver and `fetch` in one
        round trip; the caller releases it (`chat.lock.release()`), saving what it staged."""
        keys = [self._keys.conversation(chat_id), self._keys.binding(chat_id), *fetch]
        lock = ChatLock(
            self._redis,
            self._keys,
            chat_id,
            ttl=ttl,
            fetch=keys,
            script=_OPEN,
            args=[self._keys.account_prefix()],
        )
        await lock.acquire()
        raw, account, driver, *extra = lock.fetched
        try:
            stored = self.decode(chat_id, raw)  # type: ignore[arg-type]
        except Exception:
            await lock.release()  # a document this release cannot read: leave the chat free
            raise
        written = self._written.get(chat_id)
        chat = OpenedChat(
            chat_id,
            stored,
            lock,
            latest=written[1] if stored and written and written[0] == _mark(stored) else None,
            account=_text(account),
            driver=int(driver) if driver is not None else None,  # type: ignore[call-overload]
            fetched=dict(zip(fetch, extra, strict=True)),  # type: ignore[arg-type]
        )
        lock.on_release(
            lambda pipe: self._queue_save(pipe, chat),
            f"chat {chat_id}: conversation not saved",
            then=lambda answers: self._saved(chat, answers),
        )
        return chat

    @contextlib.asynccontextmanager
    async def opened(
        self, chat_id: int, ttl: timedelta = timedelta(seconds=30), fetch: Sequence[str] = ()
    ) -> AsyncIterator[OpenedChat]:
        """`open`, released (and saved) when the block ends."""
        chat = await self.open(chat_id, ttl, fetch)
        try:
            yield chat
        finally:
            await chat.lock.release()

    def _queue_save(self, pipe: Pipeline, chat: OpenedChat) -> None:
        if chat._save is None:
            return
        data, ttl_ms = chat._save
        rev = chat.stored.rev if chat.stored else 0
        stored = StoredConversation(
            chat.chat_id, self._schema_version, rev + 1, data, self._clock()
        )
        chat._saving = stored
        key = self._keys.conversation(chat.chat_id)
        pipe.eval(
            _SAVE, 1, key, str(rev), self._encode(stored), str(self._schema_version), str(ttl_ms)
        )

    async def _saved(self, chat: OpenedChat, answers: list[object]) -> None:
        if not answers:
            return
        answer = answers[0]
        if isinstance(answer, Exception):
            raise answer
        self._check_saved(chat.chat_id, chat.stored.rev if chat.stored else 0, answer)
        if chat._saving is not None and chat.latest is not None:
            if len(self._written) >= _WRITTEN_MAX:
                self._written.pop(next(iter(self._written)))
            self._written.pop(chat.chat_id, None)  # newest last: the oldest go first
            self._written[chat.chat_id] = (_mark(chat._saving), chat.latest)

    def _check_saved(self, chat_id: int, expected_rev: int, answer: Any) -> None:
        if answer[0] == 1:
            return
        current_rev, version = int(answer[1]), int(answer[2])
        if version > self._schema_version:
            raise UnsupportedVersion(
                f"chat {chat_id}: stored schema v{version}, this release reads up to "
                f"v{self._schema_version}"
            )
        raise StaleWrite(chat_id, expected_rev, current_rev or None)

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


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _mark(stored: StoredConversation) -> tuple[int, float]:
    """Which save a stored document is: its rev and the moment it was written."""
    return stored.rev, stored.updated
