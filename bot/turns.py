"""One chat turn, whoever starts it: a Telegram update, the notifier or the OAuth callback.

Every turn runs the same pipeline — take the chat's cross-process lock, load the stored
conversation, let `dialogs` decide (it makes the Kraken call), show the screens, carry out the
effects, save — so a tap, a background notification and a provider redirect can never
interleave for one chat, and whichever comes second sees what the first did.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from telegram import Bot
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot import screens
from bot.delivery import LiveMessage, render, show
from bot.handoff.service import HandoffError, HandoffGrant, HandoffService
from bot.metrics import Metrics
from bot.state.alerts import AlertLedger, changes_device
from bot.state.bindings import Binding, ChatBindings
from bot.state.conversations import (
    ConversationStore,
    OpenedChat,
    StoredConversation,
    open_chats,
)
from bot.state.journal import Journal
from bot.state.lock import ChatLock
from bot.state.oauth import OAuthStates
from bot.watches import Watches
from dialogs.callback_data import Action, decode
from dialogs.conversation import Conversation, utcnow
from dialogs.engine import handle
from dialogs.events import (
    Begin,
    Cancel,
    CheckNow,
    Event,
    NotifySupport,
    OfferSwitch,
    Outcome,
    Progress,
    RecordOAuthState,
    StartWatching,
    StopWatching,
    SwitchAccount,
    TakeOver,
    Tap,
    Text,
    WizardChanged,
)
from dialogs.i18n import resolve_locale
from dialogs.machine import DEVICE_STATES, FINISHED, State
from dialogs.render.common import support_reference
from dialogs.screen import Delivery, Screen
from dialogs.wizard import KrakenPort, WizardSnapshots, read_ending, read_wizard, unchanged

log = logging.getLogger(__name__)

# Renewed every third of it while a turn runs; short, so a worker that dies mid-turn holds the
# chat for seconds, not half a minute.
LOCK_TTL = timedelta(seconds=10)
# Kraken needs a property; hand-offs without one mean the account's first (usually only) one.
DEFAULT_PROPERTY_ID = 1
# A chat never bound to an account is kept only long enough to edit its last message and
# remember a chosen language: nothing about strangers piles up in Redis.
STRANGER_TTL = timedelta(days=1)
# "typing…" once a turn has waited this long on Kraken, renewed while it lasts.
TYPING_AFTER_S = 1.0
TYPING_EVERY_S = 4.5
# Events that act on the account's wizard: only the chat that drives the account may send them.
_ACTING = (Tap, Text, CheckNow, Cancel)
# A chat left here has a device under smart control: its devices are watched (`bot.alerts`).
_DEVICES_WATCHED = (State.LIVE, *DEVICE_STATES)


@dataclass(frozen=True)
class WaitFigures:
    """What we know of waits that Kraken does not say: how long a test charge takes, and how
    often a wait's progress line is refreshed."""

    test_charge: timedelta = timedelta(minutes=7)
    progress_every: timedelta = timedelta(seconds=45)

    def expected_end(self, conv: Conversation) -> datetime | None:
        """When the chat's wait should be over, for a wait whose length we know (a running
        test charge); None for every other wait."""
        if conv.state is State.TEST_CHARGE_RUNNING and conv.waiting_since is not None:
            return conv.waiting_since + self.test_charge
        return None


@dataclass(frozen=True)
class Wait:
    """A chat's wait as one notifier run finds it (`Turns.waiting`)."""

    conv: Conversation
    now: datetime
    ends: datetime | None
    """The expected end of a wait of known length (`WaitFigures.expected_end`)."""
    next_refresh: datetime | None
    """When the progress line is next due after this run (which redraws it if it is due)."""

    @property
    def quiet(self) -> bool:
        """Kraken has nothing to tell yet: a wait of known length before its expected end."""
        return self.ends is not None and self.now < self.ends


# Told of the screens each delivery showed (bot.voice: what they accept, and reading them aloud);
# the bool says whether the engine drew them (False: bot-level screens beside it); the lock,
# when the chat is open, carries what the hook writes out with its release.
ShownHook = Callable[[int, Conversation, Sequence[Screen], bool, ChatLock | None], Awaitable[None]]


