"""What happened to each Telegram update, and how fast each chat is sending them.

The ledger: an update is *done* only when its turn has finished. While a process handles
it, a short lease (renewed as the turn runs) says so, and the update's JSON waits in an
inbox; a process that dies mid-turn leaves the lease to expire and the inbox entry behind,
and any live process hands the update to the pipeline again (`orphans`). A redelivery by
Telegram of an update that is done, or is being handled right now, is dropped; one whose
handler died is handled. `tries` counts the attempts, so a replayed turn can tell that its
first attempt may have reached Kraken, and an update that kills every process that takes it
is given up after a few attempts instead of looping forever.

The rate: a fixed window per chat (INCR + EXPIRE), and a "told once" flag per window so a
flood gets one explanation, not one per update.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.state.keys import KeySpace
from bot.state.lock import RENEW_IF_OWNER

# Telegram keeps undelivered updates for 24 hours; a record older than that cannot be hit.
DEFAULT_DONE_TTL = timedelta(days=1)
# Like the chat lock: renewed every third while the turn runs, so a dead process's update is
# picked up again within seconds.
DEFAULT_LEASE_TTL = timedelta(seconds=10)
# An update nobody finished within this long is dropped from the inbox (its chat moved on).
INBOX_TTL = timedelta(hours=1)
MAX_TRIES = 3
# Updates the webhook claimed that the processor has not taken yet; beyond this many (a
# processor that stopped taking them), the oldest are let go to the sweeper.
_RECEIVED_MAX = 10_000

_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
if not redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {-1} end
local tries = redis.call('HINCRBY', KEYS[3], 'tries', 1)
if ARGV[3] ~= '' then redis.call('HSETNX', KEYS[3], 'raw', ARGV[3]) end
redis.call('EXPIRE', KEYS[3], ARGV[5])
redis.call('ZADD', KEYS[4], 'NX', ARGV[4], ARGV[6])
redis.call('EXPIRE', KEYS[4], ARGV[5])
if not KEYS[5] then return {tries} end
local sent = redis.call('INCR', KEYS[5])
redis.call('EXPIRE', KEYS[5], ARGV[7])
return {tries, sent, redis.call('EXISTS', KEYS[6])}
"""

_FINISH = """
redis.call('SET', KEYS[1], '1', 'EX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[3])
return 1
"""


class ClaimResult(Enum):
    CLAIMED = "claimed"
    DONE = "done"  # handled before: a redelivery
    RUNNING = "running"  # another process (or task) is handling it right now


@dataclass(frozen=True)
class Claim:
    update_id: int
    result: ClaimResult
    token: str = ""
    tries: int = 0
    sent_in_window: int | None = None
    """The chat's updates in the rate window, this one included (counted with the claim)."""
    chat_busy: bool | None = None
    """Whether a turn held the chat's lock when the update was claimed."""

    @property
    def replayed(self) -> bool:
        """An earlier attempt started and never finished: it may have reached Kraken."""
        return self.tries > 1


class UpdateLedger:
    def __init__(
        self,
        redis: Redis,
        bot_id: int,
        keys: KeySpace | None = None,
        *,
        done_ttl: timedelta = DEFAULT_DONE_TTL,
        lease_ttl: timedelta = DEFAULT_LEASE_TTL,
        rate: ChatRate | None = None,
    ) -> None:
        self._redis = redis
        self._claim = redis.register_script(_CLAIM)
        self._received: dict[int, tuple[Claim, float]] = {}
        self.clock: Callable[[], float] = time.monotonic
        """Times how long a received update waited for the processor (tests move it)."""
        self.rate = rate
        """Counted in the claim's round trip, for updates that name their chat."""
        self._bot_id = bot_id
        self._keys = keys or KeySpace()
        self._done_s = int(done_ttl.total_seconds())
        self.lease_ms = max(1, int(lease_ttl.total_seconds() * 1000))
        self._inbox_s = int(INBOX_TTL.total_seconds())

    def _update_keys(self, update_id: int) -> list[str]:
        keys = self._keys
        return [
            keys.update(self._bot_id, update_id),
            keys.update_lease(self._bot_id, update_id),
            keys.update_body(self._bot_id, update_id),
            keys.update_inbox(self._bot_id),
        ]

    async def receive(self, update_id: int, raw: str, chat_id: int | None) -> Claim:
        """A webhook update, before Telegram is answered: into the inbox and claimed for this
        process in one round trip (the processor takes the claim over with `received`)."""
        claim = await self.claim(update_id, raw, chat_id)
        if claim.result is ClaimResult.CLAIMED:
            if len(self._received) >= _RECEIVED_MAX:
                self._received.pop(next(iter(self._received)))  # the sweeper will have it
            self._received[update_id] = (claim, self.clock())
        return claim

    async def received(self, update_id: int) -> Claim | None:
        """The webhook's claim of the update (None: not claimed on receipt, claim it now).
        A claim that waited in the queue past a third of its lease is renewed first; one
        already lapsed may be another process's now, and comes back as RUNNING."""
        entry = self._received.pop(update_id, None)
        if entry is None:
            return None
        claim, at = entry
        if self.clock() - at > self.lease_ms / 3000 and not await self.renew(claim):
            return Claim(update_id, ClaimResult.RUNNING)
        return claim

    async def claim(self, update_id: int, raw: str = "", chat_id: int | None = None) -> Claim:
        """Claim the update; with `chat_id` (and a rate), the same round trip counts it in the
        chat's rate window and tells whether the chat is busy — what admission asks next.
        `raw` is the update's JSON for the inbox."""
        token = secrets.token_hex(8)
        keys = self._update_keys(update_id)
        args: list[str | int] = [token, self.lease_ms, raw, self._inbox_s, _now_ms(), update_id]
        if chat_id is not None and self.rate is not None:
            keys += [self.rate.key(chat_id), self._keys.chat_lock(chat_id)]
            args.append(self.rate.window_s * 2)
        reply = await self._claim(keys=keys, args=args)
        tries = int(reply[0])
        if tries == 0:
            return Claim(update_id, ClaimResult.DONE)
        if tries < 0:
            return Claim(update_id, ClaimResult.RUNNING)
        if len(reply) == 1:
            return Claim(update_id, ClaimResult.CLAIMED, token, tries)
        return Claim(update_id, ClaimResult.CLAIMED, token, tries, int(reply[1]), bool(reply[2]))

    async def renew(self, claim: Claim) -> bool:
        lease = self._keys.update_lease(self._bot_id, claim.update_id)
        return bool(
            await self._redis.eval(RENEW_IF_OWNER, 1, lease, claim.token, str(self.lease_ms))  # type: ignore[misc]
        )

    async def finish(self, claim: Claim) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            self.queue_finish(pipe, claim)
            await pipe.execute()

    def queue_finish(self, pipe: Pipeline, claim: Claim) -> None:
        """`finish` in a pipeline the caller sends (with the update's chat's release)."""
        keys = self._update_keys(claim.update_id)
        pipe.eval(_FINISH, 4, *keys, claim.token, str(self._done_s), str(claim.update_id))

    async def orphans(self, older_than: timedelta, limit: int = 50) -> list[tuple[int, str]]:
        """Updates in the inbox that nobody is handling (their handler died), oldest first.
        Entries that finished or whose body expired are cleaned up on the way."""
        inbox = self._keys.update_inbox(self._bot_id)
        cutoff = _now_ms() - int(older_than.total_seconds() * 1000)
        members = await self._redis.zrangebyscore(inbox, "-inf", cutoff, start=0, num=limit)
        found: list[tuple[int, str]] = []
        for member in members:
            update_id = int(member)
            done, lease, body = self._update_keys(update_id)[:3]
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.exists(done)
                pipe.exists(lease)
                pipe.hget(body, "raw")
                is_done, is_leased, raw = await pipe.execute()
            if is_done or raw is None:
                await self._redis.zrem(inbox, member)
            elif not is_leased:
                found.append((update_id, raw.decode() if isinstance(raw, bytes) else str(raw)))
        return found

    async def pending(self) -> int:
        """Updates received and not finished (a gauge for operators)."""
        return int(await self._redis.zcard(self._keys.update_inbox(self._bot_id)))


class ChatRate:
    """At most `limit` updates per chat per `window`; beyond that, one explanation per window."""

    def __init__(
        self,
        redis: Redis,
        keys: KeySpace,
        *,
        limit: int = 30,
        window: timedelta = timedelta(seconds=30),
    ) -> None:
        self._redis = redis
        self._keys = keys
        self.limit = limit
        self.window_s = max(1, int(window.total_seconds()))

    def key(self, chat_id: int) -> str:
        """The chat's counter for the current window."""
        return self._keys.chat_rate(chat_id, int(time.time()) // self.window_s)

    async def allow(self, chat_id: int, counted: int | None = None) -> bool:
        """Whether the chat is within its rate; `counted`: already counted (by the claim)."""
        if counted is None:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(self.key(chat_id))
                pipe.expire(self.key(chat_id), self.window_s * 2)
                counted, _ = await pipe.execute()
        return int(counted) <= self.limit

    async def first_notice(self, chat_id: int, what: str, interval: timedelta) -> bool:
        """True once per `interval` per chat and kind (`what`): whether to say it now."""
        key = self._keys.chat_notice(chat_id, what)
        return bool(
            await self._redis.set(key, 1, nx=True, ex=max(1, int(interval.total_seconds())))
        )


def _now_ms() -> int:
    return int(time.time() * 1000)
