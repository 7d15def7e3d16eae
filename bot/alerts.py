"""Alerts that arrive by themselves: after LIVE the notifier keeps looking at the devices.

A slow look per watched chat (`bot.watches`: every ALERTS_EVERY, with jitter) reads the
account's devices once and tells the chat that drives the account, once each:

- a new device alert (Kraken's `alerts`, latest first),
- that a device needs the customer to sign in again (with the card's "Sign in again" button),
- smart control paused or resumed outside the chat (changes made from the chat's own card are
  not news to the customer: a turn that made them leaves a mark, see `bot.state.alerts`),
- a device that is no longer under smart control.

Exactly once: only the look whose token is current runs (`Watches.next_device_look`), the
whole look — Kraken read, message, record — runs under the chat lock, and what was told is
recorded only after Telegram accepted the message; a failed send leaves the record as it was,
so the next look (sooner than usual) finds the same news and tells it then.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from telegram.error import TelegramError

from bot.state.alerts import AlertLedger, SeenDevice, Told, alert_key
from bot.turns import LOCK_TTL, Turns
from dialogs.callback_data import Action
from dialogs.conversation import Conversation
from dialogs.i18n import has_key, t
from dialogs.machine import DEVICE_STATES, State, Trigger, allows, fire
from dialogs.render.devices import device_button, device_name
from dialogs.screen import Button, Delivery, Screen
from kraken.errors import ErrorCategory, KrakenError
from kraken.http import RequestDeferred, background_requests
from kraken.models import Device, DeviceLifecycleStatus

log = logging.getLogger(__name__)

# Where a customer can be taken to a device's card: not in the middle of an onboarding.
_AFTER_LIVE = (State.LIVE, State.ENDED, State.CANCELLED, *DEVICE_STATES)


class NewsKind(StrEnum):
    ALERT = "alert"
    REAUTH = "reauth"
    PAUSED = "paused"
    RESUMED = "resumed"
    LEFT_LIVE = "left_live"
    REMOVED = "removed"


@dataclass(frozen=True)
class News:
    kind: NewsKind
    device_id: str
    message: str | None = None
    """The alert's text (ALERT) or the lifecycle the device is in now (LEFT_LIVE)."""


@dataclass
class Reading:
    """What a look found: the news to tell, and what the chat knows once it is told."""

    news: list[News] = field(default_factory=list)
    seen: dict[str, SeenDevice] = field(default_factory=dict)


def read_news(
    before: dict[str, SeenDevice], devices: Sequence[Device], *, own_change: bool
) -> Reading:
    """Compare the devices with what the chat was told. A device seen for the first time
    brings its active alerts and a needed sign-in as news; whether it is paused or live is
    simply taken as known. `own_change`: the customer changed devices in the chat since the
    last look, so smart-control and lifecycle changes are theirs, not news."""
    reading = Reading()
    for device in devices:
        status = device.status
        live = status.current is DeviceLifecycleStatus.LIVE
        paused = bool(status.is_suspended)
        reauth = bool(device.re_authentication_state and device.re_authentication_state.is_eligible)
        active = [(alert_key(a.published_at, a.message), a.message) for a in device.alerts]
        previous = before.get(device.id)
        if previous is None and status.current is DeviceLifecycleStatus.RETIRED:
            continue  # never known to this chat, and gone: nothing to tell or keep
        told = set(previous.alerts) if previous else set()
        news = [News(NewsKind.ALERT, device.id, text) for key, text in active if key not in told]
        if reauth and not (previous and previous.reauth):
            news.append(News(NewsKind.REAUTH, device.id))
        if previous is not None and previous.live and not own_change:
            if not live:
                lifecycle = status.current.value if status.current else "UNKNOWN"
                news.append(News(NewsKind.LEFT_LIVE, device.id, lifecycle))
            elif paused != previous.paused:
                news.append(News(NewsKind.PAUSED if paused else NewsKind.RESUMED, device.id))
        reading.news += news
        if status.current is not DeviceLifecycleStatus.RETIRED:  # once told, gone for good
            reading.seen[device.id] = SeenDevice(live, paused, reauth, tuple(k for k, _ in active))
    present = {device.id for device in devices}
    for device_id, previous in before.items():
        if device_id not in present and previous.live and not own_change:
            reading.news.append(News(NewsKind.REMOVED, device_id))
    return reading


# ------------------------------------------------------------------------------ telling


