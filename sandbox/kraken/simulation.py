"""The car behind a LIVE EV or charger, simulated on the sandbox clock.

Like the wizard's waits, nothing runs in the background: whenever a device is read or acted
on, `settle` replays the time since it was last looked at, segment by segment. The car charges
at `CHARGE_RATE` percentage points an hour (divided by `time_scale`, so a fast demo charges
fast) while it is plugged in at home and Kraken may reach it:

- boosting: up to its own `stateOfChargeLimit`; the boost then ends by itself;
- otherwise, smart control (not suspended) charges just in time for the next ready-by time of
  its schedule (`preferences`), up to that day's target: SMART_CONTROL_IN_PROGRESS meanwhile.

Schedules are read in UTC. Unplugging or leaving home (hooks) stops a boost.
"""

from __future__ import annotations

import datetime as dt
import math

from .models import Device
from .preferences import DAYS, ready_by

CHARGE_RATE = 20.0  # percentage points an hour, boost and smart charging alike [I]
MAX_SEGMENTS = 10_000  # a clock jumped years ahead still settles
EPSILON = 1e-9
LIVE = "LIVE"


def rate_per_second(time_scale: float) -> float:
    return CHARGE_RATE / 3600 / max(time_scale, 1e-3)


def simulated(device: Device) -> bool:
    return device.device_type == "ELECTRIC_VEHICLES" and device.current == LIVE


def reachable(device: Device) -> bool:
    """Plugged in at home and still authorised: Kraken can charge it."""
    return device.plugged_in and device.at_home and not device.auth_expired


def settle(device: Device, now: float, time_scale: float) -> None:
    """Bring the device's state of charge and boost up to `now`."""
    start = device.simulated_until
    device.simulated_until = max(start, now)
    if not simulated(device):
        return
    rate = rate_per_second(time_scale)
    moment = start
    for _ in range(MAX_SEGMENTS):
        if moment >= now:
            break
        charging, until, ceiling = _segment(device, moment, rate)
        end = min(until, now)
        if charging:
            grown = device.state_of_charge + rate * (end - moment)
            device.state_of_charge = min(grown, ceiling)
        moment = end
        limit = device.state_of_charge_limit
        if device.boosting and device.state_of_charge >= limit - EPSILON:
            device.state_of_charge, device.boosting = float(limit), False


def smart_charging(device: Device, now: float, time_scale: float) -> bool:
    """Is smart control charging the car at `now` (once settled)?"""
    if not simulated(device) or device.boosting:
        return False
    return _segment(device, now, rate_per_second(time_scale))[0]


def _segment(device: Device, moment: float, rate: float) -> tuple[bool, float, float]:
    """(charging?, until when that holds, the charge it stops at) from `moment` on."""
    soc = device.state_of_charge
    if not reachable(device):
        return False, math.inf, soc
    if device.boosting:
        limit = float(device.state_of_charge_limit)
        return True, moment + max(limit - soc, 0.0) / rate, limit
    if device.is_suspended:
        return False, math.inf, soc
    upcoming = _next_ready(device, moment)
    if upcoming is None:
        return False, math.inf, soc
    ready, target = upcoming
    target = min(target, float(device.state_of_charge_limit))
    if soc >= target - EPSILON:
        return False, ready, soc
    needed = (target - soc) / rate
    begin = ready - needed
    if moment < begin:
        return False, begin, soc
    return True, min(ready, moment + needed), target


def _next_ready(device: Device, moment: float) -> tuple[float, float] | None:
    """The first ready-by time after `moment` and its target charge."""
    today = dt.datetime.fromtimestamp(moment, dt.UTC).date()
    for offset in range(8):
        day = today + dt.timedelta(days=offset)
        schedule = ready_by(device, DAYS[day.weekday()])
        if schedule is None:
            continue
        total, target = schedule
        midnight = dt.datetime.combine(day, dt.time(), dt.UTC).timestamp()
        ready = midnight + total * 60
        if ready > moment:
            return ready, target
    return None
