"""Putting a screen in front of the user: edit the one live wizard message or send a new one.

Telegram answers an edit with identical content with "message is not modified" — for us that
is success. A message that is gone or no longer editable (deleted, too old, a user message)
falls back to sending, and the new message becomes the live one.
"""

from __future__ import annotations

import logging

from telegram import Bot, Message
from telegram.error import BadRequest

from bot.chat.render import render
from dialogs.screen import Delivery, Screen

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
