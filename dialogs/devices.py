"""The customer's devices after onboarding: a card per device, and what can be done from it.

A card can be stale — the app or support may have paused, boosted or removed the device
since it was drawn — so every action re-reads the account's devices first and acts only
when the device is still there and in the state the button was drawn for; otherwise the
customer gets "that has changed" with the fresh card. Each mutation's answer describes the
device, and the card is redrawn from it without another read. These buttons join the one
tap table (`dialogs.engine.TAPS`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from dialogs.callback_data import Action, CallbackData, option_hash
from dialogs.engine import TAPS, Turn, tap
from dialogs.machine import State, Trigger
from dialogs.render.devices import (
    DISABLED,
    ENABLED,
    HEAT_PUMP,
    Editor,
    Range,
    changed_schedules,
    clock,
    device_name,
    device_problem,
    number,
    render_device_card,
    render_device_confirm,
    render_device_editor,
    render_device_list,
    room_range,
    schedulable,
    target_range,
    time_range,
)
from kraken.errors import ErrorCategory, KrakenError
from kraken.models import Device, DeviceLifecycleStatus, HeatPumpState

# Errors a customer can act on, told on the card; the rest take the general error path.
_TOLD_ON_THE_CARD = (ErrorCategory.USER_CAN_FIX, ErrorCategory.FATAL)
# Typed values: "7:30", "07.30", "7h30"; "80%", "80"; "21.5", "21,5 °C".
_TIME = re.compile(r"(\d{1,2})\s*[:.h]\s*(\d{2})")
_PERCENT = re.compile(r"(\d{1,3})\s*%?")
_CELSIUS = re.compile(r"(\d{1,2}(?:[.,]\d{1,2})?)\s*(?:°\s*c?|c)?", re.IGNORECASE)
# The input a refused value came in (the last part of Kraken's inputPath) -> what it is.
_FIELDS = {
    "max": "target",
    "weekdayTargetSoc": "target",
    "weekendTargetSoc": "target",
    "time": "time",
    "weekdayTargetTime": "time",
    "weekendTargetTime": "time",
    "min": "minimum",
    "temperature": "room",
}


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


async def redraw(turn: Turn, notice: str | None = None) -> None:
    """Re-show the device the chat is on (an open setting closes), else the list."""
    wanted, devices = turn.conv.device_id, await _devices(turn)
    found = [d for d in devices if d.id == wanted]
    if found and turn.conv.state is not State.DEVICES:
        _card(turn, found[0], notice, more=len(devices) > 1)
    else:
        await show_devices(turn, notice)


async def _devices(turn: Turn) -> list[Device]:
    conv = turn.conv
    if conv.account_number is None:
        return []
    found = await turn.kraken.devices(conv.account_number, conv.property_id)
    return [d for d in found if d.status.current is not DeviceLifecycleStatus.RETIRED]


def _card(
    turn: Turn,
    device: Device,
    notice: str | None = None,
    *,
    more: bool = True,
    heat: HeatPumpState | None = None,
) -> None:
    conv = turn.conv
    conv.device_id, conv.device_pending, conv.device_editing = device.id, None, None
    if conv.state is not State.DEVICE:
        turn.fire(Trigger.OPEN_DEVICE)
    turn.show(render_device_card(conv, device, more=more, heat=heat), notice)


def _what(pressed: CallbackData) -> tuple[str, str]:
    """The device hash a button carries, and what it sets (after the colon)."""
    hashed, _, what = pressed.arg.partition(":")
    return hashed, what


async def _pressed(turn: Turn, pressed: CallbackData) -> Device | None:
    """The device the button names, as Kraken has it now; None (the list shown) if gone."""
    return await _find(turn, lambda d: option_hash(d.id) == _what(pressed)[0])


async def _find(turn: Turn, match: Callable[[Device], bool]) -> Device | None:
    found = [d for d in await _devices(turn) if match(d)]
    if not found:
        await show_devices(turn, turn.text("device.changed"))
        return None
    return found[0]


def _problem(turn: Turn, error: KrakenError) -> str:
    """A refusal in plain words; raises what is not the customer's to act on (retry later,
    reconnecting: the engine's general error screen). A control this Kraken instance lacks
    is said on the card too: it is no wizard step to finish in the app."""
    if error.category is ErrorCategory.UNSUPPORTED:
        return turn.text("device.unsupported")  # this instance lacks the mutation
    if error.category not in _TOLD_ON_THE_CARD:
        raise error
    refused = [
        (
            _FIELDS.get(next((p for p in reversed(v.input_path) if not p.isdigit()), ""), ""),
            v.message,
        )
        for v in error.validation_errors
        if v.message
    ]
    return device_problem(turn.conv, error.code, error.refusal_reasons, refused)


async def _act(
    turn: Turn, device: Device, call: Callable[[], Awaitable[Device]], done: str
) -> None:
    try:
        updated = await call()
    except KrakenError as error:
        _card(turn, device, _problem(turn, error))
        return
    _card(turn, updated, turn.text(done))


def _changed(turn: Turn, device: Device) -> None:
    _card(turn, device, turn.text("device.changed"))


async def stale(turn: Turn, pressed: CallbackData) -> None:
    """A device button from a screen the chat has left (an old card, a closed setting):
    not acted on; the device as it is now, with "that has changed"."""
    if turn.conv.account_number is None:
        await turn.show_current()
        return
    turn.fire(Trigger.SHOW_DEVICES)
    device = await _pressed(turn, pressed)
    if device is not None:
        _changed(turn, device)


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
            _card(turn, device, _problem(turn, error))
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


# ---------------------------------------------------------------- switches


@tap(Action.DEVICE_CAP, Trigger.DEVICE_ACTION, bound=False)
async def _cap(turn: Turn, pressed: CallbackData) -> None:
    """The charging-duration cap, where Kraken says it applies."""
    kraken = turn.kraken
    await _switch(turn, pressed, "is_charging_duration_capped", kraken.cap_charging_duration)


@tap(Action.DEVICE_EXPORT, Trigger.DEVICE_ACTION, bound=False)
async def _export(turn: Turn, pressed: CallbackData) -> None:
    """Grid export of a battery or inverter, where Kraken says it applies."""
    await _switch(turn, pressed, "grid_export", turn.kraken.set_grid_export)


async def _switch(
    turn: Turn,
    pressed: CallbackData,
    name: str,
    call: Callable[[str, bool], Awaitable[Device]],
) -> None:
    device = await _pressed(turn, pressed)
    if device is None:
        return
    enable = _what(pressed)[1] == "1"
    now = getattr(device.preferences, name, None) if device.preferences else None
    if now != (DISABLED if enable else ENABLED) or not device.is_live:
        _changed(turn, device)
        return
    done = f"device.{name}.{ENABLED if enable else DISABLED}"
    await _act(turn, device, lambda: call(device.id, enable), done)


@tap(Action.DEVICE_HEATING, Trigger.DEVICE_ACTION, bound=False)
async def _heating(turn: Turn, pressed: CallbackData) -> None:
    await _heat_pump(turn, pressed, turn.kraken.set_climate_control)


@tap(Action.DEVICE_HOT_WATER, Trigger.DEVICE_ACTION, bound=False)
async def _hot_water(turn: Turn, pressed: CallbackData) -> None:
    await _heat_pump(turn, pressed, turn.kraken.set_hot_water)


async def _heat_pump(
    turn: Turn,
    pressed: CallbackData,
    call: Callable[[str, bool], Awaitable[HeatPumpState]],
) -> None:
    """Heating or hot water on or off: `devices` does not say which they are, so the card
    offers both until a mutation has answered the heat pump's state."""
    device = await _pressed(turn, pressed)
    if device is None:
        return
    if device.device_type != HEAT_PUMP or not device.is_live:
        _changed(turn, device)
        return
    try:
        heat = await call(device.id, _what(pressed)[1] == "1")
    except KrakenError as error:
        _card(turn, device, _problem(turn, error))
        return
    _card(turn, device, turn.text("device.heat.saved"), heat=heat)


