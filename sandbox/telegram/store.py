"""What a chat holds: messages as Telegram keeps them, plus what the user did with them.

Messages are kept in Bot API shape so the same record answers sendMessage, fills an update and
draws the web page. Taps, opened links and callback answers are kept beside them, in order, so
a transcript shows what the user saw and did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.telegram.media import Media

Sender = Literal["bot", "user"]


@dataclass
class Photo:
    file_id: str
    file_unique_id: str
    width: int
    height: int
    size: int
    source_url: str | None = None

    def sizes(self) -> list[dict[str, Any]]:
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "width": self.width,
                "height": self.height,
                "file_size": self.size,
            }
        ]


@dataclass
class StoredMessage:
    message_id: int
    sender: Sender
    from_user: dict[str, Any]
    chat: dict[str, Any]
    date: int
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    photo: Photo | None = None
    media: Media | None = None  # a voice note or an audio file
    link_preview_options: dict[str, Any] | None = None
    edit_date: int | None = None

    @property
    def has_caption(self) -> bool:
        return self.photo is not None or self.media is not None

    def to_api(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.from_user,
            "chat": self.chat,
            "date": self.date,
        }
        if self.has_caption:
            if self.photo is not None:
                message["photo"] = self.photo.sizes()
            if self.media is not None:
                message[self.media.kind] = self.media.to_api()
            if self.text:
                message["caption"] = self.text
            if self.entities:
                message["caption_entities"] = self.entities
        else:
            message["text"] = self.text
            if self.entities:
                message["entities"] = self.entities
            if self.link_preview_options:
                message["link_preview_options"] = self.link_preview_options
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            message["reply_markup"] = self.reply_markup
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        return message


@dataclass
class ChatEvent:
    """Something the user did or was shown outside a message: a tap, a link, a toast."""

    kind: Literal["tap", "open_url", "answer"]
    message_id: int | None
    date: int
    details: dict[str, Any]


@dataclass
class Chat:
    user: dict[str, Any]
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    events: list[ChatEvent] = field(default_factory=list)
    next_message_id: int = 1

    @property
    def chat_id(self) -> int:
        user_id: int = self.user["id"]
        return user_id

    def api_chat(self) -> dict[str, Any]:
        chat = {"id": self.chat_id, "type": "private", "first_name": self.user["first_name"]}
        if "username" in self.user:
            chat["username"] = self.user["username"]
        return chat

    def allocate_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class CallbackQuery:
    query_id: str
    chat_id: int
    message_id: int
    data: str
    created_at: float
    answered: bool = False
