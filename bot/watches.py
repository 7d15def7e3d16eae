"""Scheduling the notifier's looks as durable arq jobs.

Waiting wizards: one job per waited step (`watch:{wizard}:{step}`), so however many processes
ask, arq keeps a single job; the job re-queues itself (`Retry(defer=...)`) by what is awaited
(`WatchPolicy.next_run`): an unknown wait with growing delays; a wait of known length (a test
charge) sleeps until its expected end, waking only to redraw its progress line, then looks
close together and backs off as an unknown wait. Both are reckoned from what the conversation
holds (when its wait began), so a job re-armed after a restart keeps its schedule. Active
watches are also kept in a Redis hash so a restarted worker can re-arm every one of them.

Devices after LIVE (`bot.alerts`): one slow look per chat at a time, for as long as the chat
wants alerts. A look that runs for ever cannot be one arq job retried (a job's key expires a day
after it was queued), so each look queues the next under a fresh token. The hash of watched
chats holds the one token that is current: a look whose token is no longer current (a
duplicate, or one from before `/alerts off`) stops, so at most one chain of looks exists.
"""

from __future__ import annotations

import logging
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from redis.asyncio.client import Pipeline

from bot.state.keys import KeySpace
from bot.state.lock import ChatLock

log = logging.getLogger(__name__)

LOOK_FUNCTION = "look_at_wizard"
DEVICES_FUNCTION = "look_at_devices"


@dataclass(frozen=True)
class WatchPolicy:
    """A few seconds at first, then slower, bounded; then give up with a message."""

    first_delay: float = 3.0
    growth: float = 1.5
    max_delay: float = 60.0
    give_up_after: timedelta = timedelta(hours=1)
    # Devices after LIVE: looked at this often, give or take `alerts_jitter` of it, so that
    # customers who went LIVE at the same minute do not all reach Kraken at the same second.
    alerts_every: timedelta = timedelta(minutes=30)
    alerts_jitter: float = 0.2
    # A wait of known length: this many looks `first_delay` apart from its expected end (the
    # news told within seconds of Kraken's transition), then the unknown wait's curve.
    close_looks: int = 4

    def alerts_delay(self, soon: bool = False) -> float:
        """Seconds before the next look at a chat's devices; `soon`: the news could not be
        told (Telegram failed), so try again well before the usual interval."""
        every = self.alerts_every.total_seconds()
        if soon:
            every = min(every, self.max_delay)
        spread = random.uniform(1 - self.alerts_jitter, 1 + self.alerts_jitter)
        return max(0.0, every * spread)

    def delay(self, attempt: int) -> float:
        """Delay before look number `attempt + 1` (attempt counts from 1)."""
        exponent = min(max(0, attempt - 1), 64)  # past the cap the curve no longer matters
        return float(min(self.max_delay, self.first_delay * self.growth**exponent))

    def next_run(
        self, attempt: int, now: datetime, ends: datetime | None, refresh: datetime | None
    ) -> float:
        """Seconds until a wait's job runs again after run number `attempt`. An unknown wait
        (`ends` None) backs off by its attempts. A wait expected to end at `ends` is left
        alone until then, but for its progress line (due at `refresh`); from `ends` on it is
        looked at `close_looks` times `first_delay` apart, then backs off as an unknown wait
        from its start — by time past the expected end, not by attempts, which the quiet
        runs before it have used."""
        if ends is None:
            return self.delay(attempt)
        if now < ends:
            wake = ends if refresh is None or refresh <= now else min(ends, refresh)
            return (wake - now).total_seconds()
        past = (now - ends).total_seconds() - self.first_delay * self.close_looks
        return self.first_delay if past < 0 else self.delay(self._attempt_at(past))

    def _attempt_at(self, elapsed: float) -> int:
        """The attempt whose delay an unknown wait uses `elapsed` seconds after it began."""
        attempt, total = 1, 0.0
        while (gap := self.delay(attempt)) < self.max_delay and total + gap <= elapsed:
            total += gap
            attempt += 1
        return attempt

    def max_tries(self) -> int:
        total, tries = 0.0, 0
        while total < self.give_up_after.total_seconds():
            tries += 1
            total += self.delay(tries)
        return max(tries, 1)


_WATCH_UNLESS_OFF = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
return redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
"""

_FORGET_IF_STEP = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
    return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


_ADVANCE_IF_TOKEN = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
    return 1
end
return 0
"""


