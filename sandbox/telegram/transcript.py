"""A chat as the user sees it, as JSON for tests and the page, or as lines for a human."""

from __future__ import annotations

from typing import Any

from sandbox.telegram.emulator import BotWorld, Emulator
from sandbox.telegram.keyboard import inline_buttons
from sandbox.telegram.store import Chat, ChatEvent, StoredMessage


def photo_url(world: BotWorld, message: StoredMessage) -> str | None:
    photo = message.photo
    if photo is None:
        return None
    return photo.source_url or f"/sim/files/{world.username}/{photo.file_id}"


def media_json(world: BotWorld, message: StoredMessage) -> dict[str, Any] | None:
    media = message.media
    if media is None:
        return None
    return {
        "kind": media.kind,
        "file_id": media.file_id,
        "url": f"/sim/files/{world.username}/{media.file_id}",
        "duration": media.duration,
        "mime_type": media.mime_type,
        "size": media.size,
        "file_name": media.file_name,
    }


def message_json(world: BotWorld, message: StoredMessage) -> dict[str, Any]:
    photo = message.photo
    return {
        "id": message.message_id,
        "from": message.sender,
        "date": message.date,
        "text": message.text,
        "entities": message.entities,
        "buttons": [
            [
                {k: v for k, v in button.items() if k in ("text", "callback_data", "url")}
                for button in row
            ]
            for row in inline_buttons(message.reply_markup)
        ],
        "edited": message.edit_date is not None,
        "photo": None
        if photo is None
        else {
            "file_id": photo.file_id,
            "url": photo_url(world, message),
            "width": photo.width,
            "height": photo.height,
        },
        "voice": media_json(world, message)
        if message.media and message.media.kind == "voice"
        else None,
        "audio": media_json(world, message)
        if message.media and message.media.kind == "audio"
        else None,
    }


def event_json(event: ChatEvent) -> dict[str, Any]:
    return {"kind": event.kind, "message_id": event.message_id, "date": event.date, **event.details}


def transcript_json(emulator: Emulator, world: BotWorld, user_id: int) -> dict[str, Any]:
    chat = world.chats.get(user_id)
    messages = _ordered(chat)
    return {
        "bot": world.username,
        "user_id": user_id,
        "user": chat.user if chat else None,
        "version": emulator.feed.chat_version(world.username, user_id),
        "messages": [message_json(world, m) for m in messages],
        "events": [event_json(e) for e in chat.events] if chat else [],
    }


def transcript_text(world: BotWorld, user_id: int) -> str:
    chat = world.chats.get(user_id)
    lines: list[str] = []
    for message in _ordered(chat):
        lines.extend(_message_lines(message))
        lines.extend(_event_line(e) for e in (chat.events if chat else []) if _about(e, message))
    return "\n".join(lines)


def _ordered(chat: Chat | None) -> list[StoredMessage]:
    return sorted(chat.messages.values(), key=lambda m: m.message_id) if chat else []


def _about(event: ChatEvent, message: StoredMessage) -> bool:
    return event.message_id == message.message_id


def _message_lines(message: StoredMessage) -> list[str]:
    who = message.sender + (" (edited)" if message.edit_date is not None else "")
    body = message.text
    if message.photo is not None:
        body = f"[photo {message.photo.width}x{message.photo.height}] {body}".rstrip()
    if message.media is not None:
        minutes, seconds = divmod(message.media.duration, 60)
        body = f"[{message.media.kind} {minutes}:{seconds:02d}] {body}".rstrip()
    first, *rest = body.split("\n") or [""]
    lines = [f"[{message.message_id}] {who}: {first}", *(f"    {line}" for line in rest)]
    for row in inline_buttons(message.reply_markup):
        lines.append("    " + " ".join(_button_label(b) for b in row))
    return lines


def _button_label(button: dict[str, Any]) -> str:
    return f"[{button['text']} ↗]" if "url" in button else f"[{button['text']}]"


def _event_line(event: ChatEvent) -> str:
    details = event.details
    if event.kind == "tap":
        return f"    > tapped [{details['label']}]"
    if event.kind == "open_url":
        return f"    > opened {details['url']}"
    if details.get("url"):
        return f"    < answered with link {details['url']}"
    if not details.get("text"):
        return "    < answered"
    kind = "alert" if details.get("show_alert") else "toast"
    return f"    < {kind}: {details['text']}"
