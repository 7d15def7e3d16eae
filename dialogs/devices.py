"""The customer's devices after onboarding: a card per device, and what can be done from it.

A card can be stale — the app or support may have paused, boosted or removed the device
since it was drawn — so every action re-reads the account's devices first and acts only
when the device is still there and in the state the button was drawn for; otherwise the
customer gets "that has changed" with the fresh card. Each mutation's answer describes the
device, and the card is redrawn from it without another read. These buttons join the one
tap table (`dialogs.engine.TAPS`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from dialogs.callback_data import Action, CallbackData, option_hash
from dialogs.engine import Turn, tap
from dialogs.machine import State, Trigger
from dialogs.render.devices import (
    device_name,
    device_problem,
    render_device_card,
    render_device_confirm,
    render_device_list,
)
from kraken.errors import ErrorCategory, KrakenError
from kraken.models import Device, DeviceLifecycleStatus

# Errors a customer can act on, told on the card; the rest take the general error path.
_TOLD_ON_THE_CARD = (ErrorCategory.USER_CAN_FIX, ErrorCategory.FATAL)


async def show_devices(turn: Turn, notice: str | None = None) -> None:
    """The list, or straight to the card when there is one device."""
    if turn.conv.account_number is None:
        await turn.show_current()  # not linked: say how to get a link
        return
    devices = await _devices(turn)
    turn.fire(Trigger.SHOW_DEVICES)
    turn.conv.device_id = turn.conv.device_pending = None
    if len(devices) == 1:
        _card(turn, devices[0], notice, more=False)
    else:
        turn.show(render_device_list(turn.conv, devices), notice)


async def _devices(turn: Turn) -> list[Device]:
    conv = turn.conv
    if conv.account_number is None:
        return []
    found = await turn.kraken.devices(conv.account_number, conv.property_id)
    return [d for d in found if d.status.current is not DeviceLifecycleStatus.RETIRED]


def _card(turn: Turn, device: Device, notice: str | None = None, *, more: bool = True) -> None:
    conv = turn.conv
    conv.device_id, conv.device_pending = device.id, None
    if conv.state is not State.DEVICE:
        turn.fire(Trigger.OPEN_DEVICE)
    turn.show(render_device_card(conv, device, more=more), notice)


async def _pressed(turn: Turn, pressed: CallbackData) -> Device | None:
    """The device the button names, as Kraken has it now; None (the list shown) if gone."""
    devices = await _devices(turn)
    found = [d for d in devices if option_hash(d.id) == pressed.arg]
    if not found:
        await show_devices(turn, turn.text("device.changed"))
        return None
    return found[0]


async def _act(
    turn: Turn, device: Device, call: Callable[[], Awaitable[Device]], done: str
) -> None:
    try:
        updated = await call()
    except KrakenError as error:
        if error.category not in _TOLD_ON_THE_CARD:
            raise  # retry later / reconnecting: the engine's general error screen
        _card(turn, device, device_problem(turn.conv, error.code, error.refusal_reasons))
        return
    _card(turn, updated, turn.text(done))


def _changed(turn: Turn, device: Device) -> None:
    _card(turn, device, turn.text("device.changed"))


@tap(Action.DEVICES_LIST, Trigger.SHOW_DEVICES, bound=False)
async def _list(turn: Turn, pressed: CallbackData) -> None:
    await show_devices(turn)


@tap(Action.DEVICE_OPEN, Trigger.OPEN_DEVICE, bound=False)
async def _open(turn: Turn, pressed: CallbackData) -> None:
    if (device := await _pressed(turn, pressed)) is not None:
        _card(turn, device)


@tap(Action.DEVICE_PAUSE, Trigger.ASK_DEVICE, bound=False)
async def _pause(turn: Turn, pressed: CallbackData) -> None:
    await _ask(turn, pressed, "pause")


@tap(Action.DEVICE_REMOVE, Trigger.ASK_DEVICE, bound=False)
async def _remove(turn: Turn, pressed: CallbackData) -> None:
    await _ask(turn, pressed, "remove")


async def _ask(turn: Turn, pressed: CallbackData, what: str) -> None:
    device = await _pressed(turn, pressed)
    if device is None:
        return
    if what == "pause" and device.status.is_suspended:
        _changed(turn, device)
        return
    turn.conv.device_id, turn.conv.device_pending = device.id, what
    turn.fire(Trigger.ASK_DEVICE)
    turn.show(render_device_confirm(turn.conv, device, what))


@tap(Action.DEVICE_YES, Trigger.DEVICE_ANSWER, bound=False)
async def _yes(turn: Turn, pressed: CallbackData) -> None:
    conv = turn.conv
    what = conv.device_pending
    device = await _pressed(turn, pressed)
    if device is None:
        return
    turn.fire(Trigger.DEVICE_ANSWER)
    kraken = turn.kraken
    if what == "pause" and not device.status.is_suspended:
        await _act(turn, device, lambda: kraken.set_smart_control(device.id, True), "device.paused")
    elif what == "remove":
        assert conv.account_number is not None
        try:
            await kraken.deauthenticate_device(conv.account_number, device.id)
        except KrakenError as error:
            if error.category not in _TOLD_ON_THE_CARD:
                raise
            _card(turn, device, device_problem(conv, error.code, error.refusal_reasons))
            return
        await show_devices(turn, turn.text("device.removed", name=device_name(conv, device)))
    else:
        _changed(turn, device)


@tap(Action.DEVICE_NO, Trigger.DEVICE_ANSWER, bound=False)
async def _no(turn: Turn, pressed: CallbackData) -> None:
    if (device := await _pressed(turn, pressed)) is not None:
        turn.fire(Trigger.DEVICE_ANSWER)
        _card(turn, device)


@tap(Action.DEVICE_RESUME, Trigger.DEVICE_ACTION, bound=False)
async def _resume(turn: Turn, pressed: CallbackData) -> None:
    device = await _pressed(turn, pressed)
    if device is None:
        return
    if not device.status.is_suspended:
        _changed(turn, device)
        return
    kraken = turn.kraken
    await _act(turn, device, lambda: kraken.set_smart_control(device.id, False), "device.resumed")


@tap(Action.DEVICE_BOOST, Trigger.DEVICE_ACTION, bound=False)
async def _boost(turn: Turn, pressed: CallbackData) -> None:
    await _boosting(turn, pressed, start=True)


@tap(Action.DEVICE_STOP_BOOST, Trigger.DEVICE_ACTION, bound=False)
async def _stop_boost(turn: Turn, pressed: CallbackData) -> None:
    await _boosting(turn, pressed, start=False)


async def _boosting(turn: Turn, pressed: CallbackData, *, start: bool) -> None:
    device = await _pressed(turn, pressed)
    if device is None:
        return
    if (device.status.current_state == "BOOSTING") is start:
        _changed(turn, device)
        return
    kraken, done = turn.kraken, "device.boosting" if start else "device.boost_stopped"
    await _act(turn, device, lambda: kraken.boost(device.id, cancel=not start), done)


@tap(Action.DEVICE_REAUTH, Trigger.DEVICE_ACTION, bound=False)
async def _reauth(turn: Turn, pressed: CallbackData) -> None:
    """Reconnect a device whose authentication lapsed: the usual sign-in screens follow."""
    conv = turn.conv
    device = await _pressed(turn, pressed)
    if device is None or conv.account_number is None or conv.property_id is None:
        return
    wizard = await turn.kraken.start_reauthentication(
        conv.account_number, device.id, conv.property_id
    )
    turn.arrive(wizard)
