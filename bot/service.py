"""One chat turn, whoever starts it: a Telegram update, the notifier or the OAuth callback.

Every turn runs the same pipeline — take the chat's cross-process lock, load the stored
conversation, let `dialogs` decide (it makes the Kraken call), show the screens, carry out the
effects, save — so a tap, a background notification and a provider redirect can never
interleave for one chat, and whichever comes second sees what the first did.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from enum import Enum
from typing import Protocol

from telegram import Bot

from bot import screens
from bot.chat.delivery import show
from bot.metrics import Metrics
from bot.oauth import OAuthStates
from bot.polling import PollScheduler
from bot.state.bindings import Binding, ChatBindings
from bot.state.conversations import ConversationStore, StoredConversation
from dialogs import machine as m
from dialogs.conversation import Conversation
from dialogs.engine import handle
from dialogs.events import Begin, Cancel, CheckNow, Event, Tap, Text, WizardChanged
from dialogs.flows import unchanged
from dialogs.i18n import resolve_locale
from dialogs.outcome import NotifySupport, Outcome, RecordOAuthState, StartPolling, StopPolling
from dialogs.port import KrakenPort
from dialogs.screen import Delivery, Screen
from dialogs.snapshots import WizardSnapshots
from kraken.models import Device

log = logging.getLogger(__name__)

# Renewed every third of it while a turn runs; short, so a worker that dies mid-turn holds the
# chat for seconds, not half a minute.
LOCK_TTL = timedelta(seconds=10)
# Kraken needs a property; hand-offs without one mean the account's first (usually only) one.
DEFAULT_PROPERTY_ID = 1
# A chat never bound to an account is kept only long enough to edit its last message and
# remember a chosen language: nothing about strangers piles up in Redis.
STRANGER_TTL = timedelta(days=1)
# Events that act on the account's wizard: only the chat that drives the account may send them.
_ACTING = (Tap, Text, CheckNow, Cancel)
_FINISHED_STATES = frozenset({m.LIVE, m.CANCELLED})


class PollResult(Enum):
    WAITING = "waiting"
    CHANGED = "changed"
    GONE = "gone"  # the chat moved on without us (user tapped "check now", cancelled, ...)


class ChatService:
    def __init__(
        self,
        *,
        store: ConversationStore,
        kraken: BotKraken,
        bot: Bot,
        polls: PollScheduler,
        oauth: OAuthStates,
        bindings: ChatBindings,
        metrics: Metrics,
        default_locale: str,
    ) -> None:
        self.store = store
        self.kraken = kraken
        self.bot = bot
        self.polls = polls
        self.oauth = oauth
        self.bindings = bindings
        # Per process: a tap that lands on another worker just reads Kraken once.
        self.snapshots = WizardSnapshots()
        self.metrics = metrics
        self.default_locale = default_locale

    # ------------------------------------------------------------------ loading

    def locale_for(self, conv: Conversation | None, language_code: str | None = None) -> str:
        """The chat's language: its conversation's, else Telegram's for the user, else ours."""
        if conv is not None:
            return conv.locale
        return resolve_locale(language_code, None, self.default_locale)

    def new_conversation(self, language_code: str | None) -> Conversation:
        return Conversation(locale=self.locale_for(None, language_code))

    async def peek(self, chat_id: int) -> Conversation | None:
        """The stored conversation without taking the lock (read-only callers)."""
        stored = await self.store.load(chat_id)
        return _conversation(stored) if stored else None

    # ------------------------------------------------------------------ turns

    async def run(
        self,
        chat_id: int,
        event: Event,
        *,
        language_code: str | None = None,
        notify: bool = False,
    ) -> None:
        """Apply `event` to the chat; `notify` sends new messages (a push) instead of edits."""
        started = time.perf_counter()
        replaced: int | None = None
        async with self.store.lock(chat_id, ttl=LOCK_TTL):
            stored = await self.store.load(chat_id)
            conv = _conversation(stored) if stored else self.new_conversation(language_code)
            if isinstance(event, _ACTING) and not await self._drives(chat_id, conv):
                elsewhere = screens.driven_elsewhere(conv.locale)
                conv = await self._deliver(chat_id, conv, [elsewhere], notify)
                await self._save(chat_id, stored, conv)
                return
            if stored is None and not isinstance(event, Begin):
                event = await self._rebuild(chat_id) or event
            before_state, before_wizard = conv.state, conv.wizard_id
            outcome = await handle(conv, event, self.kraken, self.snapshots)
            after = outcome.conversation
            delivered = False
            try:
                after = await self._deliver(chat_id, after, outcome.screens, notify)
                delivered = True
            finally:
                # A turn that acted on Kraken is kept even if Telegram did not take the
                # message (Kraken has moved on; the watch must go on). A notifier turn only
                # read Kraken: left unsaved, the next look finds the same news and retells it.
                if delivered or not isinstance(event, WizardChanged):
                    await self._save(chat_id, stored, after)
                    await self._apply_effects(chat_id, after, outcome)
                    if isinstance(event, Begin) and after.account_number:
                        binding = Binding(after.account_number, after.property_id)
                        replaced = await self.bindings.bind(chat_id, binding)
            self._count(before_state, before_wizard, after)
        self.metrics.handler_latency.observe(time.perf_counter() - started)
        if replaced is not None:
            await self._tell_opened_elsewhere(replaced)

    async def _drives(self, chat_id: int, conv: Conversation) -> bool:
        """Whether this chat may act on its account's wizard (see `ChatBindings`)."""
        binding = await self.binding(chat_id, conv)
        if binding is None:
            return True  # a stranger: the engine answers "not linked"
        return await self.bindings.drives(chat_id, binding.account_number)

    async def take_over(self, chat_id: int, language_code: str | None) -> None:
        """The customer confirmed "continue here": this chat drives its account from now on,
        picking up the account's open wizard; the chat that drove it until now is told."""
        binding = await self.bindings.get(chat_id)
        if binding is None:
            await self.run(chat_id, CheckNow(), language_code=language_code)  # "not linked"
            return
        previous = await self.bindings.take_over(chat_id, binding.account_number)
        begin = Begin(binding.account_number, binding.property_id or DEFAULT_PROPERTY_ID)
        await self.run(chat_id, begin, language_code=language_code)
        if previous is not None:
            conv = await self.peek(previous)
            locale = self.locale_for(conv)
            await self.say(previous, [screens.driven_elsewhere(locale, "bot.driver.taken_over")])

    async def _tell_opened_elsewhere(self, chat_id: int) -> None:
        """A hand-off link bound another chat to this chat's account: say so, once."""
        conv = await self.peek(chat_id)
        locale = self.locale_for(conv)
        reference = screens.support_reference(chat_id, conv) if conv else str(chat_id)
        try:
            await self.say(chat_id, [screens.opened_elsewhere(locale, reference)])
        except Exception:  # the new chat's turn is done; this warning must not undo it
            log.exception("could not tell chat %s that its account was opened elsewhere", chat_id)

    async def binding(self, chat_id: int, conv: Conversation | None) -> Binding | None:
        """The chat's account: from its conversation, or from the longer-lived binding."""
        if conv is not None and conv.account_number:
            return Binding(conv.account_number, conv.property_id)
        return await self.bindings.get(chat_id)

    async def _rebuild(self, chat_id: int) -> Begin | None:
        """The conversation is gone but the chat's account is known: reopen from Kraken."""
        binding = await self.bindings.get(chat_id)
        if binding is None:
            return None
        log.info("rebuilding conversation for chat %s from Kraken", chat_id)
        return Begin(binding.account_number, binding.property_id or DEFAULT_PROPERTY_ID)

    async def say(
        self, chat_id: int, shown: Sequence[Screen], language_code: str | None = None
    ) -> None:
        """Show bot-level screens (help, errors) and remember the live message they leave."""
        async with self.store.lock(chat_id, ttl=LOCK_TTL):
            stored = await self.store.load(chat_id)
            conv = _conversation(stored) if stored else self.new_conversation(language_code)
            conv = await self._deliver(chat_id, conv, shown, notify=False)
            await self._save(chat_id, stored, conv)

    async def poll(self, chat_id: int, wizard_id: str, step_id: str | None) -> PollResult:
        """One notifier look at a waiting wizard; speaks only when it moved on."""
        conv = await self.peek(chat_id)
        if conv is None or conv.wizard_id != wizard_id or conv.step_id != step_id:
            return PollResult.GONE
        if conv.account_number is None or conv.state in _FINISHED_STATES:
            return PollResult.GONE
        driver = await self.bindings.driver(conv.account_number)
        if driver is not None and driver != chat_id:
            return PollResult.GONE  # another chat took the onboarding over and watches it
        wizard = await self.kraken.wizard(conv.account_number, wizard_id)
        if unchanged(conv, wizard):
            return PollResult.WAITING
        await self.run(chat_id, WizardChanged(wizard), notify=True)
        return PollResult.CHANGED

    # ------------------------------------------------------------------ parts

    async def _deliver(
        self, chat_id: int, conv: Conversation, shown: Sequence[Screen], notify: bool
    ) -> Conversation:
        message_id = conv.message_id
        for screen in shown:
            if notify:
                screen = replace(screen, delivery=Delivery.SEND)
            message_id = await show(self.bot, chat_id, message_id, screen)
        if message_id == conv.message_id:
            return conv
        return conv.model_copy(update={"message_id": message_id})

    async def _save(
        self, chat_id: int, stored: StoredConversation | None, conv: Conversation
    ) -> None:
        await self.store.save(
            chat_id,
            conv.to_json(),
            stored.rev if stored else 0,
            account_number=conv.account_number,
            wizard_id=conv.wizard_id,
            ttl=None if conv.account_number else STRANGER_TTL,
        )

    async def _apply_effects(self, chat_id: int, conv: Conversation, outcome: Outcome) -> None:
        for effect in outcome.effects:
            match effect:
                case StartPolling(wizard_id=wizard_id):
                    if conv.wizard_id == wizard_id:
                        await self.polls.watch(chat_id, wizard_id, conv.step_id)
                case StopPolling(wizard_id=wizard_id):
                    await self.polls.forget(chat_id, wizard_id)
                case RecordOAuthState(state=state, wizard_id=wizard_id):
                    await self.oauth.record(state, chat_id, wizard_id)
                case NotifySupport(summary=summary):
                    log.warning("support case chat=%s: %s", chat_id, summary)

    def _count(self, before_state: str, before_wizard: str | None, after: Conversation) -> None:
        if after.wizard_id and after.wizard_id != before_wizard:
            self.metrics.onboardings_started.inc()
        if after.state != before_state:
            if after.state == m.LIVE:
                self.metrics.onboardings_completed.inc()
            elif after.state == m.CANCELLED:
                self.metrics.onboardings_abandoned.labels(
                    step=after.step_type or before_state
                ).inc()


class BotKraken(KrakenPort, Protocol):
    """What the bot needs of Kraken beyond the wizard: the account's devices for /status."""

    async def devices(
        self, account_number: str, property_id: int | None = None
    ) -> Sequence[Device]: ...


def _conversation(stored: StoredConversation) -> Conversation:
    return Conversation.from_dict(stored.data)
