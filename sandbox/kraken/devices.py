"""What a registered device answers for itself, with the codes, messages and refusal reasons
the EU mutations reference lists: the test-charge vocabulary, smart control (suspend), boost,
the charging-duration cap and grid export, the heat-pump controls, de-authentication, and
what the `/sandbox/devices/...` hooks do to it.

Functions take the device already settled (simulation.py) and, where a heat pump's zones act
together, the whole system (`system`: every zone sharing the controller, the device included).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from .errors import FieldError, KrakenError
from .models import Alert, Device
from .preferences import CAPPABLE, EXPORTING

ELECTRIC_VEHICLES = "ELECTRIC_VEHICLES"
HEAT_PUMPS = "HEAT_PUMPS"
LIVE, RETIRED = "LIVE", "RETIRED"
TEST_IN_PROGRESS = "ONBOARDING_TEST_IN_PROGRESS"
# Heat-pump makes whose systems have several zones (each a device of its own) [I].
HEAT_PUMP_ZONES = {"Octopus Energy": ("ZONE_1", "ZONE_2")}
ROOM_TEMPERATURE = (7.0, 30.0, 0.5)  # setRoomTemperature bounds and step, Celsius [I]
AUTH_ALERT = "We can no longer reach your {name}: sign in to {provider} again to keep it smart."

# TestChargeRefusalReason (the wizard's TestCharge.error); triggerTestCharge prefixes "TC_".
REFUSAL_REASONS = {
    "DEVICE_LIVE": "The device is already live.",
    "DEVICE_ONBOARDING_IN_PROGRESS": "The device is still being onboarded.",
    "DEVICE_RETIRED": "The device has been retired.",
    "DEVICE_SUSPENDED": "Smart control of the device is suspended.",
    "DEVICE_DISCONNECTED": "The device is not plugged in.",
    "DEVICE_ALREADY_CHARGING": "The device is already charging.",
    "DEVICE_AWAY_FROM_HOME": "The device is away from home.",
    "DEVICE_NO_LOCATION_CONFIGURED": "The device has no home location configured.",
    "DEVICE_LOCATION_UNABLE_TO_IDENTIFY": "The device's location could not be identified.",
    "DEVICE_LOCATION_MISSING": "The device did not report a location.",
}
# TestDispatchAssessmentFailureReason: why a test charge that ran failed.
FAILURE_REASONS = {
    "UNKNOWN": "The test charge failed for an unknown reason.",
    "ASSESSMENTS_FAILED": "Both power-based and charge status-based assessments failed.",
    "NOT_AT_HOME": "The vehicle was not at home during the test charge.",
    "UNABLE_TO_COMMUNICATE": "We could not communicate with the device.",
    "SOC_LIMIT_REACHED": "The battery reached its charge limit.",
    "ERROR": "The device reported an error.",
}
TEST_CHARGE_OUTCOMES = frozenset({"OK", *REFUSAL_REASONS, *FAILURE_REASONS})
# A Tesla without the supplier's virtual key ignores the charge command (S2: "the test charge
# will be unsuccessful without first completing this step"): the test runs, then fails so.
VIRTUAL_KEY_MISSING = "VIRTUAL_KEY_MISSING"
VIRTUAL_KEY_FAILURE_REASON = "UNABLE_TO_COMMUNICATE"


def _charge_error(message: str, error_type: str, reason: str, description: str) -> dict[str, Any]:
    return {
        "message": message,
        "errorType": error_type,
        "reasons": [reason],
        "descriptions": [description],
    }


def refusal_error(reason: str) -> dict[str, Any]:
    return _charge_error(
        "TestChargeRefused", "UNABLE_TO_INITIATE_TEST_CHARGE", reason, REFUSAL_REASONS[reason]
    )


def failure_error(reason: str, description: str | None = None) -> dict[str, Any]:
    return _charge_error(
        "Test dispatch failed",
        "UNABLE_TO_COMPLETE_TEST_CHARGE",
        reason,
        description or FAILURE_REASONS[reason],
    )


def trigger_refusal(device: Device) -> str | None:
    """Why `triggerTestCharge` refuses this device outright (TC_ reason), if it does."""
    if device.current == RETIRED:
        return "TC_DEVICE_RETIRED"
    if device.current == LIVE:
        return "TC_DEVICE_LIVE"
    if device.current == TEST_IN_PROGRESS:
        return "TC_DEVICE_ONBOARDING_IN_PROGRESS"
    if device.is_suspended:
        return "TC_DEVICE_SUSPENDED"
    if not device.at_home:
        return "TC_DEVICE_AWAY_FROM_HOME"
    if not device.plugged_in:
        return "TC_DEVICE_DISCONNECTED"
    return None


# --- smart control and boost --------------------------------------------------------------------


def smart_control(system: list[Device], device: Device, action: str) -> Device:
    """`updateDeviceSmartControl`: a heat pump's zones pause and resume together; asking for
    the state the device is already in changes nothing."""
    suspend = action == "SUSPEND"
    if device.current == RETIRED and device.system_id is not None:
        raise KrakenError("KT-CT-4387")  # its controller went with the de-authentication
    if device.auth_expired:
        raise KrakenError("KT-CT-4314")
    if device.current != LIVE:
        raise KrakenError("KT-CT-4358" if suspend else "KT-CT-4359")
    for member in system:
        if member.current == LIVE:
            member.is_suspended = suspend
            member.boosting = member.boosting and not suspend
    return device


def boost(device: Device, action: str) -> Device:
    """`updateBoostCharge`: only a live EV or charger boosts (KT-CT-4356 for other devices, and
    for one Kraken cannot reach now that its authentication expired)."""
    if device.device_type != ELECTRIC_VEHICLES or device.auth_expired:
        raise KrakenError("KT-CT-4356")
    if action == "CANCEL":
        if not device.boosting:
            raise KrakenError("KT-CT-4354")
        device.boosting = False
        return device
    refusals = boost_refusals(device)
    if refusals:
        raise KrakenError("KT-CT-4357", extra={"boostChargeRefusalReasons": refusals})
    device.boosting = True
    return device


def boost_refusals(device: Device) -> list[str]:
    """Every reason the seed lists that applies (a retired or not-yet-live device: that one)."""
    if device.current == RETIRED:
        return ["BC_DEVICE_RETIRED"]
    if device.current != LIVE:
        return ["BC_DEVICE_NOT_YET_LIVE"]
    checks = (
        ("BC_DEVICE_SUSPENDED", device.is_suspended),
        ("BC_DEVICE_DISCONNECTED", not device.plugged_in),
        ("BC_DEVICE_NOT_AT_HOME", not device.at_home),
        ("BC_BOOST_CHARGE_IN_PROGRESS", device.boosting),
        ("BC_DEVICE_FULLY_CHARGED", device.state_of_charge >= device.state_of_charge_limit),
    )
    return [reason for reason, applies in checks if applies]


# --- preferences that are switches --------------------------------------------------------------


def cap_charging_duration(device: Device, enabled: bool) -> Device:
    """`updateIsChargingDurationCapped`: 4390 where the cap does not apply, 4389 where the
    device cannot be changed now (not live, retired, authentication expired)."""
    if device.device_type not in CAPPABLE:
        raise KrakenError("KT-CT-4390")
    if device.current != LIVE or device.auth_expired:
        raise KrakenError("KT-CT-4389")
    device.charging_duration_capped = "ENABLED" if enabled else "DISABLED"
    return device


def export_to_grid(device: Device, enabled: bool) -> Device:
    """`updateDeviceGridExport`: batteries and inverters that are live and reachable."""
    if device.device_type not in EXPORTING or device.current != LIVE or device.auth_expired:
        raise KrakenError("KT-CT-4386")
    device.grid_export = "ENABLED" if enabled else "DISABLED"
    return device


# --- heat pumps ---------------------------------------------------------------------------------


def _controllable_heat_pump(device: Device) -> bool:
    return device.device_type == HEAT_PUMPS and device.current == LIVE and not device.auth_expired


def climate_control(device: Device, enabled: bool) -> Device:
    """`setClimateControlState`: heating of this zone on or off."""
    if not _controllable_heat_pump(device):
        raise KrakenError("KT-CT-4337")
    device.climate_control_enabled = enabled
    return device


def hot_water(system: list[Device], device: Device, enabled: bool) -> Device:
    """`setHotWaterState`: the system has one tank, so every zone shows the new state."""
    if not _controllable_heat_pump(device):
        raise KrakenError("KT-CT-4336")
    for member in system:
        member.hot_water_enabled = enabled
    return device


def room_temperature(device: Device, temperature: float) -> Device:
    """`setRoomTemperature`: within the bounds (4329 says why not), on a zone whose heating is
    on (4346 otherwise)."""
    low, high, step = ROOM_TEMPERATURE
    value = Decimal(str(temperature))
    if not low <= value <= high or (value - Decimal(str(low))) % Decimal(str(step)):
        message = f"{temperature} is not allowed: choose {low}-{high} °C in steps of {step}."
        raise KrakenError(
            "KT-CT-4329",
            validation_errors=[FieldError("KT-CT-4329", message, ("input", "temperature"))],
        )
    if not _controllable_heat_pump(device) or not device.climate_control_enabled:
        raise KrakenError("KT-CT-4346")
    device.room_temperature = float(value)
    return device


def heat_pump_view(device: Device) -> dict[str, Any]:
    low, high, step = ROOM_TEMPERATURE
    return {
        "id": device.id,
        "name": device.name,
        "zone": device.zone,
        "climateControlEnabled": device.climate_control_enabled,
        "hotWaterEnabled": device.hot_water_enabled,
        "roomTemperature": device.room_temperature,
        "minRoomTemperature": low,
        "maxRoomTemperature": high,
        "roomTemperatureStep": step,
    }


# --- de-authentication --------------------------------------------------------------------------


def retire(system: list[Device], device: Device) -> Device:
    """De-authenticate: the registration ends (a new one would get a new id); a heat pump's
    controller goes, and every zone with it."""
    if device.current in (RETIRED, TEST_IN_PROGRESS):
        raise KrakenError("KT-CT-4352")
    for member in system:
        member.current = member.current_state = RETIRED
        member.boosting = False
    return device


def details(device: Device) -> dict[str, Any]:
    """`DeviceDetailsType` / `KrakenFlexDeviceType` of the device mutations."""
    return {
        "deviceType": device.device_type,
        "krakenflexDeviceId": device.id,
        "provider": device.provider,
    }


# --- what the device shows ------------------------------------------------------------------------


def live_state(device: Device, charging: bool) -> str:
    """`status.currentState` of a LIVE device (`charging`: smart control is charging it)."""
    if device.auth_expired:
        return "AUTHENTICATION_FAILED"
    if device.is_suspended:
        return "SMART_CONTROL_OFF"
    if device.boosting:
        return "BOOSTING"
    return "SMART_CONTROL_IN_PROGRESS" if charging else "SMART_CONTROL_CAPABLE"


def alerts_view(device: Device) -> list[dict[str, Any]]:
    """Active alerts, the latest first."""
    return [
        {
            "__typename": "SmartFlexDeviceAlert",
            "message": alert.message,
            "publishedAt": dt.datetime.fromtimestamp(alert.published_at, dt.UTC).isoformat(),
        }
        for alert in reversed(device.alerts)
    ]


def reauthentication_view(device: Device, supported: bool) -> dict[str, Any] | None:
    """Only a device whose authentication expired has a re-authentication state [I]."""
    if not device.auth_expired or device.current == RETIRED:
        return None
    return {"__typename": "DeviceReAuthentication", "isEligible": supported}


# --- the outside world (hooks) ------------------------------------------------------------------


def publish_alert(device: Device, message: str, now: float, kind: str = "CUSTOM") -> Alert:
    alert = Alert(message, now, kind)
    device.alerts.append(alert)
    return alert


def expire_authentication(system: list[Device], now: float) -> None:
    """The manufacturer revoked Kraken's access: no control until re-authentication."""
    for member in system:
        if member.auth_expired or member.current == RETIRED:
            continue
        member.auth_expired, member.boosting = True, False
        message = AUTH_ALERT.format(name=member.name, provider=member.provider.title())
        publish_alert(member, message, now, "AUTHENTICATION")


