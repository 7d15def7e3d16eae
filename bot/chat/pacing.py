"""Outbound pacing: PTB's AIORateLimiter plus a per-private-chat bucket.

AIORateLimiter paces the bot overall (30/s) and groups (20/min) but has no limit for one
private chat, where Telegram starts answering 429 at about one message a second sustained.
A short burst is allowed so a tap that edits a message and then sends a follow-up is not
slowed down; `retry_after` from Telegram is still honoured by the parent class.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.ext import AIORateLimiter

_MAX_TRACKED_CHATS = 4096


class ChatPacedRateLimiter(AIORateLimiter):
    def __init__(
        self,
        *,
        per_chat_burst: int = 3,
        per_chat_period: float = 3.0,
        max_retries: int = 3,
        **kwargs: Any,
    ) -> None:
        super().__init__(max_retries=max_retries, **kwargs)
        self._per_chat_burst = per_chat_burst
        self._per_chat_period = per_chat_period
        self._chat_limiters: OrderedDict[int, AsyncLimiter] = OrderedDict()

    def _chat_limiter(self, chat_id: int) -> AsyncLimiter:
        limiter = self._chat_limiters.pop(chat_id, None)
        if limiter is None:
            limiter = AsyncLimiter(self._per_chat_burst, self._per_chat_period)
        self._chat_limiters[chat_id] = limiter
        while len(self._chat_limiters) > _MAX_TRACKED_CHATS:
            self._chat_limiters.popitem(last=False)
        return limiter

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = data.get("chat_id")
        if isinstance(chat_id, int) and chat_id > 0 and self._per_chat_burst:
            async with self._chat_limiter(chat_id):
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )
