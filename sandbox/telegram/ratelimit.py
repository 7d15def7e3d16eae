"""Telegram's flood control: a token bucket per bot and one per chat, on the injected clock."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sandbox.telegram.config import RateLimits


@dataclass
class TokenBucket:
    rate: float
    capacity: float
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = max(self.updated, now)

    def wait_time(self) -> float:
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


class RateLimiter:
    def __init__(self, limits: RateLimits) -> None:
        self._limits = limits
        self._buckets: dict[tuple[str, int | None], TokenBucket] = {}

    def _bucket(self, key: tuple[str, int | None], now: float) -> TokenBucket:
        if key not in self._buckets:
            per_chat = key[1] is not None
            rate = self._limits.chat_per_second if per_chat else self._limits.global_per_second
            burst = self._limits.chat_burst if per_chat else self._limits.global_burst
            self._buckets[key] = TokenBucket(rate, burst, burst, now)
        bucket = self._buckets[key]
        bucket.refill(now)
        return bucket

    def acquire(self, bot: str, chat_id: int, now: float) -> int | None:
        """Spend one message from both buckets, or return the seconds to wait (rounded up)."""
        buckets = [self._bucket((bot, None), now), self._bucket((bot, chat_id), now)]
        wait = max(b.wait_time() for b in buckets)
        if wait > 0:
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.tokens -= 1
        return None

    def reset(self) -> None:
        self._buckets.clear()
