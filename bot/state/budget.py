"""Kraken's request budget, shared by every process on one Redis: a token bucket.

Kraken meters each organisation's API use per hour and answers KT-CT-1199 ("Too many
requests.") past it (see /work/shared/reference/kraken-api.md §3: 100,000 points an hour for
an organisation; the onboarding mutations cost 1 point, our queries a few). Every web process
and every notifier worker spends the same allowance, so the bucket lives in Redis and one Lua
script refills and takes from it atomically, on Redis's clock (no skew between hosts).

Who waits: a customer's tap never does (`RequestKind.USER`): it takes a token even from an
empty bucket, borrowing up to one bucket's worth, so a busy hour slows the notifier, never a
person. Background looks (`RequestKind.BACKGROUND`) only spend above a reserve kept for the
customers and are otherwise told how long to defer — the customer's message comes later and
nothing fails. When Kraken itself says KT-CT-1199, everyone backs off: the bucket is emptied
and blocked for a growing pause (30 s, doubling to 15 minutes), which background work
defers by and user calls wait out (up to `USER_WAIT_CAP_S`, then Kraken decides).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from redis.asyncio import Redis

from bot.state.keys import KeySpace
from kraken.http import RequestDeferred, RequestKind

log = logging.getLogger(__name__)

# What an organisation's 100,000 points an hour buy at up to ten points a request, with room
# left for everything else the organisation runs with the same key.
DEFAULT_REQUESTS_PER_HOUR = 10_000
# The bucket holds a minute of allowance: a burst of taps is served at once.
BURST = timedelta(minutes=1)
# Background work leaves this share of a full bucket for the customers.
USER_RESERVE = 0.25
THROTTLE_FIRST = timedelta(seconds=30)
THROTTLE_MAX = timedelta(minutes=15)
# Customers' requests are spent in the bucket in batches, at most this often per process.
USER_FLUSH_S = 1.0
# A customer's call waits out Kraken's throttling at most this long, then asks anyway.
USER_WAIT_CAP_S = 10.0

_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, cap, reserve = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'blocked')
local tokens = tonumber(b[1]) or cap
local ts = tonumber(b[2]) or now
local blocked = tonumber(b[3]) or 0
tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
local wait = 0
if blocked > now then
  wait = blocked - now
elseif ARGV[4] == 'user' then
  tokens = math.max(tokens - tonumber(ARGV[6] or 1), -cap)
elseif tokens >= reserve + 1 then
  tokens = tokens - 1
else
  wait = math.ceil((reserve + 1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {wait, tostring(tokens)}
"""

