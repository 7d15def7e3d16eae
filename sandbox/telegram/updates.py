"""A bot's pending updates, handed out by getUpdates or by webhook delivery.

One queue per bot: an update stays here until the bot confirms it (a later getUpdates offset) or
the webhook answers 2xx, which is what `pending_update_count` reports. Waiters sleep on one
condition, so a long poll returns the moment an update arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sandbox.telegram.errors import CONFLICT_OTHER_GETUPDATES, BotApiError

DEFAULT_ALLOWED = frozenset({"message", "edited_message", "callback_query"})


@dataclass(frozen=True)
class PendingUpdate:
    update_id: int
    kind: str
    chat_id: int
    payload: dict[str, Any]

    def to_api(self) -> dict[str, Any]:
        return {"update_id": self.update_id, self.kind: self.payload}


class UpdateQueue:
    def __init__(self) -> None:
        self._pending: list[PendingUpdate] = []
        self._next_id = 1
        self._allowed: frozenset[str] | None = None
        self._poll_generation = 0
        self.waiting_pollers = 0
        self.condition = asyncio.Condition()

    @property
    def pending(self) -> list[PendingUpdate]:
        return list(self._pending)

    def set_allowed(self, allowed: Iterable[str] | None) -> None:
        """An empty list means "the default set", as in the Bot API."""
        if allowed is None:
            return
        chosen = frozenset(allowed)
        self._allowed = chosen or None

    def allows(self, kind: str) -> bool:
        return kind in (self._allowed or DEFAULT_ALLOWED)

    async def push(self, kind: str, chat_id: int, payload: dict[str, Any]) -> PendingUpdate | None:
        """Queue an update; kinds the bot did not subscribe to are dropped, as Telegram does."""
        if not self.allows(kind):
            return None
        update = PendingUpdate(self._next_id, kind, chat_id, payload)
        self._next_id += 1
        self._pending.append(update)
        await self.notify()
        return update

    async def notify(self) -> None:
        async with self.condition:
            self.condition.notify_all()

    async def remove(self, update_id: int) -> None:
        self._pending = [u for u in self._pending if u.update_id != update_id]
        await self.notify()

    async def clear(self) -> None:
        self._pending.clear()
        await self.notify()

    def confirm(self, offset: int | None) -> None:
        """Positive offsets confirm every earlier update; negative ones keep only the last -N."""
        if offset is None or offset == 0:
            return
        if offset > 0:
            self._pending = [u for u in self._pending if u.update_id >= offset]
        else:
            self._pending = self._pending[offset:]

    async def get_updates(
        self, offset: int | None, limit: int, wait_s: float
    ) -> list[PendingUpdate]:
        self.confirm(offset)
        self._poll_generation += 1
        mine = self._poll_generation
        async with self.condition:
            self.condition.notify_all()  # an older long poll learns it has been replaced
            if wait_s > 0:

                def ready() -> bool:
                    return bool(self._pending) or mine != self._poll_generation

                self.waiting_pollers += 1
                try:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.condition.wait_for(ready), wait_s)
                finally:
                    self.waiting_pollers -= 1
            if mine != self._poll_generation:
                raise BotApiError(409, CONFLICT_OTHER_GETUPDATES)
        return self._pending[:limit]
