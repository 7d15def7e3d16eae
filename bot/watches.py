"""Scheduling the notifier's looks at waiting wizards as durable arq jobs.

One job per waited step (`watch:{wizard}:{step}`), so however many processes ask, arq keeps a
single job; the job re-queues itself with growing delays (`Retry(defer=...)`). Active watches
are also kept in a Redis hash so a restarted worker can re-arm every one of them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from arq.connections import ArqRedis

from bot.state.keys import KeySpace

log = logging.getLogger(__name__)

LOOK_FUNCTION = "look_at_wizard"


@dataclass(frozen=True)
class WatchPolicy:
    """A few seconds at first, then slower, bounded; then give up with a message."""

    first_delay: float = 3.0
    growth: float = 1.5
    max_delay: float = 60.0
    give_up_after: timedelta = timedelta(hours=1)

    def delay(self, attempt: int) -> float:
        """Delay before look number `attempt + 1` (attempt counts from 1)."""
        exponent = min(max(0, attempt - 1), 64)  # past the cap the curve no longer matters
        return float(min(self.max_delay, self.first_delay * self.growth**exponent))

    def max_tries(self) -> int:
        total, tries = 0.0, 0
        while total < self.give_up_after.total_seconds():
            tries += 1
            total += self.delay(tries)
        return max(tries, 1)


_FORGET_IF_STEP = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
    return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


def _member(chat_id: int, wizard_id: str) -> str:
    return f"{chat_id}|{wizard_id}"


class Watches:
    def __init__(self, arq: ArqRedis, keys: KeySpace, policy: WatchPolicy) -> None:
        self._arq = arq
        self._keys = keys
        self.policy = policy

    async def watch(self, chat_id: int, wizard_id: str, step_id: str | None) -> None:
        await self._arq.hset(  # type: ignore[misc]
            self._keys.active_watches(), _member(chat_id, wizard_id), step_id or ""
        )
        await self._enqueue(chat_id, wizard_id, step_id)

    async def forget(self, chat_id: int, wizard_id: str, step_id: str | None = None) -> None:
        """Stop watching; with `step_id`, only if that is still the step being watched (a turn
        may already have started watching the next one)."""
        key, member = self._keys.active_watches(), _member(chat_id, wizard_id)
        if step_id is None:
            await self._arq.hdel(key, member)  # type: ignore[misc]
        else:
            await self._arq.eval(_FORGET_IF_STEP, 1, key, member, step_id or "")  # type: ignore[misc]

    async def rearm(self) -> int:
        """Enqueue a job for every active watch; existing jobs make this a no-op for them."""
        entries = await self._arq.hgetall(self._keys.active_watches())  # type: ignore[misc]
        for member, step in entries.items():
            chat, wizard = member.decode().split("|", 1)
            await self._enqueue(int(chat), wizard, step.decode() or None)
        return len(entries)

    async def _enqueue(self, chat_id: int, wizard_id: str, step_id: str | None) -> None:
        job = await self._arq.enqueue_job(
            LOOK_FUNCTION,
            chat_id,
            wizard_id,
            step_id,
            _job_id=self._keys.watch_job(wizard_id, step_id),
            _queue_name=self._keys.job_queue(),
            _defer_by=self.policy.first_delay,
        )
        if job is None:
            log.debug("watch of wizard %s already scheduled", wizard_id)
