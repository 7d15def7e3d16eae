"""Which account a chat belongs to, and which chat drives each account's onboarding.

The conversation document expires after weeks of silence (or is lost with a Redis that keeps
nothing on disk); the binding outlives it so the chat can be rebuilt from Kraken — the
account's resumable wizard — instead of asking the customer for a new support link. It is
renewed whenever the chat is used, so only a chat left alone for the whole TTL loses it.

A forwarded hand-off link can bind a second chat to the same account. Two chats driving one
wizard over each other would each act on steps the other moved, so each account has one
*driver*: the chat that bound it last (or took over with a confirmation). The others keep
their binding and can look, but their wizard actions are refused until they take over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.state.keys import KeySpace

DEFAULT_BINDING_TTL = timedelta(days=90)

# Bind atomically: write the chat's binding, make it the account's driver, and return the
# chat that drove the account before (if it was another chat still bound to that account),
# so exactly one bind tells the previous chat — however many processes race.
_BIND = """
local previous = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
if previous and previous ~= ARGV[2] then
    local other = redis.call('GET', ARGV[4] .. previous)
    if other and cjson.decode(other)['account'] == ARGV[5] then
        return previous
    end
end
return false
"""

# Unbind: drop the binding, and the driver entry only if it names this chat.
_UNBIND = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
redis.call('DEL', KEYS[1])
local account = cjson.decode(raw)['account']
local driver_key = ARGV[2] .. account .. ':driver'
if redis.call('GET', driver_key) == ARGV[1] then redis.call('DEL', driver_key) end
return raw
"""


@dataclass(frozen=True)
class Binding:
    account_number: str
    property_id: int | None


def _encode(binding: Binding) -> str:
    return json.dumps({"account": binding.account_number, "property": binding.property_id})


def _decode(raw: bytes | str) -> Binding:
    data = json.loads(raw)
    return Binding(account_number=str(data["account"]), property_id=data["property"])


# The account's driver is this chat (renewed), or becomes it when nobody drives the account.
_DRIVES = """
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 1
end
return 0
"""


class ChatBindings:
    def __init__(self, redis: Redis, keys: KeySpace, ttl: timedelta = DEFAULT_BINDING_TTL) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl
        self._drives = redis.register_script(_DRIVES)

    @property
    def ttl(self) -> timedelta:
        return self._ttl

    async def bind(self, chat_id: int, binding: Binding) -> int | None:
        """Bind the chat and make it the account's driver; returns the chat that drove the
        account until now when that is another chat still bound to it (to be told)."""
        previous = await self._redis.eval(  # type: ignore[misc]
            _BIND,
            2,
            self._keys.binding(chat_id),
            self._keys.account_driver(binding.account_number),
            _encode(binding),
            str(chat_id),
            str(int(self._ttl.total_seconds() * 1000)),
            self._keys.binding_prefix(),
            binding.account_number,
        )
        return int(previous) if previous else None

    async def get(self, chat_id: int) -> Binding | None:
        """The chat's binding, renewed: a chat in use never loses its account."""
        raw = await self._redis.getex(self._keys.binding(chat_id), ex=self._ttl)
        return _decode(raw) if raw is not None else None

    async def driver(self, account_number: str) -> int | None:
        raw = await self._redis.get(self._keys.account_driver(account_number))
        return int(raw) if raw is not None else None

    async def drives(self, chat_id: int, account_number: str) -> bool:
        """Whether the chat may act on the account's wizard. An account whose driver entry is
        gone (bound before drivers existed, or expired) is driven by whoever acts first."""
        key = self._keys.account_driver(account_number)
        ttl_ms = int(self._ttl.total_seconds() * 1000)
        return bool(await self._drives(keys=[key], args=[str(chat_id), ttl_ms]))

    def queue_renew_driver(self, pipe: Pipeline, chat_id: int, account_number: str) -> None:
        """Renew the driver entry of a chat seen driving the account (`drives` does it for a
        chat that asks); sent with the turn's release. Only if it still names the chat."""
        key = self._keys.account_driver(account_number)
        ttl_ms = int(self._ttl.total_seconds() * 1000)
        pipe.eval(_DRIVES, 1, key, str(chat_id), str(ttl_ms))

    async def take_over(self, chat_id: int, account_number: str) -> int | None:
        """Make the chat the account's driver; returns the chat that drove it before."""
        key = self._keys.account_driver(account_number)
        ttl_ms = int(self._ttl.total_seconds() * 1000)
        previous = await self._redis.set(key, str(chat_id), px=ttl_ms, get=True)
        if previous is None or int(previous) == chat_id:
            return None
        return int(previous)

    async def unbind(self, chat_id: int) -> Binding | None:
        """Forget the chat's account (support revoked it); returns what it was bound to."""
        raw = await self._redis.eval(  # type: ignore[misc]
            _UNBIND, 1, self._keys.binding(chat_id), str(chat_id), self._keys.account_prefix()
        )
        return _decode(raw) if raw else None


async def revoke_chat(redis: Redis, keys: KeySpace, chat_id: int) -> Binding | None:
    """Support's "revoke this chat": the chat loses its account, its conversation, its
    watches and what it was told of its devices (and its /alerts choice), so its next message
    is answered like a stranger's and no device news reaches it. Returns the old binding."""
    binding = await ChatBindings(redis, keys).unbind(chat_id)
    await redis.delete(
        keys.conversation(chat_id), keys.alerts_told(chat_id), keys.alerts_off(chat_id)
    )
    # A device look already queued finds its token gone and stops without reading Kraken.
    await redis.hdel(keys.device_watches(), str(chat_id))  # type: ignore[misc]
    watches = keys.active_watches()
    async for member, _step in redis.hscan_iter(watches, match=f"{chat_id}|*"):
        await redis.hdel(watches, member)  # type: ignore[misc]
    return binding
