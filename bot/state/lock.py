"""A per-chat mutex that holds across processes (webhook workers, the notifier).

Acquire is `SET key token NX PX ttl` in a script that also reads the key the holder works on
(so a turn takes its chat and loads its conversation in one round trip); release and renewal
are Lua scripts that act only when the key still holds our token, so a holder whose lock
expired can never release or extend a lock that another process has taken since.

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
from collections.abc import Callable
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

# Take the lock and, in the same round trip, read the key the holder will work on (the
# conversation); when busy, say how long the lock has left (the wait needs it anyway).
_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    if KEYS[2] then
        local value = redis.call('GET', KEYS[2])
        if value then return {1, value} end
    end
    return {1}
end
return {0, redis.call('PTTL', KEYS[1])}
"""

# BLPOP timeouts below Redis's resolution would turn into "block forever" (0) or busy loops.
_MIN_WAIT_S = 0.01


class LockTimeout(Exception):
    """The chat stayed busy for the whole timeout."""


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
        fetch: str | None = None,
    ) -> None:
        self._redis = redis
        self._fetch = fetch
        self._acquire = redis.register_script(_ACQUIRE)
        self._on_release: list[tuple[Callable[[Pipeline], object], str]] = []
        self.fetched: bytes | None = None
        """The value of `fetch` read when the lock was taken (None if no such key)."""
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
    def held(self) -> bool:
        """True between acquire and release unless renewal found the lock taken away."""
        return self._acquired and not self.lost

    async def acquire(self) -> None:
        deadline = time.monotonic() + self._timeout
        keys = [self._key, self._fetch] if self._fetch else [self._key]
        while True:
            answer = await self._acquire(keys=keys, args=[self._token, self._ttl_ms])
            if answer[0] == 1:
                self.fetched = answer[1] if len(answer) > 1 else None
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

    def on_release(self, queue: Callable[[Pipeline], object], failure: str) -> None:
        """Send a write with the release, in its round trip (`failure` is logged if it fails;
        the release itself does not depend on it)."""
        self._on_release.append((queue, failure))

    async def release(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None
        if not self._acquired:
            return
        self._acquired = False
        queued, self._on_release = self._on_release, []
        async with self._redis.pipeline(transaction=False) as pipe:
            for queue, _ in queued:
                queue(pipe)
            pipe.eval(_RELEASE, 2, self._key, self._signal, self._token, str(self._ttl_ms))
            *written, released = await pipe.execute(raise_on_error=False)
        for (_, failure), result in zip(queued, written, strict=True):
            if isinstance(result, Exception):
                log.warning("%s: %s", failure, type(result).__name__)
        if isinstance(released, Exception):
            raise released
        if not released:
            self.lost = True
            log.warning("chat lock expired before release", extra={"chat_id": self.chat_id})

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
