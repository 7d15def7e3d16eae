"""What each chat was told about its devices after LIVE, and whether it wants to be told.

Per chat, one hash: a field per device with the device as the chat last knew it (under smart
control or not, paused or not, needing a new sign-in or not, the alerts already told), and an
`own` count of the turns in which the customer changed a device from the chat (paused it,
resumed it, removed it) — the next look takes such changes as known instead of telling them
back as news from outside (and a look that read Kraken while one happened sees the count
move). The hash is replaced only after Telegram accepted the message that told what changed,
under the chat lock, so a failed send is told again and a look that runs twice finds nothing
new the second time. `/alerts off` is a separate key without expiry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.state.conversations import ConversationStore
from bot.state.keys import KeySpace
from dialogs.callback_data import Action, decode
from dialogs.events import Event, Tap

# Taps that change what a device's news would say (smart control, or the device itself).
OWN_CHANGES = (Action.DEVICE_YES, Action.DEVICE_RESUME)
# Kept while the chat is watched (every look renews it); a chat gone quiet is forgotten.
TOLD_TTL = timedelta(days=120)
_DEVICE = "dev:"
_OWN = "own"


@dataclass(frozen=True)
class SeenDevice:
    """A device as the chat was last told of it."""

    live: bool
    paused: bool
    reauth: bool
    alerts: tuple[str, ...] = field(default_factory=tuple)
    """Keys of the alerts told (see `alert_key`), only those still active."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> SeenDevice:
        data = json.loads(raw)
        return cls(
            live=bool(data["live"]),
            paused=bool(data["paused"]),
            reauth=bool(data["reauth"]),
            alerts=tuple(data.get("alerts", ())),
        )


@dataclass(frozen=True)
class Told:
    seen: dict[str, SeenDevice]
    """Device id -> what the chat knows; empty before the first look."""
    own_changes: int
    """How many times the customer changed a device in the chat since the last look."""


def alert_key(published_at: str | None, message: str | None) -> str:
    """Kraken's alerts have no id: one is the same alert while its time and text are."""
    digest = hashlib.sha256(f"{published_at}|{message}".encode()).hexdigest()
    return digest[:16]


def changes_device(event: Event) -> bool:
    """Whether the customer's event is one of `OWN_CHANGES`."""
    if not isinstance(event, Tap):
        return False
    pressed = decode(event.data)
    return pressed is not None and pressed.action in OWN_CHANGES


class AlertLedger:
    def __init__(self, redis: Redis, keys: KeySpace, ttl: timedelta = TOLD_TTL) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl

    @classmethod
    def beside(cls, store: ConversationStore) -> AlertLedger:
        """The ledger in the conversations' Redis and key space."""
        return cls(store.redis, store.keys)

    # ---- /alerts on|off

    async def enabled(self, chat_id: int) -> bool:
        return not await self._redis.exists(self._keys.alerts_off(chat_id))

    async def set_enabled(self, chat_id: int, on: bool) -> None:
        if on:
            await self._redis.delete(self._keys.alerts_off(chat_id))
        else:
            await self._redis.set(self._keys.alerts_off(chat_id), "1")

    # ---- what was told (hold the chat lock for all of these)

    async def told(self, chat_id: int) -> Told:
        raw = await self._redis.hgetall(self._keys.alerts_told(chat_id))  # type: ignore[misc]
        seen: dict[str, SeenDevice] = {}
        own = 0
        for name, value in raw.items():
            name = name.decode() if isinstance(name, bytes) else name
            if name == _OWN:
                own = int(value)
            elif name.startswith(_DEVICE):
                seen[name.removeprefix(_DEVICE)] = SeenDevice.from_json(value)
        return Told(seen, own)

    async def record(self, chat_id: int, seen: dict[str, SeenDevice]) -> None:
        """What the chat knows now (and no own change pending): replaces what was kept."""
        key = self._keys.alerts_told(chat_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if seen:
                pipe.hset(key, mapping={f"{_DEVICE}{d}": s.to_json() for d, s in seen.items()})
                pipe.pexpire(key, self._ttl)
            await pipe.execute()

    async def note_own_change(self, chat_id: int) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            self.queue_own_change(pipe, chat_id)
            await pipe.execute()

    def queue_own_change(self, pipe: Pipeline, chat_id: int) -> None:
        """`note_own_change` in a pipeline the caller sends (a turn's release)."""
        key = self._keys.alerts_told(chat_id)
        pipe.hincrby(key, _OWN, 1)
        pipe.pexpire(key, self._ttl)

    async def forget(self, chat_id: int) -> None:
        await self._redis.delete(self._keys.alerts_told(chat_id))
