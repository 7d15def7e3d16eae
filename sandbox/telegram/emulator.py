"""The emulated Telegram: bots, their chats and update queues, the outbox, faults and limits.

Both faces of the emulator work on this one object: the Bot API handlers act as the bot, the
/sim handlers act as users. Everything runs on one event loop, so state needs no locks; waiting
is done on conditions (updates, webhook, change feed), never by sleeping.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from sandbox.telegram.changes import ChangeFeed
from sandbox.telegram.config import BotIdentity, EmulatorConfig
from sandbox.telegram.errors import CHAT_NOT_FOUND, bad_request
from sandbox.telegram.faults import FaultBook
from sandbox.telegram.keyboard import inline_buttons
from sandbox.telegram.media import Media, UserAudio
from sandbox.telegram.ratelimit import RateLimiter
from sandbox.telegram.store import CallbackQuery, Chat, ChatEvent, Photo, StoredMessage
from sandbox.telegram.updates import UpdateQueue
from sandbox.telegram.webhook import WebhookDelivery

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


class SimError(Exception):
    """A /sim request that cannot be carried out (no such chat, no such button)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class StoredFile:
    """A file Telegram keeps: a photo, a voice note or an audio file (`data` None for a photo
    sent by URL, which Telegram fetched elsewhere)."""

    photo: Photo | None
    content_type: str
    data: bytes | None
    kind: str = "photo"
    file_unique_id: str = ""
    file_path: str | None = None
    media: Media | None = None


@dataclass
class OutboxEntry:
    seq: int
    bot: str
    method: str
    params: dict[str, Any]
    response: dict[str, Any]
    date: float

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "bot": self.bot,
            "method": self.method,
            "params": self.params,
            "response": self.response,
            "date": self.date,
        }


@dataclass
class BotWorld:
    """Everything Telegram keeps for one bot."""

    identity: BotIdentity
    chats: dict[int, Chat] = field(default_factory=dict)
    queue: UpdateQueue = field(default_factory=UpdateQueue)
    webhook: WebhookDelivery | None = None
    commands: dict[tuple[str, str], list[dict[str, str]]] = field(default_factory=dict)
    callback_queries: dict[str, CallbackQuery] = field(default_factory=dict)
    files: dict[str, StoredFile] = field(default_factory=dict)
    file_paths: dict[str, str] = field(default_factory=dict)  # getFile path -> file_id

    @property
    def username(self) -> str:
        return self.identity.username

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.identity.bot_id,
            "is_bot": True,
            "first_name": self.identity.first_name,
            "username": self.identity.username,
        }

    def chat(self, chat_id: int | None) -> Chat:
        if chat_id is None or chat_id not in self.chats:
            raise bad_request(CHAT_NOT_FOUND)
        return self.chats[chat_id]