# ---------------------------------------------------------------- values (DEVICE_INPUT)


@tap(Action.DEVICE_EDIT, Trigger.EDIT_DEVICE, bound=False)
async def _edit(turn: Turn, pressed: CallbackData) -> None:
    """Open a setting: the buttons offer common values, and typed text is read as one."""
    device = await _pressed(turn, pressed)
    if device is None:
        return
    editor = _editor(_what(pressed)[1])
    if editor is None or not _editable(device, editor):
        _changed(turn, device)
        return
    _editing(turn, device, editor)


def _editor(value: str | None) -> Editor | None:
    try:
        return Editor(value or "")
    except ValueError:
        return None


def _editable(device: Device, editor: Editor) -> bool:
    if editor is Editor.ROOM:
        return device.device_type == HEAT_PUMP and device.is_live
    return schedulable(device)


def _editing(turn: Turn, device: Device, editor: Editor, notice: str | None = None) -> None:
    """The setting open (DEVICE_INPUT), awaiting a tap or typed value."""
    conv = turn.conv
    conv.device_id, conv.device_editing = device.id, editor.value
    turn.fire(Trigger.EDIT_DEVICE)
    turn.show(render_device_editor(conv, device, editor), notice)


@tap(Action.DEVICE_VALUE, Trigger.DEVICE_VALUE, bound=False)
async def _value(turn: Turn, pressed: CallbackData) -> None:
    """A value button: "t0730" a time, "p90" a target, "c21" a room temperature."""
    device = await _pressed(turn, pressed)
    if device is None:
        return
    what = _what(pressed)[1]
    kind, raw = what[:1], what[1:]
    text = f"{raw[:2]}:{raw[2:]}" if kind == "t" else raw
    await _set(turn, device, text)


