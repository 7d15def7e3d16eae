"""Putting a Screen in front of the customer: Telegram parameters from the view model, the one
live wizard message edited or a new one sent, and outbound pacing per chat.

Telegram answers an edit with identical content with "message is not modified" — for us that
is success. A message that is gone or no longer editable (deleted, too old, a user message)
falls back to sending, and the new message becomes the live one. Pacing: PTB's
AIORateLimiter paces the bot overall (30/s) and groups (20/min) but has no limit for one
private chat, where Telegram starts answering 429 at about one message a second sustained;
a short burst is allowed so a tap that edits a message and then sends a follow-up is not
slowed down, and `retry_after` from Telegram is still honoured."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.error import BadRequest
from telegram.ext import AIORateLimiter

from dialogs.screen import CallbackButton, Delivery, Screen, UrlButton


@dataclass(frozen=True)
class MessageParts:
    text: str
    reply_markup: InlineKeyboardMarkup | None
    parse_mode: str | None
    link_preview_options: LinkPreviewOptions | None

    def as_kwargs(self) -> dict[str, object]:
        return {
            "text": self.text,
            "reply_markup": self.reply_markup,
            "parse_mode": self.parse_mode,
            "link_preview_options": self.link_preview_options,
        }


def _button(button: CallbackButton | UrlButton) -> InlineKeyboardButton:
    if isinstance(button, UrlButton):
        return InlineKeyboardButton(text=button.label, url=button.url)
    return InlineKeyboardButton(text=button.label, callback_data=button.data)


def render(screen: Screen) -> MessageParts:
    keyboard = [[_button(b) for b in row] for row in screen.keyboard if row]
    return MessageParts(
        text=screen.text,
        reply_markup=InlineKeyboardMarkup(keyboard) if keyboard else None,
        parse_mode=screen.parse_mode or None,
        link_preview_options=LinkPreviewOptions(is_disabled=True)
        if screen.disable_preview
        else None,
    )


log = logging.getLogger(__name__)

_NOT_MODIFIED = "message is not modified"
_GONE = ("message to edit not found", "message can't be edited", "message_id_invalid")


async def show(bot: Bot, chat_id: int, live_message_id: int | None, screen: Screen) -> int:
    """Show `screen`; returns the id of the message that is now the live wizard message."""
    parts = render(screen)
    if screen.delivery is Delivery.EDIT and live_message_id is not None:
        try:
            result = await bot.edit_message_text(
                chat_id=chat_id,
                message_id=live_message_id,
                **parts.as_kwargs(),  # type: ignore[arg-type]
            )
        except BadRequest as exc:
            reason = exc.message.lower()
            if _NOT_MODIFIED in reason:
                return live_message_id
            if not any(gone in reason for gone in _GONE):
                raise
            log.info(
                "live message %s not editable (%s); sending a new one", live_message_id, reason
            )
        else:
            return result.message_id if isinstance(result, Message) else live_message_id
    message = await bot.send_message(chat_id=chat_id, **parts.as_kwargs())  # type: ignore[arg-type]
    return message.message_id


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