_THROTTLED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local strikes = redis.call('HINCRBY', KEYS[1], 'strikes', 1)
local pause = math.min(tonumber(ARGV[1]) * 2 ^ (strikes - 1), tonumber(ARGV[2]))
local blocked = math.max(tonumber(redis.call('HGET', KEYS[1], 'blocked') or 0), now + pause)
local tokens = math.min(tonumber(redis.call('HGET', KEYS[1], 'tokens') or 0), 0)
redis.call('HSET', KEYS[1], 'blocked', blocked, 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return blocked - now
"""

_RECOVERED = """
if redis.call('HGET', KEYS[1], 'strikes') then redis.call('HDEL', KEYS[1], 'strikes') end
return 1
"""


@dataclass(frozen=True)
class BudgetState:
    tokens: float
    blocked_for: float
    """Seconds until Kraken's own throttling is assumed over (0: not throttled)."""


class KrakenBudget:
    """The shared bucket; also the `kraken.http.RequestGate` every Kraken request passes."""

    def __init__(
        self,
        redis: Redis,
        keys: KeySpace | None = None,
        *,
        requests_per_hour: int = DEFAULT_REQUESTS_PER_HOUR,
        burst: timedelta = BURST,
        user_wait_cap: float = USER_WAIT_CAP_S,
    ) -> None:
        if requests_per_hour < 1:
            raise ValueError("requests_per_hour must be at least 1")
        self._redis = redis
        self.key = f"{(keys or KeySpace()).prefix}kraken:budget"
        self.requests_per_hour = requests_per_hour
        self.capacity = max(1.0, requests_per_hour * burst.total_seconds() / 3600)
        self.reserve = self.capacity * USER_RESERVE
        self._rate_per_ms = requests_per_hour / 3_600_000
        # An idle bucket is full again within capacity / rate; keep it a little longer.
        self._ttl_ms = int(2 * self.capacity / self._rate_per_ms) + 60_000
        self._user_wait_cap = user_wait_cap
        self._take = redis.register_script(_TAKE)
        self._owed = 0
        self._flush: asyncio.Task[None] | None = None
        self._blocked_until = 0.0
        self._throttled = redis.register_script(_THROTTLED)
        self._recovered = redis.register_script(_RECOVERED)

    async def take(self, kind: RequestKind, count: int = 1) -> float:
        """Spend one request (`count` customers' requests). Returns 0 when it may go now, else
        the seconds to defer by (a background request, or anyone while Kraken is throttling
        us); nothing was spent then."""
        wait, _ = await self._take(
            keys=[self.key],
            args=[self._rate_per_ms, self.capacity, self.reserve, kind.value, self._ttl_ms, count],
        )
        return int(wait) / 1000

    async def state(self) -> BudgetState:
        """Tokens left now (refilled to this moment) without spending any."""
        raw = await self._redis.hmget(self.key, ["tokens", "ts", "blocked"])  # type: ignore[misc]
        now_s, now_us = await self._redis.time()
        now = now_s * 1000 + now_us // 1000
        tokens = float(raw[0]) if raw[0] is not None else self.capacity
        since = now - int(raw[1]) if raw[1] is not None else 0
        blocked = int(float(raw[2])) if raw[2] is not None else 0
        tokens = min(self.capacity, tokens + max(0, since) * self._rate_per_ms)
        return BudgetState(tokens, max(0, blocked - now) / 1000)

    async def throttled(self) -> float:
        """Kraken said KT-CT-1199: empty the bucket and block everyone; returns the pause."""
        pause = await self._throttled(
            keys=[self.key],
            args=[
                int(THROTTLE_FIRST.total_seconds() * 1000),
                int(THROTTLE_MAX.total_seconds() * 1000),
                self._ttl_ms + int(THROTTLE_MAX.total_seconds() * 1000),
            ],
        )
        return int(pause) / 1000

    async def recovered(self) -> None:
        """A request went through after throttling: the next strike starts short again."""
        await self._recovered(keys=[self.key])

    # ------------------------------------------------------------------ kraken.http.RequestGate

    async def before_request(self, kind: RequestKind) -> None:
        """Background: spend or raise `RequestDeferred`. User: spend, waiting out Kraken's
        own throttling up to the cap (the bucket alone never holds a customer back).

        A customer's request is only counted here, and spent in the bucket by a batch sent
        beside the turn (at most every USER_FLUSH_S, or with the next background take), so a
        tap costs no Redis round trip of its own — unless Kraken is throttling us, which the
        last batch's answer says."""
        if kind is RequestKind.USER and time.monotonic() >= self._blocked_until:
            self._owed += 1
            if self._flush is None or self._flush.done():
                self._flush = asyncio.create_task(self._spend_owed(), name="kraken budget")
            return
        await self._settle_owed()
        waited = 0.0
        while delay := await self.take(kind):
            if kind is not RequestKind.USER:
                raise RequestDeferred(delay)
            if waited >= self._user_wait_cap:
                return  # ask Kraken anyway; if it still refuses, the customer hears so
            step = min(delay, self._user_wait_cap - waited)
            await asyncio.sleep(step)  # a pause Kraken imposed: nothing to await but time
            waited += step

    async def _spend_owed(self) -> None:
        """Spend what customers' requests owe, at most every USER_FLUSH_S (a burst of taps is
        one batch); a Redis failure keeps the debt for the next batch."""
        await asyncio.sleep(USER_FLUSH_S)  # a timer is the point: batch a second's requests
        await self._settle_owed()

    async def _settle_owed(self) -> None:
        owed, self._owed = self._owed, 0
        if not owed:
            return
        try:
            wait = await self.take(RequestKind.USER, owed)
        except Exception as error:  # RedisError and the like: the debt waits for the next one
            self._owed += owed
            log.warning("Kraken request budget not updated: %s", type(error).__name__)
            return
        if wait:  # Kraken is throttling us: customers' requests wait it out again
            self._owed += owed
            self._blocked_until = time.monotonic() + wait

    async def close(self) -> None:
        """Spend what is still owed (a process stopping must not hide its requests)."""
        if self._flush is not None and not self._flush.done():
            self._flush.cancel()
        await self._settle_owed()
