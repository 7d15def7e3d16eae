"""Telegram updates -> chat turns.

Thin on purpose: each handler works out who and what, then hands an event to `ChatService`.
Callback queries are answered before anything else (Telegram gives a client only seconds),
duplicates of an update are dropped before any handler runs, and the error handler makes
sure nobody is left without a reply.
"""

from __future__ import annotations

import json
import logging
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
from dialogs.i18n import available_locales, resolve_locale, t
from dialogs.screen import Screen
from kraken.errors import KrakenError

log = logging.getLogger(__name__)

PENDING_SWITCH_TTL = timedelta(minutes=15)
# Each is a method of Handlers of the same name, and has a `bot.command.<name>` description.
COMMANDS = ("start", "help", "status", "cancel", "language", "support")
PRIVATE = filters.ChatType.PRIVATE


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

    async def _locale(self, update: Update) -> str:
        chat = update.effective_chat
        conv = await self.service.peek(chat.id) if chat else None
        if conv is not None:
            return conv.locale
        user = update.effective_user
        return resolve_locale(
            user.language_code if user else None, None, self.service.default_locale
        )

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
        chat_id, language = self._ids(update)
        token = context.args[0] if context.args else None
        locale = await self._locale(update)
        if token is None:
            if await self.service.binding(chat_id) is not None:
                await self.service.run(chat_id, CheckNow(), language_code=language)
            else:
                await self._say(update, screens.start_without_link(locale))
            return
        try:
            grant = await self.handoff.redeem(token)
        except HandoffMalformed:
            await self._say(update, screens.handoff_problem(locale, "malformed"))
            return
        except HandoffUnknown:
            await self._say(update, screens.handoff_problem(locale, "unknown"))
            return
        except HandoffUsed:
            await self._say(update, screens.handoff_problem(locale, "used"))
            return
        except HandoffExpired:
            await self._say(update, screens.handoff_problem(locale, "expired"))
            return
        conv = await self.service.peek(chat_id)
        if conv is not None and conv.account_number and conv.account_number != grant.account_number:
            await self.redis.set(
                self.keys.pending_switch(chat_id), _grant_json(grant), ex=PENDING_SWITCH_TTL
            )
            await self._say(
                update, screens.confirm_switch(locale, conv.account_number, grant.account_number)
            )
            return
        await self.service.run(chat_id, _begin(grant), language_code=language)

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
            await self._say(update, screens.language_picker(await self._locale(update)))

    async def status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat_id, _ = self._ids(update)
        locale = await self._locale(update)
        binding = await self.service.binding(chat_id)
        devices = []
        if binding is not None:
            kraken = self.service.kraken
            devices = list(await kraken.devices(binding.account_number, binding.property_id))
        await self._say(update, screens.status(locale, binding, devices))

    async def support(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat_id, _ = self._ids(update)
        conv = await self.service.peek(chat_id)
        screen = screens.support_case(await self._locale(update), conv, chat_id)
        log.info("support requested chat=%s wizard=%s", chat_id, conv.wizard_id if conv else None)
        await self._say(update, screen)

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
            locale = await self._locale(update)
            if raw is None:
                await self._say(update, screens.switch_expired(locale))
            elif data == screens.SWITCH_YES:
                await self.service.run(
                    chat_id, _begin(_grant_from_json(raw)), language_code=language
                )
            else:
                await self._say(update, screens.switch_kept(locale))
            return
        await self.service.run(chat_id, Tap(data), language_code=language)  # engine says "invalid"

    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        chat_id, language = self._ids(update)
        await self.service.run(chat_id, Text(update.message.text), language_code=language)

    async def unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._say(update, screens.unknown_command(await self._locale(update)))

    async def unsupported(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._say(update, screens.unsupported_message(await self._locale(update)))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        if isinstance(error, KrakenError):
            log.warning("kraken error outside the engine: %s", error.code)
        elif not isinstance(error, LockTimeout):
            log.error("unhandled error", exc_info=error)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        locale = await self._locale(update)
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


def _grant_json(grant: HandoffGrant) -> str:
    intent = grant.intent.spec() if grant.intent is not None else None
    return json.dumps(
        {"account": grant.account_number, "property": grant.property_id, "intent": intent}
    )


def _grant_from_json(raw: bytes | str) -> HandoffGrant:
    from datetime import UTC, datetime

    from bot.handoff.request import parse_intent

    data = json.loads(raw)
    return HandoffGrant(
        account_number=data["account"],
        property_id=data["property"],
        intent=parse_intent(data["intent"]) if data["intent"] else None,
        issued_at=datetime.now(UTC),
    )