def render_news(
    conv: Conversation, news: Sequence[News], devices: Sequence[Device], *, buttons: bool
) -> Screen:
    """One message for a look's news, a paragraph per device. `buttons`: the chat can act
    on a device now (it is not in the middle of an onboarding), so a device that needs a new
    sign-in gets the card's "Sign in again" button; otherwise the text says where to find it."""
    loc = conv.locale
    by_id = {device.id: device for device in devices}
    paragraphs: list[str] = [t(loc, "alerts.title")]
    keyboard: list[list[Button]] = []
    for device_id in dict.fromkeys(n.device_id for n in news):
        device = by_id.get(device_id)
        name = device_name(conv, device) if device else t(loc, "alerts.a_device")
        lines = [t(loc, "alerts.device", name=name)]
        for item in (n for n in news if n.device_id == device_id):
            lines.append(_line(loc, item, buttons))
            if item.kind is NewsKind.REAUTH and buttons and device is not None:
                keyboard.append(
                    [device_button(conv, "btn.device.reauth", Action.DEVICE_REAUTH, device)]
                )
        paragraphs.append("\n".join(lines))
    paragraphs.append(t(loc, "alerts.footer"))
    return Screen(text="\n\n".join(paragraphs), keyboard=keyboard, delivery=Delivery.SEND)


def _line(loc: str, item: News, buttons: bool) -> str:
    match item.kind:
        case NewsKind.ALERT:
            return t(loc, "alerts.alert", message=item.message or "")
        case NewsKind.REAUTH:
            return t(loc, "alerts.reauth" if buttons else "alerts.reauth_later")
        case NewsKind.LEFT_LIVE:
            key = f"bot.device_status.{item.message}"
            status = t(loc, key if has_key(key) else "bot.device_status.UNKNOWN")
            return t(loc, "alerts.left_live", status=status)
    return t(loc, f"alerts.{item.kind.value}")


class LookOutcome(StrEnum):
    TOLD = "told"
    NOTHING_NEW = "nothing new"
    UNDELIVERED = "undelivered"  # Telegram refused: told again at the next look
    STOPPED = "stopped"  # off, unbound, another chat drives the account, no devices left
    SUPERSEDED = "superseded"  # this look's token is not the current one
    DEFERRED = "deferred"  # the Kraken request budget had no room: look when it says
    RACED = "raced"  # a turn changed what the chat knows while Kraken was read: look again soon


@dataclass(frozen=True)
class _Devices:
    devices: list[Device]
    told: Told
    """What the chat had been told when Kraken was read."""