async def typed(turn: Turn, text: str) -> None:
    """Typed text while a setting is open: its new value."""
    wanted = turn.conv.device_id
    device = await _find(turn, lambda d: d.id == wanted)
    if device is not None:
        await _set(turn, device, text.strip())


async def _set(turn: Turn, device: Device, text: str) -> None:
    editor = _editor(turn.conv.device_editing)
    if editor is None or not _editable(device, editor):
        _changed(turn, device)
        return
    if editor is Editor.ROOM:
        await _set_room(turn, device, text)
    else:
        await _set_schedule(turn, device, editor, text)


async def _set_schedule(turn: Turn, device: Device, editor: Editor, text: str) -> None:
    """A ready-by time or a target charge for the editor's days, checked against the
    device's bounds before Kraken sees it."""
    times, targets = time_range(device), target_range(device)
    time, target = None, None
    if (found := _TIME.fullmatch(text)) is not None:
        hours, mins = int(found[1]), int(found[2])
        if hours > 23 or mins > 59 or not times.allows(hours * 60 + mins):
            _editing(turn, device, editor, _out_of(turn, "time", times, times=True))
            return
        time = clock(hours * 60 + mins)
    elif (found := _PERCENT.fullmatch(text)) is not None:
        if not targets.allows(int(found[1])):
            _editing(turn, device, editor, _out_of(turn, "target", targets))
            return
        target = float(found[1])
    else:
        _editing(turn, device, editor, turn.text("device.invalid.schedule"))
        return
    schedules = changed_schedules(device, editor, time=time, target=target)
    conv = turn.conv
    assert conv.account_number is not None
    try:
        updated = await turn.kraken.set_preferences(conv.account_number, device, schedules)
    except KrakenError as error:
        _editing(turn, device, editor, _problem(turn, error))
        return
    if updated is None:  # the deprecated mutation answers no device: read it back
        updated = await _find(turn, lambda d: d.id == device.id)
        if updated is None:
            return
    _editing(turn, updated, editor, turn.text("device.saved"))


async def _set_room(turn: Turn, device: Device, text: str) -> None:
    room = room_range(device)
    found = _CELSIUS.fullmatch(text)
    value = float(found[1].replace(",", ".")) if found else None
    if value is None or not room.allows(value):
        _editing(turn, device, Editor.ROOM, _out_of(turn, "room", room))
        return
    try:
        heat = await turn.kraken.set_room_temperature(device.id, value)
    except KrakenError as error:
        _editing(turn, device, Editor.ROOM, _problem(turn, error))
        return
    _card(turn, device, turn.text("device.heat.saved"), heat=heat)


def _out_of(turn: Turn, what: str, allowed: Range, *, times: bool = False) -> str:
    """Why a typed value is not taken: what is allowed, in the device's own bounds."""
    show: Callable[[float], str] = (lambda v: clock(int(v))) if times else number
    return turn.text(
        f"device.invalid.{what}",
        low=show(allowed.low),
        high=show(allowed.high),
        step=number(allowed.step),
    )


# The buttons above: a tap of one the chat's state does not allow is answered by `stale`.
ACTIONS = frozenset(
    action
    for action, spec in TAPS.items()
    if spec.handler.__module__ == __name__ and action is not Action.DEVICES_LIST
)
