"""A tiny python-telegram-bot application used to prove the emulator against a real client.

It echoes text, and /menu offers an inline keyboard whose buttons edit the menu message; a
voice note is fetched (getFile + file download) and sent back with sendVoice. The same code runs
by polling and by webhook; only the base URL and the updater differ.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

EchoApp = Application[Any, Any, Any, Any, Any, Any]
CHOICES = {"pick:hp": "Heat pump", "pick:ev": "EV charger"}


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    buttons = [InlineKeyboardButton(label, callback_data=data) for data, label in CHOICES.items()]
    await update.message.reply_text(
        "Pick a <b>device</b>",
        parse_mode="HTML",
        reply_markup=InlineKeyboardMarkup([buttons]),
    )


async def choose(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text(f"You picked {CHOICES.get(query.data or '', 'nothing')}")


async def echo_voice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.voice is not None
    data = await (await update.message.voice.get_file()).download_as_bytearray()
    await update.message.reply_voice(bytes(data), caption=f"{len(data)} bytes")


def build_application(token: str, base_url: str, *, with_updater: bool = True) -> EchoApp:
    file_url = base_url.removesuffix("/bot") + "/file/bot"
    builder = Application.builder().token(token).base_url(base_url).base_file_url(file_url)
    if not with_updater:
        builder = builder.updater(None)
    application = builder.build()
    application.add_handler(CommandHandler("menu", menu))
    application.add_handler(CallbackQueryHandler(choose))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.add_handler(MessageHandler(filters.VOICE, echo_voice))
    return application