class DeviceAlerts:
    def __init__(self, turns: Turns) -> None:
        self.turns = turns
        self.ledger = AlertLedger.beside(turns.store)

    async def look(self, chat_id: int, token: str) -> LookOutcome:
        """One look at the chat's devices; queues the next one unless the watch ends.

        Kraken is read without the chat lock, so a customer's tap never waits on a look (nor
        is turned away as "busy"); what the chat was told is read before that and again under
        the lock, and if a turn changed it in between (the customer paused the device from
        the card, say), this look's reading may predate that change: it tells nothing, and the
        next look comes soon."""
        watches = self.turns.watches
        deferred_by: float | None = None
        try:
            with background_requests():  # the budget may put a look off, never a customer
                reading = await self._read(chat_id)
        except RequestDeferred as deferred:
            reading, deferred_by = LookOutcome.DEFERRED, deferred.delay
        async with self.turns.store.lock(chat_id, ttl=LOCK_TTL):
            if await watches.device_watch_token(chat_id) != token:
                await watches.ensure_device_look(chat_id)
                return LookOutcome.SUPERSEDED
            if isinstance(reading, LookOutcome):
                outcome = reading
            elif not await self.ledger.enabled(chat_id):
                outcome = LookOutcome.STOPPED
            else:
                outcome = await self._tell(chat_id, reading)
            if outcome is LookOutcome.STOPPED:
                await watches.forget_devices(chat_id, token)
            else:
                soon = outcome in (LookOutcome.UNDELIVERED, LookOutcome.RACED)
                await watches.next_device_look(chat_id, token, soon=soon, delay=deferred_by)
        return outcome

    async def _read(self, chat_id: int) -> _Devices | LookOutcome:
        """The devices as Kraken has them now, and what the chat had been told before."""
        turns = self.turns
        if not await self.ledger.enabled(chat_id):
            return LookOutcome.STOPPED
        binding = await turns.binding(chat_id, await turns.peek(chat_id))
        if binding is None:
            return LookOutcome.STOPPED
        driver = await turns.bindings.driver(binding.account_number)
        if driver is not None and driver != chat_id:
            return LookOutcome.STOPPED  # the chat that drives the account is told (and watched)
        told = await self.ledger.told(chat_id)
        try:
            devices = await self.read_devices(binding.account_number, binding.property_id)
        except KrakenError as error:
            if error.category in (ErrorCategory.RETRY, ErrorCategory.REAUTHENTICATE):
                log.info("device look for chat %s: Kraken %s; next time", chat_id, error.code)
                return LookOutcome.NOTHING_NEW
            log.warning("device look for chat %s stopped: %s", chat_id, error.code)
            return LookOutcome.STOPPED
        return _Devices(devices, told)

    async def _tell(self, chat_id: int, found: _Devices) -> LookOutcome:
        """Under the chat lock: tell what is news, then record it as told."""
        turns = self.turns
        told = await self.ledger.told(chat_id)
        if told != found.told:
            return LookOutcome.RACED
        reading = read_news(told.seen, found.devices, own_change=told.own_changes > 0)
        if reading.news:
            stored = await turns.store.load(chat_id)
            conv = Conversation.from_dict(stored.data) if stored else turns.new_conversation(None)
            buttons = stored is not None and conv.state in _AFTER_LIVE
            screen = render_news(conv, reading.news, found.devices, buttons=buttons)
            if screen.keyboard:
                _to_the_card(conv, reading.news)
            try:
                await turns.push(chat_id, stored, conv, [screen])
            except TelegramError as error:
                log.warning("device news for chat %s not delivered: %s", chat_id, error)
                return LookOutcome.UNDELIVERED
            for item in reading.news:
                turns.metrics.alerts_told.labels(kind=item.kind.value).inc()
        if reading.seen != told.seen or told.own_changes:
            await self.ledger.record(chat_id, reading.seen)
        if reading.news:
            return LookOutcome.TOLD
        # No device under smart control: the watch ends (a device going LIVE re-arms it).
        live = any(seen.live for seen in reading.seen.values())
        return LookOutcome.NOTHING_NEW if live else LookOutcome.STOPPED

    async def read_devices(self, account_number: str, property_id: int | None) -> list[Device]:
        """The one Kraken call of a look: background work for the shared request budget."""
        return list(await self.turns.kraken.devices(account_number, property_id))

    # ---- /alerts

    async def command(self, chat_id: int, argument: str | None, language: str | None) -> None:
        """`/alerts on|off`, or `/alerts` alone: say which it is and how to change it."""
        turns = self.turns
        wanted = {"on": True, "off": False}.get((argument or "").strip().lower())
        async with turns.opened(chat_id):  # the update's own hold on the chat, if it has one
            if wanted is not None:
                await self.ledger.set_enabled(chat_id, wanted)
                if wanted:
                    await turns.watches.watch_devices(chat_id)
                else:
                    await turns.watches.forget_devices(chat_id)
            on = await self.ledger.enabled(chat_id)
            conv = await turns.peek(chat_id)
        locale = turns.locale_for(conv, language)
        if argument and wanted is None:
            key = "alerts.cmd.usage"
        elif wanted is None:
            key = "alerts.cmd.is_on" if on else "alerts.cmd.is_off"
        else:
            key = "alerts.cmd.now_on" if on else "alerts.cmd.now_off"
        await turns.say(chat_id, [Screen(text=t(locale, key))], language)


def _to_the_card(conv: Conversation, news: Sequence[News]) -> None:
    """The "Sign in again" button acts from a device's card: the message that carries it
    becomes the chat's live message, so the conversation is at that device's card."""
    device_id = next(n.device_id for n in news if n.kind is NewsKind.REAUTH)
    if conv.state not in DEVICE_STATES and allows(conv.state, Trigger.SHOW_DEVICES):
        conv.state = fire(conv.state, Trigger.SHOW_DEVICES)
    if conv.state is not State.DEVICE and allows(conv.state, Trigger.OPEN_DEVICE):
        conv.state = fire(conv.state, Trigger.OPEN_DEVICE)
    conv.device_id, conv.device_pending = device_id, None


async def adopt_bound_chats(turns: Turns) -> int:
    """Once per deployment: watch the devices of every chat bound before device alerts
    existed (their next turn would arm them too, but a LIVE customer may not come back for
    months). Only Redis is read here; each chat's first look, spread over one interval, asks
    Kraken and ends the watch where no device is under smart control. Returns how many."""
    redis, keys = turns.store.redis, turns.store.keys
    if await redis.exists(keys.alerts_adopted()):
        return 0
    prefix, adopted = keys.binding_prefix(), 0
    async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
        chat = (key.decode() if isinstance(key, bytes) else key).removeprefix(prefix)
        if chat.lstrip("-").isdigit():  # chats with alerts off are left out by watch_devices
            adopted += await turns.watches.watch_devices(int(chat), spread=True)
    await redis.set(keys.alerts_adopted(), "1")  # after: a worker that died half-way redoes it
    return adopted
