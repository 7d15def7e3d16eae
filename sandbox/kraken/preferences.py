"""A device's preferences: the schedule it is ready by, its bounds, and the two ways to set it.

`setDevicePreferences` takes the UK reference's `SmartFlexDevicePreferencesInput` (a mode, a
unit and per-day schedules); the deprecated `setVehicleChargePreferences` takes weekday and
weekend targets. Both land in `Device.schedules` (day -> time, max, min), which `devices`
shows as `preferences`, the bounds as `preferenceSetting`, and a vehicle's as
`chargingPreferences`. Bounds and defaults are the sandbox's guess (README, [I]); every refused
value is named in `validationErrors` of a KT-CT-4321.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import FieldError, KrakenError
from .models import Device

DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
WEEKDAYS, WEEKEND = DAYS[:5], DAYS[5:]
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?")
SERIALIZER = "KT-CT-4321"


@dataclass(frozen=True)
class Profile:
    """What one kind of device accepts: modes, unit, the bounds of a schedule's values and
    times, and the schedule it starts with (`defaults`: day -> (time, max, min))."""

    setting_id: int
    modes: tuple[str, ...]
    unit: str
    target_type: str
    low: float
    high: float
    step: float
    time_from: str = "00:00"
    time_to: str = "23:30"
    time_step: int = 30  # minutes
    defaults: dict[str, tuple[str, float, float | None]] = field(default_factory=dict)
    schedulable: bool = True


def _days(days: Iterable[str], value: tuple[str, float, float | None]) -> dict[str, Any]:
    return dict.fromkeys(days, value)


PROFILES = {
    # Intelligent-Octopus-like: a target charge of 20-100 % in 5s, ready between 04:00 and 11:00.
    "ELECTRIC_VEHICLES": Profile(
        1,
        ("CHARGE",),
        "PERCENTAGE",
        "ABSOLUTE_STATE_OF_CHARGE",
        20,
        100,
        5,
        "04:00",
        "11:00",
        defaults={**_days(WEEKDAYS, ("07:00", 80, None)), **_days(WEEKEND, ("09:00", 80, None))},
    ),
    "BATTERIES": Profile(
        2,
        ("CHARGE",),
        "PERCENTAGE",
        "ABSOLUTE_STATE_OF_CHARGE",
        0,
        100,
        5,
        defaults=_days(DAYS, ("16:00", 100, 20)),
    ),
    # min is the heating set point, max the cooling one (the reference's schedule fields).
    "HEAT_PUMPS": Profile(
        3,
        ("HEAT", "COOL"),
        "CELSIUS",
        "ABSOLUTE_TEMPERATURE",
        7,
        30,
        0.5,
        defaults=_days(DAYS, ("06:30", 24, 20)),
    ),
    "INVERTERS": Profile(
        4, ("CHARGE",), "PERCENTAGE", "ABSOLUTE_STATE_OF_CHARGE", 0, 100, 5, schedulable=False
    ),
}
CAPPABLE = frozenset({"ELECTRIC_VEHICLES", "BATTERIES"})  # isChargingDurationCapped applies
EXPORTING = frozenset({"BATTERIES", "INVERTERS"})  # gridExport applies


def profile(device: Device) -> Profile:
    return PROFILES.get(device.device_type, PROFILES["INVERTERS"])


def initialise(device: Device) -> None:
    """A newly registered device's preferences."""
    device.schedules = {
        day: {"time": time, "max": high, "min": low}
        for day, (time, high, low) in profile(device).defaults.items()
    }
    device.charging_duration_capped = (
        "DISABLED" if device.device_type in CAPPABLE else "NOT_APPLICABLE"
    )
    device.grid_export = "ENABLED" if device.device_type in EXPORTING else "NOT_APPLICABLE"


# --- reading times and values ----------------------------------------------------------------


def minutes(text: object) -> int | None:
    """'07:30' / '07:30:00' -> 450; None for anything else."""
    match = _TIME.fullmatch(str(text).strip()) if isinstance(text, str) else None
    if match is None:
        return None
    hours, mins, secs = int(match[1]), int(match[2]), int(match[3] or 0)
    if hours > 23 or mins > 59 or secs > 59:
        return None
    return hours * 60 + mins


def clock(total: int) -> str:
    return f"{total // 60:02d}:{total % 60:02d}"