class Emulator:
    def __init__(self, config: EmulatorConfig) -> None:
        if not config.bots:
            raise ValueError("the emulator needs at least one bot token")
        self.config = config
        self.worlds = {bot.token: BotWorld(bot) for bot in config.bots}
        self.feed = ChangeFeed()
        self.faults = FaultBook()
        self.limiter = RateLimiter(config.rate_limits)
        self.outbox: list[OutboxEntry] = []

    def now(self) -> float:
        return self.config.clock()

    def world(self, bot: str | None = None) -> BotWorld:
        """The bot named by username (the first bot when none is named)."""
        if bot is None:
            return next(iter(self.worlds.values()))
        for world in self.worlds.values():
            if world.username == bot.lstrip("@"):
                return world
        raise SimError(404, f"no bot named {bot!r}")

    async def changed(self, world: BotWorld, chat_id: int) -> None:
        await self.feed.bump(world.username, chat_id)

    def record(
        self, world: BotWorld, method: str, params: dict[str, Any], response: dict[str, Any]
    ) -> None:
        seq = len(self.outbox) + 1
        self.outbox.append(OutboxEntry(seq, world.username, method, params, response, self.now()))

    # The user's side ---------------------------------------------------------------------------

    async def user_says(
        self, world: BotWorld, user_id: int, text: str, profile: dict[str, str]
    ) -> tuple[StoredMessage, int | None]:
        """`profile` (first_name, language_code...) updates what the bot learns of the user."""
        if not text:
            raise SimError(400, "text is required")
        return await self._user_message(world, user_id, profile, text, None)

    async def user_sends_audio(
        self,
        world: BotWorld,
        user_id: int,
        audio: UserAudio,
        profile: dict[str, str],
        caption: str = "",
    ) -> tuple[StoredMessage, int | None]:
        """A voice note (already OGG/Opus) or an audio file from the user."""
        media = audio.media
        world.files[media.file_id] = StoredFile(
            None, media.mime_type, audio.data, media.kind, media.file_unique_id, media=media
        )
        return await self._user_message(world, user_id, profile, caption, media)

    async def _user_message(
        self,
        world: BotWorld,
        user_id: int,
        profile: dict[str, str],
        text: str,
        media: Media | None,
    ) -> tuple[StoredMessage, int | None]:
        chat = self._chat_for(world, user_id, profile)
        message = StoredMessage(
            message_id=chat.allocate_id(),
            sender="user",
            from_user=dict(chat.user),
            chat=chat.api_chat(),
            date=int(self.now()),
            text=text,
            entities=_command_entities(text) if media is None else [],
            media=media,
        )
        chat.messages[message.message_id] = message
        update = await world.queue.push("message", chat.chat_id, message.to_api())
        await self.changed(world, chat.chat_id)
        return message, update.update_id if update else None

    async def user_taps(
        self,
        world: BotWorld,
        user_id: int,
        *,
        label: str | None,
        data: str | None,
        message_id: int | None,
    ) -> tuple[CallbackQuery, int | None]:
        chat = self._existing_chat(world, user_id)
        message, button = self._find_button(chat, label, data, message_id, "callback_data")
        query = CallbackQuery(
            query_id=str(secrets.randbits(63)),
            chat_id=chat.chat_id,
            message_id=message.message_id,
            data=button["callback_data"],
            created_at=self.now(),
        )
        world.callback_queries[query.query_id] = query
        chat.events.append(
            ChatEvent("tap", message.message_id, int(self.now()), {"label": button["text"]})
        )
        payload = {
            "id": query.query_id,
            "from": dict(chat.user),
            "message": message.to_api(),
            "chat_instance": str(chat.chat_id * 7919 + world.identity.bot_id),
            "data": query.data,
        }
        update = await world.queue.push("callback_query", chat.chat_id, payload)
        await self.changed(world, chat.chat_id)
        return query, update.update_id if update else None

    async def user_opens_url(
        self, world: BotWorld, user_id: int, label: str, message_id: int | None
    ) -> str:
        chat = self._existing_chat(world, user_id)
        message, button = self._find_button(chat, label, None, message_id, "url")
        url: str = button["url"]
        chat.events.append(
            ChatEvent("open_url", message.message_id, int(self.now()), {"label": label, "url": url})
        )
        await self.changed(world, chat.chat_id)
        return url

    def _chat_for(self, world: BotWorld, user_id: int, profile: dict[str, str]) -> Chat:
        chat = world.chats.get(user_id)
        if chat is None:
            user = {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
            chat = world.chats[user_id] = Chat(user=user)
        chat.user.update(profile)
        return chat

    def _existing_chat(self, world: BotWorld, user_id: int) -> Chat:
        if user_id not in world.chats:
            raise SimError(404, f"user {user_id} has no chat with @{world.username}")
        return world.chats[user_id]

    @staticmethod
    def _find_button(
        chat: Chat, label: str | None, data: str | None, message_id: int | None, action: str
    ) -> tuple[StoredMessage, dict[str, Any]]:
        """The newest message carrying the button (or the given message), and the button."""
        if label is None and data is None:
            raise SimError(400, "give a button label or its callback data")
        if message_id is not None and message_id not in chat.messages:
            raise SimError(404, f"message {message_id} is not in the chat")
        candidates = (
            [chat.messages[message_id]]
            if message_id is not None
            else sorted(chat.messages.values(), key=lambda m: -m.message_id)
        )
        for message in candidates:
            for row in inline_buttons(message.reply_markup):
                for button in row:
                    if (label is not None and button["text"] == label) or (
                        data is not None and button.get("callback_data") == data
                    ):
                        if action not in button:
                            raise SimError(400, f"button {button['text']!r} has no {action}")
                        return message, button
        wanted = label if label is not None else data
        raise SimError(404, f"no button {wanted!r} in the chat")

    # Housekeeping ------------------------------------------------------------------------------

    async def reset(self) -> None:
        """Forget conversations, updates, outbox and faults; keep webhooks and commands."""
        for world in self.worlds.values():
            world.chats.clear()
            world.callback_queries.clear()
            world.files.clear()
            world.file_paths.clear()
            await world.queue.clear()
        self.outbox.clear()
        self.faults.clear()
        self.limiter.reset()
        await self.feed.bump("", 0)

    async def close(self) -> None:
        for world in self.worlds.values():
            if world.webhook is not None:
                await world.webhook.stop()
                world.webhook = None

    def state(self) -> dict[str, Any]:
        return {
            "ready": True,
            "version": self.feed.version,
            "rate_limits": self.config.rate_limits_enabled,
            "callback_answer_deadline_s": self.config.callback_answer_deadline_s,
            "faults": self.faults.armed(),
            "outbox_count": len(self.outbox),
            "bots": [
                {
                    "username": world.username,
                    "id": world.identity.bot_id,
                    "chats": len(world.chats),
                    "messages": sum(len(c.messages) for c in world.chats.values()),
                    "pending_update_count": len(world.queue.pending),
                    "webhook": world.webhook.info() if world.webhook else None,
                }
                for world in self.worlds.values()
            ],
        }


def _command_entities(text: str) -> list[dict[str, Any]]:
    match = _COMMAND.match(text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": len(match.group())}]
