"""Bounded retries with capped exponential backoff and full jitter.

Full jitter (a uniform delay in [0, cap]) spreads out many clients that failed together, so a
Kraken hiccup is not followed by a synchronised stampede.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from kraken.errors import KrakenError

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

logger = logging.getLogger("kraken.retry")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`max_attempts` calls at most, never sleeping past `max_total` seconds since the first."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_total: float = 30.0

    def delay(self, failures: int, rng: random.Random) -> float:
        """Sleep before the next attempt, after `failures` failed attempts (>= 1)."""
        cap = min(self.max_delay, self.base_delay * 2 ** (failures - 1))
        return rng.uniform(0.0, cap)


class Retrier:
    def __init__(self, policy: RetryPolicy, *, sleep: Sleep, clock: Clock, rng: random.Random):
        self.policy = policy
        self._sleep = sleep
        self._clock = clock
        self._rng = rng

    async def run(
        self,
        call: Callable[[int], Awaitable[T]],
        *,
        retryable: Callable[[KrakenError], bool],
        operation: str,
    ) -> T:
        """Await `call(attempt)` until it succeeds, fails for good, or the budget runs out."""
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                return await call(attempt)
            except KrakenError as exc:
                if not retryable(exc) or attempt >= self.policy.max_attempts:
                    raise
                delay = self.policy.delay(attempt, self._rng)
                if self._clock() - started + delay > self.policy.max_total:
                    raise
                logger.info(
                    "Retrying Kraken call",
                    extra={
                        "operation": operation,
                        "attempt": attempt,
                        "error_code": exc.code,
                        "delay_s": round(delay, 3),
                    },
                )
                await self._sleep(delay)
