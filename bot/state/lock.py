"""A per-chat mutex that holds across processes (webhook workers, the notifier).

Acquire is `SET key token NX PX ttl` in a script that also reads what the holder works on
(so a turn takes its chat and loads its conversation in one round trip; a caller may bring a
script of its own that reads more); release and renewal are Lua scripts that act only when
the key still holds our token, so a holder whose lock expired can never release or extend a
lock that another process has taken since. Writes that can wait for the release (the save,
the journal, ...) go out in the release's round trip, and a caller closing several things at
once (an update's chats and its ledger entry) can put the release in its own pipeline.

Waiting: a release pushes one element onto a per-lock list and waiters block in `BLPOP` on
it, so a waiter wakes the moment the lock is free without a polling loop hammering Redis.
The BLPOP timeout is the lock's remaining PTTL (capped by the caller's deadline): a holder
that died sends no release signal, and its lock simply expires, so the waiter retries exactly
when that can first succeed. A release with nobody waiting leaves one element behind (the
list is cleared before each push and expires with the lock TTL), which costs at most one
extra `SET NX` for the next waiter.

Renewal: a background task extends the TTL every third of it while the body runs, so a slow
Kraken call does not let a second worker into the chat, while a crashed process frees the
chat within one TTL. If renewal finds the lock gone the holder cannot be told mid-operation;
`lost` turns true and the conversation store's `rev` check stops the stale write instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.state.keys import KeySpace

log = logging.getLogger(__name__)

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('DEL', KEYS[1])
    redis.call('DEL', KEYS[2])
    redis.call('RPUSH', KEYS[2], '1')
    redis.call('PEXPIRE', KEYS[2], ARGV[2])
    return 1
end
return 0
"""

RENEW_IF_OWNER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# Take the lock and, in the same round trip, read the keys the holder will work on (the
# conversation); when busy, say how long the lock has left (the wait needs it anyway). A
# caller's own acquire script keeps this shape: KEYS[1] the lock, ARGV[1] the token, ARGV[2]
# the TTL; {1, what it read...} when taken, {0, PTTL} when not.
ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    local reply = {1}
    for i = 2, #KEYS do reply[i] = redis.call('GET', KEYS[i]) end
    return reply
end
return {0, redis.call('PTTL', KEYS[1])}
"""

# BLPOP timeouts below Redis's resolution would turn into "block forever" (0) or busy loops.
_MIN_WAIT_S = 0.01


class LockTimeout(Exception):
    """The chat stayed busy for the whole timeout."""


# Told what its writes answered, in order (an exception for a write that failed); may raise,
# and the release raises it once the lock is free.
Then = Callable[[list[object]], Awaitable[None]]


@dataclass(frozen=True)
class _Write:
    queue: Callable[[Pipeline], object]
    failure: str
    then: Then | None


@dataclass
class Release:
    """A lock's release queued in a pipeline: `settle` reads its part of the answers."""

    lock: ChatLock
    writes: list[tuple[_Write, int]]
    count: int

    async def settle(self, answers: Sequence[object]) -> None:
        """Hand each write its answers, then note whether the release happened; the first
        error a write's `then` raised (or the release's own) is raised at the end."""
        errors: list[BaseException] = []
        at = 0
        for write, size in self.writes:
            mine = list(answers[at : at + size])
            at += size
            if write.then is not None:
                try:
                    await write.then(mine)
                except Exception as error:  # raised once every write has been settled
                    errors.append(error)
            for answer in mine:
                if isinstance(answer, Exception):
                    log.warning("%s: %s", write.failure, type(answer).__name__)
        released = answers[at]
        if isinstance(released, Exception):
            errors.insert(0, released)
        elif not released:
            self.lock.lost = True
            log.warning("chat lock expired before release", extra={"chat_id": self.lock.chat_id})
        if errors:
            raise errors[0]