class LookResult(Enum):
    WAITING = "waiting"
    CHANGED = "changed"
    GONE = "gone"  # the chat moved on without us (user tapped "check now", cancelled, ...)


class Turns:
    def __init__(
        self,
        *,
        store: ConversationStore,
        kraken: KrakenPort,
        bot: Bot,
        watches: Watches,
        oauth: OAuthStates,
        bindings: ChatBindings,
        handoff: HandoffService,
        metrics: Metrics,
        default_locale: str,
        waits: WaitFigures | None = None,
    ) -> None:
        self.store = store
        self.handoff = handoff
        self.waits = waits or WaitFigures()
        # Progress lines are drawn against this (tests move it; waits are wall-clock long).
        self.clock: Callable[[], datetime] = utcnow
        self.kraken = kraken
        self.bot = bot
        self.watches = watches
        self.oauth = oauth
        self.bindings = bindings
        # Per process: a tap that lands on another worker just reads Kraken once.
        self.snapshots = WizardSnapshots()
        self.metrics = metrics
        self.default_locale = default_locale
        self.on_shown: ShownHook | None = None

    # ------------------------------------------------------------------ loading

    def locale_for(self, conv: Conversation | None, language_code: str | None = None) -> str:
        """The chat's language: its conversation's, else Telegram's for the user, else ours."""
        if conv is not None:
            return conv.locale
        return resolve_locale(language_code, None, self.default_locale)

    def new_conversation(self, language_code: str | None) -> Conversation:
        return Conversation(locale=self.locale_for(None, language_code))

    async def peek(self, chat_id: int) -> Conversation | None:
        """The stored conversation without taking the lock (read-only callers); within the
        update that holds the chat open, as its turns left it."""
        update = open_chats.get()
        if update is not None and update.chat is not None and update.holds(chat_id):
            return self.conversation_of(update.chat)
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
        fresh: bool = False,
    ) -> None:
        """Apply `event` to the chat; `notify` sends new messages (a push) instead of edits,
        and so does `fresh` (the customer spoke or typed below the live message)."""
        started = time.perf_counter()
        told: list[tuple[int, str]] = []  # (chat, message key) to tell once the lock is free
        async with self.opened(chat_id) as chat:
            conv = self.conversation_of(chat) or self.new_conversation(language_code)
            if _acts(event) and not await self._drives(chat, conv):
                elsewhere = screens.driven_elsewhere(conv.locale)
                conv = await self._deliver(chat_id, conv, [elsewhere], notify, chat=chat)
                self._stage(chat, conv)
                return
            if (
                chat.stored is None
                and chat.latest is None
                and not isinstance(event, Begin | OfferSwitch)
            ):
                event = await self._rebuild(chat_id) or event
            before_state, before_wizard = conv.state, conv.wizard_id
            next_event: Event | None = event
            while next_event is not None:
                async with self._typing(chat_id, enabled=not notify):
                    outcome = await handle(conv, next_event, self.kraken, self.snapshots)
                after = outcome.conversation
                delivered = False
                try:
                    after = await self._deliver(
                        chat_id, after, outcome.screens, notify or fresh, chat=chat
                    )
                    delivered = True
                finally:
                    # A turn that acted on Kraken is kept even if Telegram did not take the
                    # message (Kraken has moved on; the watch must go on). A notifier turn
                    # only read Kraken: left unsaved, the next look finds the same news and
                    # retells it.
                    if delivered or not isinstance(next_event, WizardChanged):
                        self._stage(chat, after)
                        await self._apply_effects(chat, after, outcome)
                        told += await self._bind_and_take_over(chat, next_event, outcome)
                next_event, conv = await self._follow_up(chat, outcome, after), after
            self._count(before_state, before_wizard, conv)
            self._watch_devices(chat, event, conv)
            journal = Journal.beside(self.store)
            journal.turn_on_release(chat.lock, chat_id, event, conv, notify=notify)
        self.metrics.handler_latency.observe(time.perf_counter() - started)
        for other_chat, key in told:
            await self._tell_driver_changed(other_chat, key)

    @contextlib.asynccontextmanager
    async def opened(self, chat_id: int, fetch: Sequence[str] = ()) -> AsyncIterator[OpenedChat]:
        """The chat, locked and loaded. Within a Telegram update about this chat it stays
        open until the update is done (`OpenChats`: one load, one save and one release for
        all the update's turns); anywhere else it is released (and saved) when the block
        ends."""
        update = open_chats.get()
        if update is not None and update.holds(chat_id):
            yield await update.open(self.store, chat_id, LOCK_TTL, fetch)
            return
        async with self.store.opened(chat_id, ttl=LOCK_TTL, fetch=fetch) as chat:
            yield chat

    def conversation_of(self, chat: OpenedChat) -> Conversation | None:
        """The chat's conversation as the turns before this one left it (or as loaded)."""
        if isinstance(chat.latest, Conversation):
            return chat.latest
        return _conversation(chat.stored) if chat.stored else None

    def _watch_devices(self, chat: OpenedChat, event: Event, conv: Conversation) -> None:
        """After LIVE the notifier keeps looking at the chat's devices (unless `/alerts off`);
        what the customer changed here is theirs, not news to tell them later. Both go out
        with the release."""
        chat_id = chat.chat_id
        if changes_device(event):
            ledger = AlertLedger.beside(self.store)
            chat.lock.on_release(
                lambda pipe: ledger.queue_own_change(pipe, chat_id),
                f"chat {chat_id}: own device change not noted",
            )
        if conv.account_number and conv.state in _DEVICES_WATCHED:
            self.watches.watch_devices_on_release(chat.lock, chat_id)  # unless alerts are off

    @contextlib.asynccontextmanager
    async def _typing(self, chat_id: int, *, enabled: bool) -> AsyncIterator[None]:
        """While Kraken takes more than a moment to answer the customer, say "typing…"
        (Telegram shows it for about five seconds, so it is renewed)."""
        if not enabled:
            yield
            return

        async def keep_typing() -> None:
            await asyncio.sleep(TYPING_AFTER_S)  # a timer is the point: only slow answers
            while True:
                with contextlib.suppress(TelegramError):
                    await self.bot.send_chat_action(chat_id, ChatAction.TYPING)
                await asyncio.sleep(TYPING_EVERY_S)

        typing = asyncio.create_task(keep_typing(), name=f"typing {chat_id}")
        try:
            yield
        finally:
            typing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await typing

    async def _drives(self, chat: OpenedChat, conv: Conversation) -> bool:
        """Whether this chat may act on its account's wizard (see `ChatBindings`). The driver
        was read when the chat was opened; only an account nobody drives asks Redis again
        (to become its driver), and the driver's entry is renewed with the release."""
        chat_id = chat.chat_id
        binding = await self.binding(chat_id, conv)
        if binding is None:
            return True  # a stranger: the engine answers "not linked"
        account = binding.account_number
        if chat.account != account or chat.driver is None:
            drives = await self.bindings.drives(chat_id, account)  # and becomes it if nobody is
            if drives:
                chat.account, chat.driver = account, chat_id
            return drives
        if chat.driver != chat_id:
            return False
        chat.lock.on_release(
            lambda pipe: self.bindings.queue_renew_driver(pipe, chat_id, account),
            f"chat {chat_id}: driver not renewed",
        )
        return True

    async def _bind_and_take_over(
        self, chat: OpenedChat, event: Event, outcome: Outcome
    ) -> list[tuple[int, str]]:
        """A hand-off binds the chat (and makes it the driver); "continue here" takes the
        account over. Returns the chat that drove the account until now, to be told."""
        after = outcome.conversation
        chat_id = chat.chat_id
        told: list[tuple[int, str]] = []
        if isinstance(event, Begin) and after.account_number:
            binding = Binding(after.account_number, after.property_id)
            previous = await self.bindings.bind(chat_id, binding)
            chat.account, chat.driver = after.account_number, chat_id
            if previous is not None:
                told.append((previous, "bot.driver.opened_elsewhere"))
        for effect in outcome.effects:
            if isinstance(effect, TakeOver):
                previous = await self.bindings.take_over(chat_id, effect.account_number)
                chat.account, chat.driver = effect.account_number, chat_id
                if previous is not None:
                    told.append((previous, "bot.driver.taken_over"))
        return told

    async def _follow_up(
        self, chat: OpenedChat, outcome: Outcome, shown: Conversation
    ) -> Event | None:
        """An effect that continues the same turn: "yes, switch" redeems the link (by its
        hash) and begins with the account it names."""
        for effect in outcome.effects:
            if isinstance(effect, SwitchAccount):
                try:
                    grant = await self.handoff.redeem_digest(effect.link_digest)
                except HandoffError as error:  # used or revoked while the question waited
                    problem = screens.handoff_problem(shown.locale, error)
                    self._stage(chat, await self._deliver(chat.chat_id, shown, [problem], False))
                    return None
                return begin_for(grant)
        return None

    async def _tell_driver_changed(self, chat_id: int, key: str) -> None:
        """Another chat now drives this chat's account: say so (with the support reference,
        in case it was not the customer who opened it there)."""
        conv = await self.peek(chat_id)
        shown = screens.driven_elsewhere(self.locale_for(conv), key, support_reference(conv))
        try:
            await self.say(chat_id, [shown])
        except Exception:  # the other chat's turn is done; this warning must not undo it
            log.exception("could not tell chat %s that another chat drives its account", chat_id)

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
        async with self.opened(chat_id) as chat:
            conv = self.conversation_of(chat) or self.new_conversation(language_code)
            conv = await self._deliver(chat_id, conv, shown, notify=False, aside=True, chat=chat)
            self._stage(chat, conv)

    async def push(
        self,
        chat_id: int,
        stored: StoredConversation | None,
        conv: Conversation,
        shown: Sequence[Screen],
    ) -> None:
        """Notify the chat outside a turn, for a caller that holds the chat lock (the device
        alerts): screens without buttons go out beside the live message; one with buttons
        becomes the live message, and the conversation is saved with it."""
        after = await self._deliver(chat_id, conv, shown, notify=True, aside=True)
        if after != conv:
            await self._save(chat_id, stored, after)

    async def waiting(self, chat_id: int, wizard_id: str, step_id: str | None) -> Wait | None:
        """The chat's wait on that step, or None when the chat moved on without the notifier
        (the customer tapped "check now", cancelled, another chat took over, ...)."""
        conv = await self.peek(chat_id)
        if conv is None or conv.wizard_id != wizard_id or conv.step_id != step_id:
            return None
        if conv.account_number is None or conv.state in FINISHED:
            return None
        driver = await self.bindings.driver(conv.account_number)
        if driver is not None and driver != chat_id:
            return None  # another chat took the onboarding over and watches it
        now = self.clock()
        due = self._progress_due(conv)
        following = due if due is None or due > now else now + self.waits.progress_every
        return Wait(conv, now, self.waits.expected_end(conv), following)

    async def look(self, chat_id: int, wait: Wait) -> LookResult:
        """One notifier look at a waiting wizard; speaks only when it moved on. A wait of
        known length is not asked about before its expected end: only its progress line is
        redrawn, from what the chat shows."""
        conv = wait.conv
        if wait.quiet:
            await self._refresh_progress(chat_id, wait)
            return LookResult.WAITING
        account, wizard_id = conv.account_number, conv.wizard_id
        assert account is not None and wizard_id is not None
        # Through the snapshots: a wizard found complete is not asked about again this turn.
        wizard = await read_wizard(self.kraken, account, wizard_id, self.snapshots)
        if conv.state is State.COMPLETING and wizard.current_step is None:
            # The wizard is done; what is awaited is the device going LIVE (or news of a
            # cancellation): only `devices` can tell.
            ending = await read_ending(
                self.kraken, account, conv.property_id, wizard, self.snapshots
            )
            if not ending.cancelled and ending.status == conv.device_status:
                return LookResult.WAITING
        elif unchanged(conv, wizard):
            await self._refresh_progress(chat_id, wait)
            return LookResult.WAITING
        await self.run(chat_id, WizardChanged(wizard), notify=True)
        return LookResult.CHANGED

    async def _refresh_progress(self, chat_id: int, wait: Wait) -> None:
        due = self._progress_due(wait.conv)
        if due is not None and due <= wait.now:
            seconds = self.waits.test_charge.total_seconds()
            await self.run(chat_id, Progress(wait.conv.step_id, wait.now, seconds))

    def _progress_due(self, conv: Conversation) -> datetime | None:
        """When the wait's progress line is next redrawn: at a gentle pace, since Telegram
        counts edits too, and a line that changes every few seconds reads as nervous, not as
        progress."""
        last = conv.progress_shown_at or conv.waiting_since
        return None if last is None else last + self.waits.progress_every

    # ------------------------------------------------------------------ parts

    async def _deliver(
        self,
        chat_id: int,
        conv: Conversation,
        shown: Sequence[Screen],
        notify: bool,
        *,
        aside: bool = False,
        chat: OpenedChat | None = None,
    ) -> Conversation:
        """Show the screens; the last one becomes the live message. `aside`: messages
        without buttons (help, status, errors) go out beside the wizard and leave its live
        message, and its buttons, where they are."""
        live = LiveMessage(conv.message_id, conv.message_buttons, conv.message_text)
        for screen in shown:
            if notify:
                screen = replace(screen, delivery=Delivery.SEND)
            if aside and not screen.buttons():
                await self.bot.send_message(chat_id=chat_id, **render(screen).as_kwargs())  # type: ignore[arg-type]
                continue
            live = await show(self.bot, chat_id, live, screen)
        conv = conv.model_copy(
            update={
                "message_id": live.message_id,
                "message_buttons": live.buttons,
                "message_text": live.text,
            }
        )
        if self.on_shown is not None and shown:
            await self.on_shown(chat_id, conv, shown, not aside, chat.lock if chat else None)
        return conv

    def _stage(self, chat: OpenedChat, conv: Conversation) -> None:
        """The conversation is saved with the chat's release."""
        chat.stage(conv.to_dict(), self._ttl_ms(conv), conv)

    def _ttl_ms(self, conv: Conversation) -> int:
        ttl = self.store.ttl if conv.account_number else STRANGER_TTL
        return int(ttl.total_seconds() * 1000)

    async def _save(
        self, chat_id: int, stored: StoredConversation | None, conv: Conversation
    ) -> StoredConversation:
        """Save now, for a caller holding the lock without an opened chat (device alerts)."""
        ttl = timedelta(milliseconds=self._ttl_ms(conv))
        return await self.store.save(chat_id, conv.to_dict(), stored.rev if stored else 0, ttl=ttl)

    async def _apply_effects(self, chat: OpenedChat, conv: Conversation, outcome: Outcome) -> None:
        chat_id = chat.chat_id
        for effect in outcome.effects:
            match effect:
                case StartWatching(wizard_id=wizard_id):
                    if conv.wizard_id == wizard_id:
                        self.watches.watch_on_release(chat.lock, chat_id, wizard_id, conv.step_id)
                case StopWatching(wizard_id=wizard_id):
                    self.watches.forget_on_release(chat.lock, chat_id, wizard_id)
                case RecordOAuthState(state=state, wizard_id=wizard_id):
                    await self.oauth.record(state, chat_id, wizard_id)
                case NotifySupport(summary=summary):
                    log.warning("support case chat=%s: %s", chat_id, summary)

    def _count(self, before_state: State, before_wizard: str | None, after: Conversation) -> None:
        if after.wizard_id and after.wizard_id != before_wizard:
            self.metrics.onboardings_started.inc()
        if after.state != before_state:
            if after.state is State.LIVE:
                self.metrics.onboardings_completed.inc()
            elif after.state is State.CANCELLED:
                self.metrics.onboardings_abandoned.labels(
                    step=after.step_type or before_state
                ).inc()


def _conversation(stored: StoredConversation) -> Conversation:
    return Conversation.from_dict(stored.data)


def _acts(event: Event) -> bool:
    """Whether the event acts on the account's wizard (taking over does not: it asks to)."""
    if isinstance(event, Tap):
        pressed = decode(event.data)
        return pressed is None or pressed.action is not Action.TAKE_OVER
    return isinstance(event, _ACTING)


def begin_for(grant: HandoffGrant) -> Begin:
    """The event a redeemed hand-off link starts."""
    return Begin(
        account_number=grant.account_number,
        property_id=grant.property_id if grant.property_id is not None else DEFAULT_PROPERTY_ID,
        intent=grant.intent,
    )
