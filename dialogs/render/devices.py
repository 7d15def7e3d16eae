"""The customer's devices after onboarding: the list, one device's card, and "are you sure?".

Pure functions of the conversation and the devices as Kraken returned them. Device buttons
name their device by a hash of its id (like list options) and are not bound to a wizard
step: a card stays usable after onboarding, and each action re-reads the device first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from dialogs.callback_data import Action, encode, option_hash
from dialogs.conversation import Conversation
from dialogs.i18n import has_key, t
from dialogs.render.common import paragraphs
from dialogs.screen import Button, CallbackButton, InputExpectation, Screen
from kraken.models import (
    WEEKDAYS,
    WEEKEND,
    Device,
    DeviceLifecycleStatus,
    HeatPumpState,
    PreferenceSchedule,
)

# Boosting means charging now: it applies to cars and their chargers.
BOOSTABLE = ("ELECTRIC_VEHICLES", "CHARGE_POINTS")
HEAT_PUMP = "HEAT_PUMPS"
SHOWN_ALERTS = 3
# Switch-like preferences: shown (and offered) only where Kraken says they apply.
ENABLED, DISABLED = "ENABLED", "DISABLED"
# The values offered as buttons (those outside the device's bounds are left out).
COMMON_TIMES = ("06:00", "07:00", "08:00")
COMMON_TARGETS = (80, 90, 100)
COMMON_ROOM = (19, 20, 21, 22)


class Editor(StrEnum):
    """What a DEVICE_INPUT screen sets: a schedule (weekdays or weekend) or the room."""

    WEEKDAYS = "weekdays"
    WEEKEND = "weekend"
    ROOM = "room"

    @property
    def days(self) -> tuple[str, ...]:
        return WEEKEND if self is Editor.WEEKEND else WEEKDAYS


@dataclass(frozen=True)
class Range:
    """Values `low`-`high` in `step`s (a time range: minutes after midnight)."""

    low: float
    high: float
    step: float

    def allows(self, value: float) -> bool:
        if not self.low <= value <= self.high:
            return False
        steps = (Decimal(str(value)) - Decimal(str(self.low))) / Decimal(str(self.step))
        return steps == steps.to_integral_value()


# Kraken refuses what lies outside these; without bounds from Kraken, only the obvious.
ANY_PERCENT = Range(0, 100, 1)
ANY_TIME = Range(0, 23 * 60 + 59, 1)
ANY_ROOM = Range(5, 35, 0.5)


def minutes(text: str | None) -> int | None:
    """ "07:30" or "07:30:00" -> 450."""
    if not text or len(text) < 5 or text[2] != ":":
        return None
    hours, mins = text[:2], text[3:5]
    return int(hours) * 60 + int(mins) if hours.isdigit() and mins.isdigit() else None


def clock(total: int) -> str:
    return f"{total // 60:02d}:{total % 60:02d}"


def number(value: float) -> str:
    """80.0 -> "80", 21.5 -> "21.5"."""
    return f"{value:g}"


def schedulable(device: Device) -> bool:
    """A charge schedule (ready-by time and target per cent) the customer can change."""
    prefs = device.preferences
    return bool(
        device.is_live
        and prefs is not None
        and prefs.unit == "PERCENTAGE"
        and prefs.day(WEEKDAYS[0]) is not None
    )


def target_range(device: Device) -> Range:
    bounds = device.preference_setting.bounds if device.preference_setting else None
    if bounds is None or bounds.min is None or bounds.max is None:
        return ANY_PERCENT
    return Range(bounds.min, bounds.max, bounds.step or 1)


def time_range(device: Device) -> Range:
    bounds = device.preference_setting.bounds if device.preference_setting else None
    low = minutes(bounds.time_from) if bounds else None
    high = minutes(bounds.time_to) if bounds else None
    if bounds is None or low is None or high is None:
        return ANY_TIME
    return Range(low, high, bounds.time_step or 1)


def room_range(device: Device) -> Range:
    """A heat pump's set-point bounds (`preferenceSetting` in Celsius), else only the
    plausible (Kraken's KT-CT-4329 then says its own)."""
    setting = device.preference_setting
    bounds = setting.bounds if setting is not None and setting.unit == "CELSIUS" else None
    if bounds is None or bounds.min is None or bounds.max is None:
        return ANY_ROOM
    return Range(bounds.min, bounds.max, bounds.step or ANY_ROOM.step)


def device_button(
    conv: Conversation, key: str, action: Action, device: Device, what: str = "", **p: object
) -> Button:
    """A button naming its device by hash (and, after a colon, what it sets)."""
    arg = f"{option_hash(device.id)}:{what}" if what else option_hash(device.id)
    return CallbackButton(t(conv.locale, key, None, **p), encode(None, action, arg))


def device_name(conv: Conversation, device: Device) -> str:
    made = " ".join(part for part in (device.make, device.model) if part)
    return device.name or made or t(conv.locale, "step.done.device_fallback")


def _type(conv: Conversation, device: Device) -> str:
    key = f"device.type.{device.device_type}"
    return t(conv.locale, key if has_key(key) else "device.type.other")


def render_device_list(conv: Conversation, devices: Sequence[Device]) -> Screen:
    if not devices:
        return Screen(text=t(conv.locale, "device.list.none", account=conv.account_number))
    keyboard: list[list[Button]] = [
        [
            CallbackButton(
                f"{device_name(conv, d)} · {_type(conv, d)}",
                encode(None, Action.DEVICE_OPEN, option_hash(d.id)),
            )
        ]
        for d in devices
    ]
    return Screen(text=t(conv.locale, "device.list.title"), keyboard=keyboard)


def render_device_card(
    conv: Conversation,
    device: Device,
    *,
    more: bool = False,
    heat: HeatPumpState | None = None,
) -> Screen:
    """What is true now, as `devices` says; `more`: the account has other devices; `heat`:
    a heat pump's state as its last mutation answered (`devices` does not show it)."""
    loc, status = conv.locale, device.status
    lifecycle = status.current.value if status.current else "UNKNOWN"
    lines = [t(loc, "device.card.title", name=device_name(conv, device), type=_type(conv, device))]
    live = status.current is DeviceLifecycleStatus.LIVE
    if live:
        # Not the lifecycle text ("live — smart charging is on"): paused is paused.
        lines.append(t(loc, "device.card.paused" if status.is_suspended else "device.card.on"))
    else:
        lines.append(t(loc, "device.card.status", status=t(loc, f"bot.device_status.{lifecycle}")))
    if status.current_state:
        key = f"device.state.{status.current_state}"
        if has_key(key):
            lines.append(t(loc, "device.card.now", state=t(loc, key)))
    if status.state_of_charge is not None:
        limit = status.state_of_charge_limit or 100
        lines.append(t(loc, "device.card.battery", soc=status.state_of_charge, limit=limit))
    state = device.re_authentication_state
    reauth = bool(state is not None and state.is_eligible)
    alerts = [f"• {a.message}" for a in device.alerts if a.message][:SHOWN_ALERTS]
    text = paragraphs(
        [
            "\n".join(lines),
            _settings(conv, device, heat),
            t(loc, "device.card.reauth") if reauth else None,
            "\n".join([t(loc, "device.card.alerts"), *alerts]) if alerts else None,
        ]
    )
    keyboard = _card_keyboard(conv, device, live, reauth, more)
    if live:
        keyboard[-1 - more : -1 - more] = _settings_keyboard(conv, device, heat)
    return Screen(text=text, keyboard=keyboard)


def _switch(device: Device, name: str) -> str | None:
    """ENABLED / DISABLED where the preference applies to this device, else None."""
    value = getattr(device.preferences, name, None) if device.preferences else None
    return value if value in (ENABLED, DISABLED) else None


def schedule_line(conv: Conversation, device: Device, editor: Editor) -> str | None:
    prefs = device.preferences
    day = prefs.day(editor.days[0]) if prefs else None
    if day is None or day.max is None or day.clock is None:
        return None
    return t(conv.locale, f"device.schedule.{editor.value}", target=number(day.max), time=day.clock)


def _settings(conv: Conversation, device: Device, heat: HeatPumpState | None) -> str | None:
    """The schedule, the switches and a heat pump's state, as far as they are known."""
    loc, lines = conv.locale, []
    if schedulable(device):
        lines.append(t(loc, "device.schedule.title"))
        lines += [schedule_line(conv, device, e) or "" for e in (Editor.WEEKDAYS, Editor.WEEKEND)]
    for name in ("is_charging_duration_capped", "grid_export"):
        value = _switch(device, name)
        if value is not None:
            lines.append(t(loc, f"device.{name}.{value}"))
    if heat is not None:
        for name in ("climate_control_enabled", "hot_water_enabled"):
            value = getattr(heat, name)
            if value is not None:
                lines.append(t(loc, f"device.heat.{name}.{'on' if value else 'off'}"))
        if heat.room_temperature is not None:
            lines.append(t(loc, "device.heat.room", value=number(heat.room_temperature)))
    return "\n".join(line for line in lines if line) or None


def _settings_keyboard(
    conv: Conversation, device: Device, heat: HeatPumpState | None
) -> list[list[Button]]:
    rows: list[list[Button]] = []
    if schedulable(device):
        rows.append(
            [
                device_button(conv, f"btn.device.{e.value}", Action.DEVICE_EDIT, device, e.value)
                for e in (Editor.WEEKDAYS, Editor.WEEKEND)
            ]
        )
    for name, action in (
        ("is_charging_duration_capped", Action.DEVICE_CAP),
        ("grid_export", Action.DEVICE_EXPORT),
    ):
        value = _switch(device, name)
        if value is not None:
            turn_on = value == DISABLED
            key = f"btn.device.{name}.{'on' if turn_on else 'off'}"
            rows.append([device_button(conv, key, action, device, "1" if turn_on else "0")])
    if device.device_type == HEAT_PUMP:
        for name, action in (
            ("climate_control_enabled", Action.DEVICE_HEATING),
            ("hot_water_enabled", Action.DEVICE_HOT_WATER),
        ):
            known = getattr(heat, name) if heat is not None else None
            choices = (True, False) if known is None else (not known,)
            rows.append(
                [
                    device_button(
                        conv,
                        f"btn.device.{name}.{'on' if on else 'off'}",
                        action,
                        device,
                        "1" if on else "0",
                    )
                    for on in choices
                ]
            )
        rows.append([device_button(conv, "btn.device.room", Action.DEVICE_EDIT, device, "room")])
    return rows


def render_device_editor(conv: Conversation, device: Device, editor: Editor) -> Screen:
    """A setting awaiting a tap or a typed value, with what it is now and what is allowed."""
    loc = conv.locale
    back = [device_button(conv, "btn.device.back", Action.DEVICE_OPEN, device)]
    if editor is Editor.ROOM:
        room = room_range(device)
        hint = t(
            loc,
            "device.editor.room",
            low=number(room.low),
            high=number(room.high),
            step=number(room.step),
        )
        values = [
            device_button(conv, "btn.device.celsius", Action.DEVICE_VALUE, device, f"c{v}", value=v)
            for v in COMMON_ROOM
            if room.allows(v)
        ]
        title = t(loc, "device.editor.room_title", name=device_name(conv, device))
        keyboard = [row for row in (values, back) if row]
        return Screen(
            text=paragraphs([title, hint]), keyboard=keyboard, expects=InputExpectation("room")
        )
    times, targets = time_range(device), target_range(device)
    hint = t(
        loc,
        "device.editor.schedule",
        time_from=clock(int(times.low)),
        time_to=clock(int(times.high)),
        time_step=number(times.step),
        low=number(targets.low),
        high=number(targets.high),
        step=number(targets.step),
    )
    time_row = [
        device_button(
            conv, "btn.device.time", Action.DEVICE_VALUE, device, f"t{c.replace(':', '')}", time=c
        )
        for c in COMMON_TIMES
        if times.allows(minutes(c) or 0)
    ]
    target_row = [
        device_button(conv, "btn.device.percent", Action.DEVICE_VALUE, device, f"p{v}", value=v)
        for v in COMMON_TARGETS
        if targets.allows(v)
    ]
    text = paragraphs(
        [
            t(loc, f"device.editor.{editor.value}", name=device_name(conv, device)),
            schedule_line(conv, device, editor),
            hint,
        ]
    )
    keyboard = [row for row in (time_row, target_row) if row] + [back]
    return Screen(text=text, keyboard=keyboard, expects=InputExpectation(editor.value))


def changed_schedules(
    device: Device, editor: Editor, *, time: str | None = None, target: float | None = None
) -> list[PreferenceSchedule]:
    """The editor's days with the new time or target, each keeping the rest of its day."""
    prefs = device.preferences
    result = []
    for day in editor.days:
        was = prefs.day(day) if prefs else None
        result.append(
            PreferenceSchedule(
                day_of_week=day,
                time=time or (was.clock if was else None),
                max=target if target is not None else (was.max if was else None),
                min=was.min if was else None,
            )
        )
    return result


def _card_keyboard(
    conv: Conversation, device: Device, live: bool, reauth: bool, more: bool
) -> list[list[Button]]:
    rows: list[list[Button]] = []
    if reauth:
        rows.append([device_button(conv, "btn.device.reauth", Action.DEVICE_REAUTH, device)])
    if live:
        if device.status.is_suspended:
            rows.append([device_button(conv, "btn.device.resume", Action.DEVICE_RESUME, device)])
        else:
            rows.append([device_button(conv, "btn.device.pause", Action.DEVICE_PAUSE, device)])
        if device.device_type in BOOSTABLE:
            boosting = device.status.current_state == "BOOSTING"
            key, action = (
                ("btn.device.stop_boost", Action.DEVICE_STOP_BOOST)
                if boosting
                else ("btn.device.boost", Action.DEVICE_BOOST)
            )
            rows.append([device_button(conv, key, action, device)])
    rows.append([device_button(conv, "btn.device.remove", Action.DEVICE_REMOVE, device)])
    if more:
        all_devices = CallbackButton(
            t(conv.locale, "btn.device.all"), encode(None, Action.DEVICES_LIST)
        )
        rows.append([all_devices])
    return rows


def render_device_confirm(conv: Conversation, device: Device, what: str) -> Screen:
    """Before what is not undone by a tap: pausing (it then charges at any price) and
    removing (it has to be set up again)."""
    key = f"device.confirm.{what}"
    if what == "pause" and device.device_type == "HEAT_PUMPS":
        key = "device.confirm.pause_heat_pump"
    yes = device_button(conv, f"btn.device.yes_{what}", Action.DEVICE_YES, device)
    no = device_button(conv, "btn.device.no", Action.DEVICE_NO, device)
    return Screen(text=t(conv.locale, key, name=device_name(conv, device)), keyboard=[[yes], [no]])


def device_problem(
    conv: Conversation,
    code: str | None,
    reasons: Sequence[str],
    refused: Sequence[tuple[str, str]] = (),
) -> str:
    """A refused device action in plain words: each boost refusal reason; each refused value
    (`refused`: the input's field, Kraken's message) by name; else the code's."""
    loc = conv.locale
    if refused:
        said = []
        for field, message in refused:
            key = f"device.field.{field}"
            name = t(loc, key if has_key(key) else "device.field.other")
            said.append(t(loc, "device.refused_value", field=name, message=message))
        return "\n".join(said)
    if reasons:
        said = [t(loc, f"device.bc.{r}") for r in reasons if has_key(f"device.bc.{r}")]
        if said:
            return "\n".join([t(loc, "device.boost_refused"), *(f"• {s}" for s in said)])
    key = f"device.error.{code}"
    return t(loc, key if has_key(key) else "device.error.other")
