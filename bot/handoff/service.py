"""Single-use hand-off tokens: support issues one, the customer's `/start <token>` redeems it.

Redis holds only SHA-256 of the token, so a dump or a `MONITOR` of the keyspace cannot be
turned into working links. Next to each record sits a small state key that outlives it
(`issued` -> `used` / `expired`), so a customer who taps an old link is told "already used"
or "expired" instead of a confusing "unknown link". Redemption is one Lua script (reading and
deleting the record plus the state change), so two taps on the same link cannot both succeed.
The same script, told not to consume, lets the chat look at a link before asking the customer
to confirm; revoking a link consumes it without binding anything, so it then reads as "used".
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from bot.handoff.links import token_in
from bot.handoff.request import intent_spec, normalise_account_number, parse_intent
from bot.state.bindings import Binding, revoke_chat
from bot.state.keys import KeySpace
from dialogs.events import Intent

DEFAULT_HANDOFF_TTL = timedelta(days=7)
# How long "used"/"expired" is remembered after a link stops working.
DEFAULT_TOMBSTONE_TTL = timedelta(days=30)
# secrets.token_urlsafe(24) is 32 characters of the deep-link alphabet.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")

# KEYS: record, state. ARGV: now, tombstone ms, '1' to consume (redeem, revoke) or '0' (inspect).
_LOOK = """
local record = redis.call('GET', KEYS[1])
if record then
    if tonumber(cjson.decode(record)['exp']) <= tonumber(ARGV[1]) then
        redis.call('DEL', KEYS[1])
        redis.call('SET', KEYS[2], 'expired', 'KEEPTTL')
        return {'expired'}
    end
    if ARGV[3] == '1' then
        redis.call('DEL', KEYS[1])
        redis.call('SET', KEYS[2], 'used', 'PX', ARGV[2])
    end
    return {'ok', record}
end
local state = redis.call('GET', KEYS[2])
if state == 'used' then return {'used'} end
if state then return {'expired'} end
return {'unknown'}
"""


class HandoffError(Exception):
    """The link cannot bind a chat; the subclass says which message the customer sees."""


class HandoffMalformed(HandoffError):
    """Not something this service could have issued; Redis was not consulted."""


class HandoffUnknown(HandoffError):
    pass


class HandoffExpired(HandoffError):
    pass


class HandoffUsed(HandoffError):
    pass


@dataclass(frozen=True)
class HandoffToken:
    token: str = field(repr=False)
    expires_at: datetime
    account_number: str
    property_id: int | None
    intent: Intent | None


@dataclass(frozen=True)
class HandoffGrant:
    account_number: str
    property_id: int | None
    intent: Intent | None
    issued_at: datetime

    def to_record(self) -> dict[str, Any]:
        """The JSON form kept in Redis (behind the token's hash, or while a switch waits)."""
        return {
            "account": self.account_number,
            "property": self.property_id,
            "intent": intent_spec(self.intent) if self.intent else None,
            "iat": self.issued_at.timestamp(),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> HandoffGrant:
        return cls(
            account_number=record["account"],
            property_id=record["property"],
            intent=parse_intent(record["intent"]) if record["intent"] else None,
            issued_at=datetime.fromtimestamp(record["iat"], UTC),
        )


def new_token() -> str:
    """32 random characters of the deep-link alphabet, never starting with "-", so support
    can paste a bare token as a command-line argument without it reading as an option."""
    while True:
        token = secrets.token_urlsafe(24)
        if not token.startswith("-"):
            return token


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class HandoffService:
    def __init__(
        self,
        redis: Redis,
        ttl: timedelta = DEFAULT_HANDOFF_TTL,
        keys: KeySpace | None = None,
        tombstone_ttl: timedelta = DEFAULT_TOMBSTONE_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._ttl = ttl
        self._keys = keys or KeySpace()
        self._tombstone_ms = int(tombstone_ttl.total_seconds() * 1000)
        self._clock = clock

    @property
    def redis(self) -> Redis:
        return self._redis

    @property
    def keys(self) -> KeySpace:
        return self._keys

    async def issue(
        self, account_number: str, property_id: int | None, intent: Intent | None
    ) -> HandoffToken:
        account_number = normalise_account_number(account_number)
        token = new_token()
        digest = token_hash(token)
        now = self._clock()
        expires = now + self._ttl.total_seconds()
        grant = HandoffGrant(account_number, property_id, intent, datetime.fromtimestamp(now, UTC))
        record = {**grant.to_record(), "exp": expires}
        ttl_ms = int(self._ttl.total_seconds() * 1000)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.handoff(digest), json.dumps(record), px=ttl_ms)
            pipe.set(self._keys.handoff_tombstone(digest), "issued", px=ttl_ms + self._tombstone_ms)
            await pipe.execute()
        return HandoffToken(
            token, datetime.fromtimestamp(expires, UTC), account_number, property_id, intent
        )

    async def redeem(self, token: str) -> HandoffGrant:
        """Consume the token; raises a `HandoffError` subclass if it cannot bind a chat."""
        return _grant(*await self._look(token, consume=True))

    async def inspect(self, token: str) -> HandoffGrant:
        """What `redeem` would answer now (the grant, or the same `HandoffError`), without
        using the link up: for asking the customer to confirm before binding."""
        return _grant(*await self._look(token, consume=False))

    async def revoke(self, token_or_link: str) -> bool:
        """Make a link unusable; afterwards it answers as a used link (`HandoffUsed`).

        Takes the token or the whole t.me link. True if the link was live until now; False if
        it was already used, revoked or expired, or never issued. `HandoffMalformed` if the
        text holds no hand-off token at all.
        """
        token = token_in(token_or_link)
        if not _TOKEN.fullmatch(token):
            raise HandoffMalformed("not a hand-off link or token")
        outcome, _ = await self._look(token, consume=True)
        return outcome == "ok"

    async def redeem_digest(self, digest: str) -> HandoffGrant:
        """`redeem` for a link known only by its hash: a chat that asked "switch account?"
        keeps the hash, never the token, while it waits for the answer."""
        return _grant(*await self._look_digest(digest, consume=True))

    async def revoke_chat(self, chat_id: int) -> Binding | None:
        """Unbind a chat from its account (and drop its conversation and watches); returns
        what it was bound to, or None if it was not bound."""
        return await revoke_chat(self._redis, self._keys, chat_id)

    async def _look(self, token: str, *, consume: bool) -> tuple[str, bytes | None]:
        if not _TOKEN.fullmatch(token):
            raise HandoffMalformed("not a hand-off token")
        return await self._look_digest(token_hash(token), consume=consume)

    async def _look_digest(self, digest: str, *, consume: bool) -> tuple[str, bytes | None]:
        reply = await self._redis.eval(  # type: ignore[misc]
            _LOOK,
            2,
            self._keys.handoff(digest),
            self._keys.handoff_tombstone(digest),
            str(self._clock()),
            str(self._tombstone_ms),
            "1" if consume else "0",
        )
        outcome = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
        return outcome, reply[1] if len(reply) > 1 else None


def _grant(outcome: str, record: bytes | None) -> HandoffGrant:
    if outcome == "used":
        raise HandoffUsed("this link was already used")
    if outcome == "expired":
        raise HandoffExpired("this link has expired")
    if outcome != "ok" or record is None:
        raise HandoffUnknown("this link is not known")
    return HandoffGrant.from_record(json.loads(record))
