"""A version counter over chat changes, so watchers wait for news instead of polling.

Every change to a chat bumps the global version and remembers which chat it touched. The web
page's event stream, `/sim/wait` and `SimClient.wait_for` all sleep on the same condition.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

ChatKey = tuple[str, int]


@dataclass(frozen=True)
class Change:
    version: int
    bot: str
    user_id: int


class ChangeFeed:
    def __init__(self, history: int = 1000) -> None:
        self.version = 0
        self._chat_versions: dict[ChatKey, int] = {}
        self._recent: deque[Change] = deque(maxlen=history)
        self._condition = asyncio.Condition()

    def chat_version(self, bot: str, user_id: int) -> int:
        return self._chat_versions.get((bot, user_id), 0)

    async def bump(self, bot: str, user_id: int) -> int:
        self.version += 1
        self._chat_versions[(bot, user_id)] = self.version
        self._recent.append(Change(self.version, bot, user_id))
        async with self._condition:
            self._condition.notify_all()
        return self.version

    async def wait(self, after: int, wait_s: float, key: ChatKey | None = None) -> int:
        """Return the version once something (in `key`'s chat, if given) changed after `after`."""

        def seen() -> int:
            return self._chat_versions.get(key, 0) if key else self.version

        async with self._condition:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._condition.wait_for(lambda: seen() > after), wait_s)
        return seen()

    async def stream(self, keepalive_s: float = 15.0) -> AsyncIterator[list[Change]]:
        """Yield batches of changes as they happen; an empty batch is a keep-alive tick."""
        last = self.version
        while True:
            current = await self.wait(last, keepalive_s)
            batch = [c for c in self._recent if c.version > last]
            last = current
            yield batch
