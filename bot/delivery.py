"""Putting a Screen in front of the customer: Telegram parameters from the view model, the one
live wizard message edited or a new one sent, and outbound pacing per chat.

At any moment exactly one message carries wizard buttons: the live one. Before a new message
takes over, the previous live message is *retired*: its buttons are removed (and a progress
footer becomes a tick), so scrolling back shows a record, not places to tap that do nothing.
Telegram may refuse that edit (the message is too old or gone); the new message goes out
anyway. Telegram answers an edit with identical content with "message is not modified" — for
us that is success. A message that is gone or no longer editable falls back to sending.

Pacing: PTB's AIORateLimiter paces the bot overall (30/s) and groups (20/min) but has no
limit for one private chat, where Telegram starts answering 429 at about one message a
second sustained; a short burst is allowed so a tap that edits a message and then sends a
follow-up is not slowed down, and `retry_after` from Telegram is still honoured."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.error import BadRequest, TelegramError
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
        text=with_footer(screen.text, screen.footer),
        reply_markup=InlineKeyboardMarkup(keyboard) if keyboard else None,
        parse_mode=screen.parse_mode or None,
        link_preview_options=LinkPreviewOptions(is_disabled=True)
        if screen.disable_preview
        else None,
    )


log = logging.getLogger(__name__)

_NOT_MODIFIED = "message is not modified"
_GONE = ("message to edit not found", "message can't be edited", "message_id_invalid")


def with_footer(text: str, footer: str | None) -> str:
    return f"{text}\n\n{footer}" if footer else text


DONE_FOOTER = "✓"


@dataclass(frozen=True)
class LiveMessage:
    """What the chat's live message shows, as far as retiring it needs to know."""

    message_id: int | None = None
    buttons: bool = False
    text: str | None = None  # without its footer; set only while it shows one

    @classmethod
    def showing(cls, message_id: int, screen: Screen) -> LiveMessage:
        return cls(message_id, bool(screen.buttons()), screen.text if screen.footer else None)


async def show(bot: Bot, chat_id: int, live: LiveMessage, screen: Screen) -> LiveMessage:
    """Show `screen`: edit the live message, or retire it and send a new one (which becomes
    the live message)."""
    parts = render(screen)
    if screen.delivery is Delivery.EDIT and live.message_id is not None:
        try:
            result = await bot.edit_message_text(
                chat_id=chat_id,
                message_id=live.message_id,
                **parts.as_kwargs(),  # type: ignore[arg-type]
            )
        except BadRequest as exc:
            reason = exc.message.lower()
            if _NOT_MODIFIED in reason:
                return LiveMessage.showing(live.message_id, screen)
            if not any(gone in reason for gone in _GONE):
                raise
            log.info(
                "live message %s not editable (%s); sending a new one", live.message_id, reason
            )
        else:
            message_id = result.message_id if isinstance(result, Message) else live.message_id
            return LiveMessage.showing(message_id, screen)
    await retire(bot, chat_id, live)
    message = await bot.send_message(chat_id=chat_id, **parts.as_kwargs())  # type: ignore[arg-type]
    return LiveMessage.showing(message.message_id, screen)


async def retire(bot: Bot, chat_id: int, live: LiveMessage) -> None:
    """Take the buttons off the live message (its footer becomes a tick); never fails the
    turn: a message too old or gone to edit simply keeps what it had."""
    if live.message_id is None or not (live.buttons or live.text is not None):
        return
    try:
        if live.text is not None:
            await bot.edit_message_text(
                chat_id=chat_id,
                message_id=live.message_id,
                text=with_footer(live.text, DONE_FOOTER),
                parse_mode="HTML",
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_markup=None,
            )
        else:
            await bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=live.message_id, reply_markup=None
            )
    except TelegramError as exc:  # too old, gone, or Telegram having a bad moment
        log.info("could not retire message %s (%s); carrying on", live.message_id, exc.message)


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
        # A chat action ("typing…") is not a message: it must not hold back the answer.
        paced = endpoint != "sendChatAction" and self._per_chat_burst
        if isinstance(chat_id, int) and chat_id > 0 and paced:
            async with self._chat_limiter(chat_id):
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )
