"""The Bot API methods, each refusing bad calls with Telegram's own error descriptions."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from sandbox.telegram import errors
from sandbox.telegram.emulator import BotWorld, Emulator, StoredFile
from sandbox.telegram.entities import Entity, parse_text, utf16_len
from sandbox.telegram.errors import BotApiError, bad_request
from sandbox.telegram.keyboard import parse_reply_markup
from sandbox.telegram.media import (
    FILE_TOO_BIG,
    MAX_DOWNLOAD_BYTES,
    WRONG_FILE,
    Media,
    MediaKind,
    bot_media,
    file_path_for,
)
from sandbox.telegram.params import Params, UploadedFile
from sandbox.telegram.photos import resolve_photo
from sandbox.telegram.store import Chat, ChatEvent, Photo, StoredMessage
from sandbox.telegram.webhook import WebhookDelivery, WebhookSettings

Handler = Callable[[Emulator, BotWorld, Params], Awaitable[Any]]

MAX_TEXT = 4096
MAX_CAPTION = 1024
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")

METHODS: dict[str, Handler] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        METHODS[name] = handler
        return handler

    return register


def canonical_name(requested: str) -> str | None:
    """Telegram matches method names case-insensitively."""
    lowered = requested.lower()
    return next((name for name in METHODS if name.lower() == lowered), None)


# Shared checks ---------------------------------------------------------------------------------


def target_chat(world: BotWorld, params: Params) -> Chat:
    if not params.has("chat_id"):
        raise bad_request(errors.CHAT_ID_EMPTY)
    raw = params.raw("chat_id")
    if isinstance(raw, str) and raw.startswith("@"):
        raise bad_request(errors.CHAT_NOT_FOUND)
    return world.chat(params.integer("chat_id"))


def formatted(params: Params, field: str, limit: int, too_long: str) -> tuple[str, list[Entity]]:
    """Text after parse_mode (or explicit entities), checked against Telegram's length limit."""
    source = params.string(field) or ""
    entities_field = "entities" if field == "text" else "caption_entities"
    if params.has("parse_mode"):
        text, entities = parse_text(source, params.string("parse_mode"))
    else:
        text, entities = source.strip(), list(params.json(entities_field) or [])
    if utf16_len(text) > limit:
        raise bad_request(too_long)
    return text, entities


def message_text(params: Params) -> tuple[str, list[Entity]]:
    if not (params.string("text") or "").strip():
        raise bad_request(errors.MESSAGE_TEXT_EMPTY)
    text, entities = formatted(params, "text", MAX_TEXT, errors.MESSAGE_TOO_LONG)
    if not text:
        raise bad_request(errors.MESSAGE_TEXT_EMPTY)
    return text, entities


def link_preview(params: Params) -> dict[str, Any] | None:
    options = params.json("link_preview_options")
    if isinstance(options, dict):
        return options
    if options is not None:
        raise bad_request("can't parse link preview options JSON object")
    return {"is_disabled": True} if params.boolean("disable_web_page_preview") else None


async def deliver(emu: Emulator, world: BotWorld, chat: Chat, message: StoredMessage) -> Any:
    chat.messages[message.message_id] = message
    await emu.changed(world, chat.chat_id)
    return message.to_api()


def new_bot_message(emu: Emulator, world: BotWorld, chat: Chat, text: str) -> StoredMessage:
    return StoredMessage(
        message_id=chat.allocate_id(),
        sender="bot",
        from_user=world.bot_user(),
        chat=chat.api_chat(),
        date=int(emu.now()),
        text=text,
    )


def editable_message(world: BotWorld, params: Params) -> tuple[Chat, StoredMessage]:
    if params.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    chat = target_chat(world, params)
    message_id = params.integer("message_id")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    message = chat.messages.get(message_id)
    if message is None:
        raise bad_request(errors.MESSAGE_TO_EDIT_NOT_FOUND)
    if message.sender != "bot":
        raise bad_request(errors.MESSAGE_CANT_BE_EDITED)
    return chat, message


def inline_markup(params: Params) -> dict[str, Any] | None:
    markup = parse_reply_markup(params.raw("reply_markup"))
    return markup if markup and "inline_keyboard" in markup else None


# Identity and updates --------------------------------------------------------------------------


@method("getMe")
async def get_me(emu: Emulator, world: BotWorld, params: Params) -> Any:
    return {
        **world.bot_user(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@method("getUpdates")
async def get_updates(emu: Emulator, world: BotWorld, params: Params) -> Any:
    if world.webhook is not None:
        raise BotApiError(409, errors.CONFLICT_WEBHOOK_ACTIVE)
    limit = params.integer("limit") or 100
    timeout = params.number("timeout") or 0.0
    world.queue.set_allowed(params.json("allowed_updates"))
    updates = await world.queue.get_updates(
        params.integer("offset"), max(1, min(limit, 100)), max(0.0, timeout)
    )
    return [update.to_api() for update in updates]


@method("setWebhook")
async def set_webhook(emu: Emulator, world: BotWorld, params: Params) -> Any:
    url = params.string("url") or ""
    if not url:
        return await delete_webhook(emu, world, params)
    if not url.startswith(("http://", "https://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.string("secret_token")
    if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    max_connections = params.integer("max_connections") or 40
    if not 1 <= max_connections <= 100:
        raise bad_request("max_connections must be between 1 and 100")
    allowed = params.json("allowed_updates")
    if world.webhook is not None:
        await world.webhook.stop()
    if params.boolean("drop_pending_updates"):
        await world.queue.clear()
    world.queue.set_allowed(allowed)
    world.webhook = WebhookDelivery(
        WebhookSettings(url, secret, max_connections, allowed),
        world.queue,
        transport=emu.config.webhook_transport,
        retry_delays=emu.config.webhook_retry_delays,
        timeout_s=emu.config.webhook_timeout_s,
        clock=emu.config.clock,
    )
    world.webhook.start()
    return True


@method("deleteWebhook")
async def delete_webhook(emu: Emulator, world: BotWorld, params: Params) -> Any:
    if world.webhook is not None:
        await world.webhook.stop()
        world.webhook = None
    if params.boolean("drop_pending_updates"):
        await world.queue.clear()
    return True


@method("getWebhookInfo")
async def get_webhook_info(emu: Emulator, world: BotWorld, params: Params) -> Any:
    if world.webhook is not None:
        return world.webhook.info()
    return {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": len(world.queue.pending),
    }


# Messages --------------------------------------------------------------------------------------


@method("sendMessage")
async def send_message(emu: Emulator, world: BotWorld, params: Params) -> Any:
    if not params.has("chat_id"):
        raise bad_request(errors.CHAT_ID_EMPTY)
    text, entities = message_text(params)
    markup = parse_reply_markup(params.raw("reply_markup"))
    preview = link_preview(params)
    chat = target_chat(world, params)
    message = new_bot_message(emu, world, chat, text)
    message.entities = entities
    message.reply_markup = markup
    message.link_preview_options = preview
    return await deliver(emu, world, chat, message)


def captioned(
    world: BotWorld, params: Params
) -> tuple[Chat, str, list[Entity], dict[str, Any] | None]:
    """The checks every captioned send (photo, voice, audio) makes, in Telegram's order."""
    if not params.has("chat_id"):
        raise bad_request(errors.CHAT_ID_EMPTY)
    caption, entities = formatted(params, "caption", MAX_CAPTION, errors.CAPTION_TOO_LONG)
    markup = parse_reply_markup(params.raw("reply_markup"))
    return target_chat(world, params), caption, entities, markup


async def deliver_captioned(
    emu: Emulator,
    world: BotWorld,
    sent: tuple[Chat, str, list[Entity], dict[str, Any] | None],
    *,
    photo: Photo | None = None,
    media: Media | None = None,
) -> Any:
    chat, caption, entities, markup = sent
    message = new_bot_message(emu, world, chat, caption)
    message.entities = entities
    message.reply_markup = markup
    message.photo, message.media = photo, media
    return await deliver(emu, world, chat, message)


@method("sendPhoto")
async def send_photo(emu: Emulator, world: BotWorld, params: Params) -> Any:
    sent = captioned(world, params)
    photo = resolve_photo(world, params.raw("photo"))
    return await deliver_captioned(emu, world, sent, photo=photo)


async def _send_media(emu: Emulator, world: BotWorld, params: Params, kind: MediaKind) -> Any:
    sent_with = captioned(world, params)
    value = params.raw(kind)
    if isinstance(value, UploadedFile):
        sent = bot_media(
            kind,
            value,
            duration=params.integer("duration"),
            performer=params.string("performer"),
            title=params.string("title"),
        )
        media = sent.media
        world.files[media.file_id] = StoredFile(
            None, media.mime_type, sent.data, kind, media.file_unique_id, media=media
        )
    elif isinstance(value, str) and value and (stored := world.files.get(value)) is not None:
        if stored.media is None or stored.kind != kind:
            raise bad_request(f"wrong file type: can't use file of type {stored.kind} as {kind}")
        media = replace(stored.media)  # sent again by file_id: the same file
    elif value in (None, ""):
        raise bad_request(f"there is no {kind} in the request")
    else:
        raise bad_request(WRONG_FILE)
    return await deliver_captioned(emu, world, sent_with, media=media)


@method("sendVoice")
async def send_voice(emu: Emulator, world: BotWorld, params: Params) -> Any:
    return await _send_media(emu, world, params, "voice")


@method("sendAudio")
async def send_audio(emu: Emulator, world: BotWorld, params: Params) -> Any:
    return await _send_media(emu, world, params, "audio")


@method("getFile")
async def get_file(emu: Emulator, world: BotWorld, params: Params) -> Any:
    file_id = params.string("file_id") or ""
    stored = world.files.get(file_id)
    if stored is None or stored.data is None:
        raise bad_request("invalid file_id")
    if len(stored.data) > MAX_DOWNLOAD_BYTES:
        raise bad_request(FILE_TOO_BIG)
    if stored.file_path is None:
        stored.file_path = file_path_for(stored.kind, len(world.file_paths) + 1)
        world.file_paths[stored.file_path] = file_id
    return {
        "file_id": file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
        "file_path": stored.file_path,
    }


@method("editMessageText")
async def edit_message_text(emu: Emulator, world: BotWorld, params: Params) -> Any:
    chat, message = editable_message(world, params)
    if message.has_caption:
        raise bad_request(errors.NO_TEXT_TO_EDIT)
    text, entities = message_text(params)
    markup = inline_markup(params)
    preview = link_preview(params)
    if (text, entities, markup) == (message.text, message.entities, message.reply_markup):
        raise bad_request(errors.MESSAGE_NOT_MODIFIED)
    message.text, message.entities, message.reply_markup = text, entities, markup
    if preview is not None:
        message.link_preview_options = preview
    message.edit_date = int(emu.now())
    return await deliver(emu, world, chat, message)


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(emu: Emulator, world: BotWorld, params: Params) -> Any:
    chat, message = editable_message(world, params)
    markup = inline_markup(params)
    if markup == message.reply_markup:
        raise bad_request(errors.MESSAGE_NOT_MODIFIED)
    message.reply_markup = markup
    message.edit_date = int(emu.now())
    return await deliver(emu, world, chat, message)


@method("deleteMessage")
async def delete_message(emu: Emulator, world: BotWorld, params: Params) -> Any:
    chat = target_chat(world, params)
    message_id = params.integer("message_id")
    if message_id is None or chat.messages.pop(message_id, None) is None:
        raise bad_request(errors.MESSAGE_TO_DELETE_NOT_FOUND)
    await emu.changed(world, chat.chat_id)
    return True


@method("sendChatAction")
async def send_chat_action(emu: Emulator, world: BotWorld, params: Params) -> Any:
    target_chat(world, params)
    if params.string("action") not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    return True


# Callback queries ------------------------------------------------------------------------------


@method("answerCallbackQuery")
async def answer_callback_query(emu: Emulator, world: BotWorld, params: Params) -> Any:
    query = world.callback_queries.get(params.string("callback_query_id") or "")
    expired = query is not None and (
        emu.now() - query.created_at > emu.config.callback_answer_deadline_s
    )
    if query is None or query.answered or expired:
        raise bad_request(errors.QUERY_TOO_OLD)
    url = params.string("url")
    if url and not url.startswith(("https://t.me/", "http://t.me/", "tg://")):
        raise bad_request("URL_INVALID")
    text = params.string("text") or ""
    if len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    query.answered = True
    chat = world.chats.get(query.chat_id)
    if chat is not None:
        details = {"text": text, "show_alert": params.boolean("show_alert"), "url": url}
        chat.events.append(ChatEvent("answer", query.message_id, int(emu.now()), details))
        await emu.changed(world, chat.chat_id)
    return True


# Commands --------------------------------------------------------------------------------------


def _command_scope(params: Params) -> tuple[str, str]:
    scope = params.json("scope") or {"type": "default"}
    if not isinstance(scope, dict) or "type" not in scope:
        raise bad_request("can't parse BotCommandScope JSON object")
    return str(scope["type"]), params.string("language_code") or ""


@method("setMyCommands")
async def set_my_commands(emu: Emulator, world: BotWorld, params: Params) -> Any:
    commands = params.json("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON object")
    cleaned: list[dict[str, str]] = []
    for command in commands:
        if not isinstance(command, dict):
            raise bad_request("can't parse BotCommand JSON object")
        name, description = command.get("command"), command.get("description")
        if not isinstance(name, str) or not _COMMAND_NAME.fullmatch(name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        cleaned.append({"command": name, "description": description})
    world.commands[_command_scope(params)] = cleaned
    return True


@method("getMyCommands")
async def get_my_commands(emu: Emulator, world: BotWorld, params: Params) -> Any:
    return world.commands.get(_command_scope(params), [])


@method("deleteMyCommands")
async def delete_my_commands(emu: Emulator, world: BotWorld, params: Params) -> Any:
    world.commands.pop(_command_scope(params), None)
    return True
