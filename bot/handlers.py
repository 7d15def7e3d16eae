"""Telegram updates -> chat turns.

Thin on purpose: each handler works out who and what, then hands an event to `Turns`.
Callback queries are answered before anything else (Telegram gives a client only seconds);
duplicates never reach a handler (`bot.updates` claims each update once). A chat that floods
is slowed down with one explanation, taps that arrive while the chat's turn runs get a toast
and are dropped (the screen they were drawn on is about to change), and the error handler
makes sure nobody is left without a reply — even when Redis itself is what failed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from redis.exceptions import RedisError
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
from bot.alerts import DeviceAlerts
from bot.handoff.service import (
    HandoffError,
    HandoffService,
    token_hash,
)
from bot.state.inbound import ChatRate
from bot.state.lock import LockTimeout
from bot.turns import DEFAULT_PROPERTY_ID, Turns, begin_for
from bot.updates import claimed, replaying
from bot.voice import CALLBACK_PATTERN, VoiceChat
from dialogs.conversation import Conversation
from dialogs.events import (
    Cancel,
    CheckNow,
    Help,
    Language,
    OfferSwitch,
    ShowDevices,
    Tap,
    Text,
)
from dialogs.i18n import available_locales, t
from dialogs.screen import Delivery, Screen
from kraken.errors import KrakenError

log = logging.getLogger(__name__)

# At most one "I'm still working" message per chat in this long; taps get a toast instead.
BUSY_NOTICE_INTERVAL = timedelta(seconds=30)
# The error reply must not hang on the thing that failed (often Redis).
_ERROR_LOOKUP_TIMEOUT_S = 1.0
# Each is a method of Handlers of the same name, and has a `bot.command.<name>` description.
COMMANDS = (
    "start",
    "help",
    "devices",
    "status",
    "alerts",
    "voice",
    "cancel",
    "language",
    "support",
)
PRIVATE = filters.ChatType.PRIVATE


@dataclass(frozen=True)
class _Chat:
    id: int
    language: str | None
    conv: Conversation | None
    locale: str


class Handlers:
    def __init__(
        self,
        *,
        turns: Turns,
        handoff: HandoffService,
        rate: ChatRate,
        voice: VoiceChat | None = None,
    ) -> None:
        self.turns = turns
        self.handoff = handoff
        self.rate = rate
        self.voice_chat = voice

    def install(self, app: Application) -> None:  # type: ignore[type-arg]
        app.add_handler(TypeHandler(Update, self.admit), group=-1)
        for name in COMMANDS:
            app.add_handler(CommandHandler(name, getattr(self, name), filters=PRIVATE))
        app.add_handler(CallbackQueryHandler(self.voice_button, pattern=CALLBACK_PATTERN))
        app.add_handler(CallbackQueryHandler(self.callback))
        app.add_handler(MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, self.text))
        app.add_handler(MessageHandler(PRIVATE & filters.COMMAND, self.unknown_command))
        app.add_handler(MessageHandler(PRIVATE & (filters.VOICE | filters.AUDIO), self.spoken))
        app.add_handler(MessageHandler(PRIVATE & ~filters.TEXT, self.unsupported))
        app.add_error_handler(self.on_error)

    # ------------------------------------------------------------------ plumbing

    async def admit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Count the update, and stop a chat that sends more than a person could."""
        kind = "callback" if update.callback_query else "message" if update.message else "other"
        self.turns.metrics.updates.labels(kind=kind).inc()
        if update.effective_chat is None:
            return
        claim = claimed.get()
        counted = claim.sent_in_window if claim is not None else None
        try:
            if await self.rate.allow(update.effective_chat.id, counted):
                return
        except RedisError:
            return  # no count without Redis: let the handler run, and fail with one reply
        self.turns.metrics.updates_refused.labels(reason="rate").inc()
        chat_id, language = self._ids(update)
        locale = self.turns.locale_for(None, language)
        if update.callback_query is not None:
            await _answer(update, t(locale, "bot.slow_down_toast"))
        if await self.rate.first_notice(chat_id, "slow", timedelta(seconds=self.rate.window_s)):
            await self._say(update, screens.slow_down(locale, self.rate.window_s))
        raise ApplicationHandlerStop

    async def _chat(self, update: Update) -> _Chat:
        """The chat, its stored conversation (read once per update: the chat is opened for
        the turn that follows) and its language."""
        chat_id, language = self._ids(update)
        async with self.turns.opened(chat_id) as chat:
            conv = self.turns.conversation_of(chat)
        return _Chat(chat_id, language, conv, self.turns.locale_for(conv, language))

    @staticmethod
    def _ids(update: Update) -> tuple[int, str | None]:
        assert update.effective_chat is not None  # every handler here is for chat updates
        user = update.effective_user
        return update.effective_chat.id, user.language_code if user else None

    async def _say(self, update: Update, screen: Screen) -> None:
        chat_id, language = self._ids(update)
        await self.turns.say(chat_id, [screen], language)

    # ------------------------------------------------------------------ commands

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = await self._chat(update)
        token = context.args[0] if context.args else None
        if token is None:
            if await self.turns.binding(chat.id, chat.conv) is not None:
                await self.turns.run(chat.id, CheckNow(), language_code=chat.language)
            else:
                await self._say(update, screens.start_without_link(chat.locale))
            return
        try:
            grant = await self.handoff.inspect(token)
            bound = await self.turns.binding(chat.id, chat.conv)
            if bound is not None and bound.account_number != grant.account_number:
                # Ask first; the link is used only if the customer says yes.
                offer = OfferSwitch(
                    token_hash(token),
                    grant.account_number,
                    bound.account_number,
                    bound.property_id or DEFAULT_PROPERTY_ID,
                )
                await self.turns.run(chat.id, offer, language_code=chat.language)
                return
            grant = await self.handoff.redeem(token)
        except HandoffError as error:
            await self._say(update, screens.handoff_problem(chat.locale, error))
            return
        await self.turns.run(chat.id, begin_for(grant), language_code=chat.language)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat_id, language = self._ids(update)
        await self.turns.run(chat_id, Help(), language_code=language)

    async def cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat_id, language = self._ids(update)
        await self.turns.run(chat_id, Cancel(), language_code=language)

    async def language(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat_id, language = self._ids(update)
        code = context.args[0].lower() if context.args else None
        if code in available_locales():
            await self.turns.run(chat_id, Language(code), language_code=language)
        else:
            chat = await self._chat(update)
            await self._say(update, screens.language_picker(chat.locale))

    async def devices(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat_id, language = self._ids(update)
        await self.turns.run(chat_id, ShowDevices(), language_code=language)

    # /status predates /devices and keeps working.
    status = devices

    async def alerts(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/alerts on|off`: the device news the notifier tells after LIVE (`bot.alerts`)."""
        chat_id, language = self._ids(update)
        argument = " ".join(context.args) if context.args else None
        await DeviceAlerts(self.turns).command(chat_id, argument, language)

    async def voice(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/voice on|off`: each new screen also as a voice note (`bot.voice`)."""
        chat_id, language = self._ids(update)
        if self.voice_chat is None:
            locale = (await self._chat(update)).locale
            await self._say(update, Screen(t(locale, "voice.disabled"), delivery=Delivery.SEND))
            return
        await self.voice_chat.command(chat_id, language, context.args or ())

    async def support(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = await self._chat(update)
        wizard = chat.conv.wizard_id if chat.conv else None
        log.info("support requested chat=%s wizard=%s", chat.id, wizard)
        await self._say(update, screens.support_case(chat.locale, chat.conv))

    # ------------------------------------------------------------------ other updates

    async def callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        if update.effective_chat is None or query.data is None:
            await _answer(update)
            return
        chat_id, language = self._ids(update)
        if not replaying.get() and await self._busy(chat_id):
            # The screen this tap was drawn on is about to change: coalesce it into the
            # running turn with a toast instead of queueing another turn (or a message).
            # A replayed tap is exempt: the lock it meets may be its own dead first attempt.
            self.turns.metrics.updates_refused.labels(reason="busy").inc()
            await _answer(update, t(self.turns.locale_for(None, language), "bot.busy_toast"))
            return
        await _answer(update)
        await self.turns.run(chat_id, Tap(query.data), language_code=language)

    async def _busy(self, chat_id: int) -> bool:
        """Whether a turn runs for the chat (as seen when the update was claimed, if it was)."""
        claim = claimed.get()
        if claim is not None and claim.chat_busy is not None:
            return claim.chat_busy
        return await self.turns.store.busy(chat_id)

    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        chat_id, language = self._ids(update)
        typed = update.message.text
        if self.voice_chat is not None and await self.voice_chat.typed(chat_id, language, typed):
            return  # it named a button (or a few): handled like the tap
        await self.turns.run(chat_id, Text(typed), language_code=language)

    async def spoken(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A voice note or audio file (`bot.voice`; without it, as any unsupported message)."""
        message = update.message
        media = (message.voice or message.audio) if message is not None else None
        if self.voice_chat is None or media is None:
            await self.unsupported(update, context)
            return
        chat_id, language = self._ids(update)
        await self.voice_chat.note(context.bot, chat_id, language, media)

    async def voice_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button `bot.voice` drew ("Did you mean 07:30?", "none of these")."""
        query = update.callback_query
        assert query is not None and query.data is not None
        if self.voice_chat is None or update.effective_chat is None:
            await _answer(update)
            return
        chat_id, language = self._ids(update)
        pressed = await self.voice_chat.pressed(chat_id, language, query.data)
        await _answer(update, pressed.toast)
        if pressed.then is not None:
            await pressed.then()

    async def unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._say(update, screens.unknown_command((await self._chat(update)).locale))

    async def unsupported(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        locale = (await self._chat(update)).locale
        await self._say(
            update, screens.unsupported_message(locale, voice=self.voice_chat is not None)
        )

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        if isinstance(error, KrakenError):
            log.warning("kraken error outside the engine: %s", error.code)
        elif isinstance(error, RedisError):
            log.warning("redis unavailable: %s: %s", type(error).__name__, error)
        elif not isinstance(error, LockTimeout):
            log.error("unhandled error", exc_info=error)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        chat_id, language = self._ids(update)
        locale = await self._locale_if_reachable(chat_id, language)
        if isinstance(error, LockTimeout):
            if not await self._first_busy_notice(chat_id):
                return
            screen = screens.busy(locale)
        else:
            screen = screens.something_went_wrong(locale)
        try:
            await context.bot.send_message(chat_id, screen.text, parse_mode="HTML")
        except Exception:  # the error path must never raise; Telegram itself may be the problem
            log.exception("could not tell chat %s about an error", chat_id)

    async def _locale_if_reachable(self, chat_id: int, language: str | None) -> str:
        """The chat's language, or Telegram's guess when Redis cannot tell us quickly."""
        try:
            conv = await asyncio.wait_for(self.turns.peek(chat_id), _ERROR_LOOKUP_TIMEOUT_S)
        except (RedisError, TimeoutError):
            conv = None
        return self.turns.locale_for(conv, language)

    async def _first_busy_notice(self, chat_id: int) -> bool:
        try:
            return await self.rate.first_notice(chat_id, "busy", BUSY_NOTICE_INTERVAL)
        except RedisError:
            return True


async def _answer(update: Update, toast: str | None = None) -> None:
    """Answer a tap (stops the client's spinner); a refused answer never stops the tap."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(toast)
    except BadRequest as exc:
        # "query is too old": the spinner already timed out on the user's side, but the
        # tap itself is still a valid request — carry on with it.
        log.info("callback answer refused (%s); handling the tap anyway", exc.message)


async def publish_commands(bot: Bot, default_locale: str) -> None:
    """The command menu Telegram shows, in every language we speak (the default for the rest)."""
    for locale in available_locales():
        menu = [BotCommand(name, t(locale, f"bot.command.{name}")) for name in COMMANDS]
        await bot.set_my_commands(menu, language_code=locale)
        if locale == default_locale:
            await bot.set_my_commands(menu)