def reauthenticated(system: list[Device]) -> None:
    for member in system:
        member.auth_expired = False
        member.alerts = [a for a in member.alerts if a.kind != "AUTHENTICATION"]


def suspend_from_outside(system: list[Device], suspended: bool) -> None:
    """The customer paused (or resumed) smart control elsewhere, e.g. in the app."""
    for member in system:
        member.is_suspended = suspended
        member.boosting = member.boosting and not suspended


def plug(device: Device, plugged_in: bool) -> None:
    device.plugged_in = plugged_in
    device.boosting = device.boosting and plugged_in


def move(device: Device, at_home: bool) -> None:
    device.at_home = at_home
    device.boosting = device.boosting and at_home


def set_battery(device: Device, given: dict[str, Any]) -> None:
    """Set the car's state of charge and its own limit (0-100 each)."""
    soc = given.get("stateOfCharge", device.state_of_charge)
    limit = given.get("stateOfChargeLimit", device.state_of_charge_limit)
    numbers = [v for v in (soc, limit) if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) != 2 or not all(0 <= v <= 100 for v in numbers):
        raise ValueError("stateOfCharge and stateOfChargeLimit are numbers from 0 to 100")
    device.state_of_charge, device.state_of_charge_limit = float(soc), int(limit)
    if device.boosting and device.state_of_charge >= device.state_of_charge_limit:
        device.boosting = False