# arq's enqueue in one script: KEYS job, result, queue; ARGV expiry ms, job, score, job id.
_ENQUEUE = """
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('PSETEX', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
"""


def _member(chat_id: int, wizard_id: str) -> str:
    return f"{chat_id}|{wizard_id}"


class Watches:
    def __init__(self, arq: ArqRedis, keys: KeySpace, policy: WatchPolicy) -> None:
        self._arq = arq
        self._keys = keys
        self.policy = policy

    async def watch(self, chat_id: int, wizard_id: str, step_id: str | None) -> None:
        async with self._arq.pipeline(transaction=False) as pipe:
            self._queue_watch(pipe, chat_id, wizard_id, step_id)
            await pipe.execute()

    def watch_on_release(
        self, lock: ChatLock, chat_id: int, wizard_id: str, step_id: str | None
    ) -> None:
        """`watch`, sent with the chat lock's release (the turn that started the wait saves
        the conversation in the same round trip; a process that dies before it did neither)."""
        lock.on_release(
            lambda pipe: self._queue_watch(pipe, chat_id, wizard_id, step_id),
            f"chat {chat_id}: wait on wizard {wizard_id} not watched",
        )

    def _queue_watch(
        self, pipe: Pipeline, chat_id: int, wizard_id: str, step_id: str | None
    ) -> None:
        pipe.hset(self._keys.active_watches(), _member(chat_id, wizard_id), step_id or "")
        self._queue_look(pipe, chat_id, wizard_id, step_id)

    async def forget(self, chat_id: int, wizard_id: str, step_id: str | None = None) -> None:
        """Stop watching; with `step_id`, only if that is still the step being watched (a turn
        may already have started watching the next one)."""
        key, member = self._keys.active_watches(), _member(chat_id, wizard_id)
        if step_id is None:
            await self._arq.hdel(key, member)  # type: ignore[misc]
        else:
            await self._arq.eval(_FORGET_IF_STEP, 1, key, member, step_id or "")  # type: ignore[misc]

    def forget_on_release(self, lock: ChatLock, chat_id: int, wizard_id: str) -> None:
        """`forget`, sent with the chat lock's release, in order with the turn's other
        watches (a turn may stop one wait and start another)."""
        member = _member(chat_id, wizard_id)
        lock.on_release(
            lambda pipe: pipe.hdel(self._keys.active_watches(), member),
            f"chat {chat_id}: wait on wizard {wizard_id} not forgotten",
        )

    async def rearm(self) -> int:
        """Enqueue a job for every active watch and every watched chat's devices; existing
        jobs make this a no-op for them."""
        entries = await self._arq.hgetall(self._keys.active_watches())  # type: ignore[misc]
        for member, step in entries.items():
            chat, wizard = member.decode().split("|", 1)
            await self._enqueue(int(chat), wizard, step.decode() or None)
        watched = await self._arq.hgetall(self._keys.device_watches())  # type: ignore[misc]
        for chat, token in watched.items():
            await self._enqueue_devices(int(chat), token.decode(), self.policy.alerts_delay())
        return len(entries) + len(watched)

    # ------------------------------------------------------------ devices after LIVE

    async def watch_devices(self, chat_id: int, *, spread: bool = False) -> bool:
        """Start the slow looks at the chat's devices unless they are running or the chat
        turned alerts off (`/alerts off`, checked in the same round trip); whether this
        started them. Call it holding the chat lock (as turns do). `spread`: the first look
        anywhere within one interval (many chats armed at once)."""
        token = secrets.token_hex(6)
        async with self._arq.pipeline(transaction=False) as pipe:
            self._queue_watch_devices(pipe, chat_id, token)
            if not (await pipe.execute())[0]:
                return False
        every = self.policy.alerts_every.total_seconds()
        first = random.uniform(0, every) if spread else self.policy.alerts_delay()
        await self._enqueue_devices(chat_id, token, first)
        return True

    def watch_devices_on_release(self, lock: ChatLock, chat_id: int) -> None:
        """`watch_devices`, its check sent with the chat lock's release (a turn's last round
        trip); the first look is queued only when this started the watch. A process that
        dies in between leaves the watch in the hash, and the next start-up's re-arm queues
        its look."""
        token = secrets.token_hex(6)

        async def started(answers: list[object]) -> None:
            if answers and answers[0] == 1:  # started here: its first look (one round trip)
                await self._enqueue_devices(chat_id, token, self.policy.alerts_delay())

        lock.on_release(
            lambda pipe: self._queue_watch_devices(pipe, chat_id, token),
            f"chat {chat_id}: device watch not armed",
            then=started,
        )

    def _queue_watch_devices(self, pipe: Pipeline, chat_id: int, token: str) -> None:
        """The watch taken unless it runs or alerts are off; answers 1 when this took it."""
        keys = (self._keys.device_watches(), self._keys.alerts_off(chat_id))
        pipe.eval(_WATCH_UNLESS_OFF, 2, *keys, str(chat_id), token)

    async def device_watch_token(self, chat_id: int) -> str | None:
        token = await self._arq.hget(self._keys.device_watches(), str(chat_id))  # type: ignore[misc]
        return token.decode() if token is not None else None

    async def next_device_look(
        self, chat_id: int, token: str, *, soon: bool = False, delay: float | None = None
    ) -> bool:
        """From the look `token`, queue the next one; False when `token` is no longer current
        (that chain was stopped or replaced). Hold the chat lock. `delay` overrides the
        policy (the Kraken request budget said when)."""
        following = secrets.token_hex(6)
        advanced = await self._arq.eval(  # type: ignore[misc]
            _ADVANCE_IF_TOKEN, 1, self._keys.device_watches(), str(chat_id), token, following
        )
        if not advanced:
            return False
        wait = self.policy.alerts_delay(soon) if delay is None else delay
        await self._enqueue_devices(chat_id, following, wait)
        return True

    async def ensure_device_look(self, chat_id: int) -> None:
        """A look that is not current makes sure the current one is queued (it may have been
        lost between the hash's change and its enqueue)."""
        token = await self.device_watch_token(chat_id)
        if token is not None:
            await self._enqueue_devices(chat_id, token, self.policy.alerts_delay())

    async def forget_devices(self, chat_id: int, token: str | None = None) -> None:
        """Stop the looks at the chat's devices (with `token`: only if it is still current)."""
        key = self._keys.device_watches()
        if token is None:
            await self._arq.hdel(key, str(chat_id))  # type: ignore[misc]
        else:
            await self._arq.eval(_FORGET_IF_STEP, 1, key, str(chat_id), token)  # type: ignore[misc]

    async def _enqueue_devices(self, chat_id: int, token: str, delay: float) -> None:
        async with self._arq.pipeline(transaction=False) as pipe:
            self._queue_device_look(pipe, chat_id, token, delay)
            await pipe.execute()

    def _queue_device_look(self, pipe: Pipeline, chat_id: int, token: str, delay: float) -> None:
        job_id = self._keys.device_watch_job(chat_id, token)
        self._queue_job(pipe, DEVICES_FUNCTION, (chat_id, token), job_id, delay)

    async def _enqueue(self, chat_id: int, wizard_id: str, step_id: str | None) -> None:
        async with self._arq.pipeline(transaction=False) as pipe:
            self._queue_look(pipe, chat_id, wizard_id, step_id)
            if not (await pipe.execute())[0]:
                log.debug("watch of wizard %s already scheduled", wizard_id)

    def _queue_look(
        self, pipe: Pipeline, chat_id: int, wizard_id: str, step_id: str | None
    ) -> None:
        job_id = self._keys.watch_job(wizard_id, step_id)
        args = (chat_id, wizard_id, step_id)
        self._queue_job(pipe, LOOK_FUNCTION, args, job_id, self.policy.first_delay)

    def _queue_job(
        self, pipe: Pipeline, function: str, args: tuple[object, ...], job_id: str, delay: float
    ) -> None:
        """arq's `enqueue_job` (the same job, key and score; nothing if the id is queued or
        has a result) as one script in the caller's pipeline, instead of its three round
        trips (WATCH, EXISTS, MULTI/EXEC)."""
        now_ms = timestamp_ms()
        score = now_ms + round(delay * 1000)
        expires_ms = score - now_ms + self._arq.expires_extra_ms
        job = serialize_job(function, args, {}, None, now_ms, serializer=self._arq.job_serializer)
        keys = (job_key_prefix + job_id, result_key_prefix + job_id, self._keys.job_queue())
        pipe.eval(_ENQUEUE, 3, *keys, str(expires_ms), job, str(score), job_id)  # type: ignore[arg-type]
