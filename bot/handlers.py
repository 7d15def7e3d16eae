"""Telegram updates -> chat turns.

Thin on purpose: each handler works out who and what, then hands an event to `ChatService`.
Callback queries are answered before anything else (Telegram gives a client only seconds),
duplicates of an update are dropped before any handler runs, and the error handler makes
sure nobody is left without a reply.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from redis.asyncio import Redis
from telegram import Bot, BotCommand, Update
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import screens
from bot.handoff.request import ReAuthenticate as HandoffReAuth
from bot.handoff.request import ResumeWizard
from bot.handoff.service import (
    HandoffError,
    HandoffExpired,
    HandoffGrant,
    HandoffMalformed,
    HandoffService,
    HandoffUnknown,
    HandoffUsed,
)
from bot.service import DEFAULT_PROPERTY_ID, ChatService
from bot.state.dedupe import UpdateDeduper
from bot.state.keys import KeySpace
from bot.state.lock import LockTimeout
from dialogs.conversation import Conversation
from dialogs.events import (
    Begin,
    Cancel,
    CheckNow,
    Help,
    Intent,
    Language,
    ReAuthenticate,
    Resume,
    Tap,
    Text,
)
from dialogs.i18n import available_locales, t
from dialogs.screen import Screen
from kraken.errors import KrakenError

log = logging.getLogger(__name__)

PENDING_SWITCH_TTL = timedelta(minutes=15)
# Each is a method of Handlers of the same name, and has a `bot.command.<name>` description.
COMMANDS = ("start", "help", "status", "cancel", "language", "support")
PRIVATE = filters.ChatType.PRIVATE


@dataclass(frozen=True)
class _Chat:
    id: int
    language: str | None
    conv: Conversation | None
    locale: str


# Which message each refused hand-off gets (`bot.handoff.<kind>`).
_HANDOFF_PROBLEMS: dict[type[HandoffError], str] = {
    HandoffMalformed: "malformed",
    HandoffUnknown: "unknown",
    HandoffUsed: "used",
    HandoffExpired: "expired",
}


class Handlers:
    def __init__(
        self,
        *,
        service: ChatService,
        handoff: HandoffService,
        deduper: UpdateDeduper,
        redis: Redis,
        keys: KeySpace,
    ) -> None:
        self.service = service
        self.handoff = handoff
        self.deduper = deduper
        self.redis = redis
        self.keys = keys

    def install(self, app: Application) -> None:  # type: ignore[type-arg]
        app.add_handler(TypeHandler(Update, self.dedupe), group=-1)
        for name in COMMANDS:
            app.add_handler(CommandHandler(name, getattr(self, name), filters=PRIVATE))
        app.add_handler(CallbackQueryHandler(self.callback))
        app.add_handler(MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, self.text))
        app.add_handler(MessageHandler(PRIVATE & filters.COMMAND, self.unknown_command))
        app.add_handler(MessageHandler(PRIVATE & ~filters.TEXT, self.unsupported))
        app.add_error_handler(self.on_error)

    # ------------------------------------------------------------------ plumbing

    async def dedupe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        kind = "callback" if update.callback_query else "message" if update.message else "other"
        self.service.metrics.updates.labels(kind=kind).inc()
        if not await self.deduper.first_time(update.update_id):
            log.info("duplicate update %s dropped", update.update_id)
            raise ApplicationHandlerStop

    async def _chat(self, update: Update) -> _Chat:
        """The chat, its stored conversation (read once per update) and its language."""
        chat_id, language = self._ids(update)
        conv = await self.service.peek(chat_id)
        return _Chat(chat_id, language, conv, self.service.locale_for(conv, language))

    @staticmethod
    def _ids(update: Update) -> tuple[int, str | None]:
        assert update.effective_chat is not None  # every handler here is for chat updates
        user = update.effective_user
        return update.effective_chat.id, user.language_code if user else None

    async def _say(self, update: Update, screen: Screen) -> None:
        chat_id, language = self._ids(update)
        await self.service.say(chat_id, [screen], language)

    # ------------------------------------------------------------------ commands

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = await self._chat(update)
        token = context.args[0] if context.args else None
        if token is None:
            if await self.service.binding(chat.id, chat.conv) is not None:
                await self.service.run(chat.id, CheckNow(), language_code=chat.language)
            else:
                await self._say(update, screens.start_without_link(chat.locale))
            return
        try:
            grant = await self.handoff.redeem(token)
        except HandoffError as error:
            kind = _HANDOFF_PROBLEMS[type(error)]
            await self._say(update, screens.handoff_problem(chat.locale, kind))
            return
        current = chat.conv.account_number if chat.conv else None
        if current and current != grant.account_number:
            switch = json.dumps(grant.to_record())
            await self.redis.set(self.keys.pending_switch(chat.id), switch, ex=PENDING_SWITCH_TTL)
            screen = screens.confirm_switch(chat.locale, current, grant.account_number)
            await self._say(update, screen)
            return
        await self.service.run(chat.id, _begin(grant), language_code=chat.language)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat_id, language = self._ids(update)
        await self.service.run(chat_id, Help(), language_code=language)

    async def cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat_id, language = self._ids(update)
        await self.service.run(chat_id, Cancel(), language_code=language)

    async def language(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat_id, language = self._ids(update)
        code = context.args[0].lower() if context.args else None
        if code in available_locales():
            await self.service.run(chat_id, Language(code), language_code=language)
        else:
            chat = await self._chat(update)
            await self._say(update, screens.language_picker(chat.locale))

    async def status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = await self._chat(update)
        binding = await self.service.binding(chat.id, chat.conv)
        devices = []
        if binding is not None:
            kraken = self.service.kraken
            devices = list(await kraken.devices(binding.account_number, binding.property_id))
        await self._say(update, screens.status(chat.locale, binding, devices))

    async def support(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = await self._chat(update)
        wizard = chat.conv.wizard_id if chat.conv else None
        log.info("support requested chat=%s wizard=%s", chat.id, wizard)
        await self._say(update, screens.support_case(chat.locale, chat.conv, chat.id))

    # ------------------------------------------------------------------ other updates

    async def callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        try:
            await query.answer()
        except BadRequest as exc:
            # "query is too old": the spinner already timed out on the user's side, but the
            # tap itself is still a valid request — carry on with it.
            log.info("callback answer refused (%s); handling the tap anyway", exc.message)
        if update.effective_chat is None or query.data is None:
            return
        chat_id, language = self._ids(update)
        if query.data.startswith(screens.BOT_PREFIX):
            await self._bot_button(update, query.data)
            return
        await self.service.run(chat_id, Tap(query.data), language_code=language)

    async def _bot_button(self, update: Update, data: str) -> None:
        chat_id, language = self._ids(update)
        if data.startswith(screens.LANGUAGE_PREFIX):
            code = data.removeprefix(screens.LANGUAGE_PREFIX)
            if code in available_locales():
                await self.service.run(chat_id, Language(code), language_code=language)
                return
        elif data in (screens.SWITCH_YES, screens.SWITCH_NO):
            raw = await self.redis.getdel(self.keys.pending_switch(chat_id))
            if raw is not None and data == screens.SWITCH_YES:
                grant = HandoffGrant.from_record(json.loads(raw))
                await self.service.run(chat_id, _begin(grant), language_code=language)
                return
            locale = (await self._chat(update)).locale
            kept = screens.switch_kept(locale) if raw else screens.switch_expired(locale)
            await self._say(update, kept)
            return
        await self.service.run(chat_id, Tap(data), language_code=language)  # engine says "invalid"

    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        chat_id, language = self._ids(update)
        await self.service.run(chat_id, Text(update.message.text), language_code=language)

    async def unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._say(update, screens.unknown_command((await self._chat(update)).locale))

    async def unsupported(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._say(update, screens.unsupported_message((await self._chat(update)).locale))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        if isinstance(error, KrakenError):
            log.warning("kraken error outside the engine: %s", error.code)
        elif not isinstance(error, LockTimeout):
            log.error("unhandled error", exc_info=error)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        locale = (await self._chat(update)).locale
        screen = (
            screens.busy(locale)
            if isinstance(error, LockTimeout)
            else screens.something_went_wrong(locale)
        )
        try:
            await context.bot.send_message(update.effective_chat.id, screen.text, parse_mode="HTML")
        except Exception:  # the error path must never raise; Telegram itself may be the problem
            log.exception("could not tell chat %s about an error", update.effective_chat.id)


async def publish_commands(bot: Bot, default_locale: str) -> None:
    """The command menu Telegram shows, in every language we speak (the default for the rest)."""
    for locale in available_locales():
        menu = [BotCommand(name, t(locale, f"bot.command.{name}")) for name in COMMANDS]
        await bot.set_my_commands(menu, language_code=locale)
        if locale == default_locale:
            await bot.set_my_commands(menu)


def _intent(grant: HandoffGrant) -> Intent | None:
    match grant.intent:
        case ResumeWizard(wizard_id=wizard_id):
            return Resume(wizard_id)
        case HandoffReAuth(device_id=device_id):
            return ReAuthenticate(device_id)
    return None


def _begin(grant: HandoffGrant) -> Begin:
    return Begin(
        account_number=grant.account_number,
        property_id=grant.property_id if grant.property_id is not None else DEFAULT_PROPERTY_ID,
        intent=_intent(grant),
    )