def _number(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


class _Checker:
    """Collects every refused value of one input as a validation error."""

    def __init__(self, rules: Profile) -> None:
        self.rules = rules
        self.errors: list[FieldError] = []

    def refuse(self, message: str, *path: str | int) -> None:
        self.errors.append(FieldError(SERIALIZER, message, ("input", *map(str, path))))

    def value(self, raw: object, *path: str | int) -> float | None:
        rules = self.rules
        number = _number(raw)
        if number is None:
            self.refuse(f"'{raw}' is not a number.", *path)
            return None
        steps = (number - Decimal(str(rules.low))) / Decimal(str(rules.step))
        if not rules.low <= number <= rules.high or steps != steps.to_integral_value():
            self.refuse(
                f"{_plain(number)} is not allowed: choose {_plain(rules.low)}-{_plain(rules.high)}"
                f" {rules.unit.lower()} in steps of {_plain(rules.step)}.",
                *path,
            )
            return None
        return float(number)

    def time(self, raw: object, *path: str | int) -> str | None:
        rules = self.rules
        total = minutes(raw)
        low, high = minutes(rules.time_from), minutes(rules.time_to)
        if total is None:
            self.refuse(f"'{raw}' is not a time of day (HH:MM).", *path)
            return None
        assert low is not None and high is not None
        if not low <= total <= high or (total - low) % rules.time_step:
            self.refuse(
                f"{clock(total)} is not allowed: choose {rules.time_from}-{rules.time_to} "
                f"in steps of {rules.time_step} minutes.",
                *path,
            )
            return None
        return clock(total)

    def raise_if_any(self) -> None:
        if self.errors:
            raise KrakenError(SERIALIZER, validation_errors=self.errors)


def _plain(number: float | Decimal) -> str:
    return format(Decimal(str(number)).normalize(), "f")


# --- the two mutations -------------------------------------------------------------------------


def set_device_preferences(device: Device, given: dict[str, Any]) -> Device:
    """`setDevicePreferences`: the given days' schedules replace those days' (others stay).
    4374 for a retired device or one without a schedule, 4314 when Kraken cannot reach it."""
    rules = profile(device)
    if device.current == "RETIRED":
        raise KrakenError("KT-CT-4374", description="The device has been de-authenticated.")
    if not rules.schedulable:
        raise KrakenError("KT-CT-4374", description="This device takes no schedule.")
    if device.auth_expired:
        raise KrakenError("KT-CT-4314")
    check = _Checker(rules)
    if given.get("mode") not in rules.modes:
        check.refuse(f"This device's mode is one of {', '.join(rules.modes)}.", "mode")
    if given.get("unit") != rules.unit:
        check.refuse(f"This device's unit is {rules.unit}.", "unit")
    schedules = given.get("schedules") or []
    if not any(schedules):
        check.refuse("Give at least one day's schedule.", "schedules")
    updates: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(schedules):
        if entry is None:
            check.refuse("A schedule cannot be null.", "schedules", index)
            continue
        day = str(entry.get("dayOfWeek"))
        if day in updates:
            check.refuse(f"{day} is given twice.", "schedules", index, "dayOfWeek")
        time = check.time(entry.get("time"), "schedules", index, "time")
        high = check.value(entry.get("max"), "schedules", index, "max")
        low = None
        if entry.get("min") is not None:
            low = check.value(entry.get("min"), "schedules", index, "min")
            if low is not None and high is not None and low > high:
                check.refuse("min cannot be above max.", "schedules", index, "min")
        elif rules.unit == "CELSIUS":
            check.refuse("A heat pump needs a heating set point (min).", "schedules", index, "min")
        updates[day] = {"time": time, "max": high, "min": low}
    check.raise_if_any()
    device.schedules.update(updates)
    return device


def set_vehicle_preferences(device: Device, given: dict[str, Any]) -> None:
    """The deprecated `setVehicleChargePreferences`: weekday and weekend target and time."""
    check = _Checker(PROFILES["ELECTRIC_VEHICLES"])
    updates: dict[str, dict[str, Any]] = {}
    for part, days in (("weekday", WEEKDAYS), ("weekend", WEEKEND)):
        soc, time = given.get(f"{part}TargetSoc"), given.get(f"{part}TargetTime")
        new = {
            "max": None if soc is None else check.value(soc, f"{part}TargetSoc"),
            "time": None if time is None else check.time(time, f"{part}TargetTime"),
        }
        for day in days:
            updates[day] = {k: v for k, v in new.items() if v is not None}
    check.raise_if_any()
    for day, update in updates.items():
        device.schedules[day] = {**device.schedules.get(day, {"min": None}), **update}


# --- views -------------------------------------------------------------------------------------


def _value(number: object) -> float | None:
    return None if number is None else float(str(number))


def preferences_view(device: Device) -> dict[str, Any]:
    rules = profile(device)
    return {
        "__typename": "SmartFlexDevicePreferences",
        "mode": rules.modes[0],
        "unit": rules.unit,
        "targetType": rules.target_type,
        "gridExport": device.grid_export,
        "isChargingDurationCapped": device.charging_duration_capped,
        "schedules": [
            {
                "dayOfWeek": day,
                "time": f"{device.schedules[day]['time']}:00",
                "max": _value(device.schedules[day]["max"]),
                "min": _value(device.schedules[day]["min"]),
                "upperLimit": None,
            }
            for day in DAYS
            if day in device.schedules
        ],
    }


def setting_view(device: Device) -> dict[str, Any] | None:
    rules = profile(device)
    if not rules.schedulable:
        return None
    return {
        "__typename": "FlexDevicePreferenceSetting",
        "id": rules.setting_id,
        "deviceType": device.device_type,
        "mode": rules.modes[0],
        "unit": rules.unit,
        "scheduleSettings": [
            {
                "__typename": "FlexDevicePreferenceScheduleSetting",
                "id": rules.setting_id,
                "min": rules.low,
                "max": rules.high,
                "step": rules.step,
                "timeFrom": f"{rules.time_from}:00",
                "timeTo": f"{rules.time_to}:00",
                "timeStep": rules.time_step,
            }
        ],
    }


def charging_preferences_view(device: Device) -> dict[str, Any]:
    rules = PROFILES["ELECTRIC_VEHICLES"]
    weekday, weekend = device.schedules["MONDAY"], device.schedules["SATURDAY"]
    return {
        "weekdayTargetSoc": round(weekday["max"]),
        "weekdayTargetTime": f"{weekday['time']}:00",
        "weekendTargetSoc": round(weekend["max"]),
        "weekendTargetTime": f"{weekend['time']}:00",
        "minimumSoc": round(rules.low),
        "maximumSoc": round(rules.high),
    }


def ready_by(device: Device, day: str) -> tuple[int, float] | None:
    """(minutes after midnight, target) of a day's schedule, for the simulation."""
    schedule = device.schedules.get(day)
    if schedule is None or schedule.get("max") is None:
        return None
    total = minutes(schedule["time"])
    return None if total is None else (total, float(schedule["max"]))