class ChatLock:
    def __init__(
        self,
        redis: Redis,
        keys: KeySpace,
        chat_id: int,
        *,
        ttl: timedelta = timedelta(seconds=30),
        timeout: float = 10.0,
        renew: bool = True,
        fetch: Sequence[str] = (),
        script: str = ACQUIRE,
        args: Sequence[str | int] = (),
    ) -> None:
        self._redis = redis
        self._fetch = list(fetch)
        self._args = list(args)
        self._acquire = redis.register_script(script)
        self._on_release: list[_Write] = []
        self.fetched: list[object] = []
        """What the acquire script read when the lock was taken (for `ACQUIRE`: the values
        of `fetch`, None for a missing key)."""
        self._key = keys.chat_lock(chat_id)
        self._signal = keys.chat_lock_released(chat_id)
        self._ttl_ms = max(1, int(ttl.total_seconds() * 1000))
        self._timeout = timeout
        self._renew = renew
        self._token = secrets.token_hex(16)
        self._renewer: asyncio.Task[None] | None = None
        self.chat_id = chat_id
        self._acquired = False
        self.renewals = 0
        self.lost = False

    @property
    def redis(self) -> Redis:
        return self._redis

    @property
    def held(self) -> bool:
        """True between acquire and release unless renewal found the lock taken away."""
        return self._acquired and not self.lost

    async def acquire(self) -> None:
        deadline = time.monotonic() + self._timeout
        keys = [self._key, *self._fetch]
        args = [self._token, self._ttl_ms, *self._args]
        while True:
            answer = await self._acquire(keys=keys, args=args)
            if answer[0] == 1:
                self.fetched = list(answer[1:])
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LockTimeout(f"chat {self.chat_id} is busy")
            pttl = int(answer[1])
            if pttl < 0:
                continue  # held without a TTL cannot happen; expired meanwhile: try again now
            wait = max(_MIN_WAIT_S, min(remaining, pttl / 1000))
            await self._redis.blpop([self._signal], timeout=wait)  # type: ignore[misc, arg-type]  # Redis takes fractions
        self._acquired = True
        self.lost = False
        if self._renew:
            self._renewer = asyncio.create_task(self._keep_alive(), name=f"renew {self._key}")

    def on_release(
        self, queue: Callable[[Pipeline], object], failure: str, then: Then | None = None
    ) -> None:
        """Send writes with the release, in its round trip. `failure` is logged for a write
        that fails (the release itself does not depend on it); `then`, if given, is told
        what the writes answered once the lock is free."""
        self._on_release.append(_Write(queue, failure, then))

    async def stop_renewing(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None

    def queue_release(self, pipe: Pipeline) -> Release | None:
        """Queue the writes kept for the release, then the release, in `pipe` (call
        `stop_renewing` first); None when the lock is not held."""
        if not self._acquired:
            return None
        self._acquired = False
        queued, self._on_release = self._on_release, []
        writes: list[tuple[_Write, int]] = []
        start = len(pipe.command_stack)
        for write in queued:
            before = len(pipe.command_stack)
            write.queue(pipe)
            writes.append((write, len(pipe.command_stack) - before))
        pipe.eval(_RELEASE, 2, self._key, self._signal, self._token, str(self._ttl_ms))
        return Release(self, writes, len(pipe.command_stack) - start)

    async def release(self) -> None:
        await self.stop_renewing()
        async with self._redis.pipeline(transaction=False) as pipe:
            release = self.queue_release(pipe)
            if release is None:
                return
            answers = await pipe.execute(raise_on_error=False)
        await release.settle(answers)

    async def _keep_alive(self) -> None:
        interval = self._ttl_ms / 3000
        while True:
            await asyncio.sleep(interval)  # a timer is the point here: renew on a schedule
            renewed = await self._redis.eval(  # type: ignore[misc]
                RENEW_IF_OWNER, 1, self._key, self._token, str(self._ttl_ms)
            )
            if not renewed:
                self.lost = True
                log.warning("chat lock lost while held", extra={"chat_id": self.chat_id})
                return
            self.renewals += 1

    async def __aenter__(self) -> ChatLock:
        await self.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.release()
