"""The support console: support staff's pages at `PUBLIC_URL/support/` (see `bot.console.app`).

`console_routes(runtime)` gives the bot's web app the console's routes, and teaches the
running bot to note each customer's Telegram name when they open a link (a handler that runs
before the bot's own and never answers), so the console can say whom it is looking at.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from starlette.routing import Route
from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.console.app import Console
from bot.runtime import Runtime
from bot.state.journal import Journal

log = logging.getLogger(__name__)

# A group of its own, before the bot's (PTB runs one handler per group: the bot's flood
# control is group -1's); a handler here never stops the others.
NAME_HANDLER_GROUP = -2
_HOOKED: weakref.WeakSet[Any] = weakref.WeakSet()


def learn_customer_names(application: Application, journal: Journal) -> None:  # type: ignore[type-arg]
    """On `/start ...` (a customer opening a link), keep the sender's Telegram name."""
    if application in _HOOKED:
        return
    _HOOKED.add(application)

    async def remember(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.message, update.effective_user
        if message is None or user is None or not (message.text or "").startswith("/start "):
            return
        try:
            await journal.customer_name(message.chat_id, user.full_name)
        except Exception as error:  # the customer's turn matters more than the name
            log.warning("console: customer name not kept: %s", type(error).__name__)

    application.add_handler(TypeHandler(Update, remember), group=NAME_HANDLER_GROUP)


def console_routes(runtime: Runtime) -> list[Route]:
    console = Console(
        redis=runtime.redis.client,
        keys=runtime.keys,
        settings=runtime.settings,
        handoff=runtime.handoff,
        kraken=runtime.kraken,
        turns=runtime.turns,
        bot_username=lambda: runtime.bot_username,
    )
    learn_customer_names(runtime.application, console.journal)
    return console.routes()


__all__ = ["Console", "console_routes", "learn_customer_names"]
