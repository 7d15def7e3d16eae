"""What a registered device answers for itself: test-charge vocabulary, boost, smart control
and de-authentication, with the codes and refusal reasons the EU mutations reference lists."""

from __future__ import annotations

from typing import Any

from .errors import KrakenError
from .models import Device

ELECTRIC_VEHICLES = "ELECTRIC_VEHICLES"
LIVE, RETIRED = "LIVE", "RETIRED"
TEST_IN_PROGRESS = "ONBOARDING_TEST_IN_PROGRESS"

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
    return None


def smart_control(device: Device, action: str) -> Device:
    device.is_suspended = action == "SUSPEND"
    device.current_state = "SMART_CONTROL_OFF" if device.is_suspended else "SMART_CONTROL_CAPABLE"
    return device


def boost(device: Device, action: str) -> Device:
    """`updateBoostCharge`: only a live EV or charger boosts (KT-CT-4356 for other devices)."""
    if device.device_type != ELECTRIC_VEHICLES:
        raise KrakenError("KT-CT-4356")
    if action == "CANCEL":
        if device.current_state != "BOOSTING":
            raise KrakenError("KT-CT-4354")
        device.current_state = "SMART_CONTROL_CAPABLE"
        return device
    refusal = _boost_refusal(device)
    if refusal is not None:
        raise KrakenError("KT-CT-4357", extra={"boostChargeRefusalReasons": [refusal]})
    device.current_state = "BOOSTING"
    return device


def _boost_refusal(device: Device) -> str | None:
    if device.current == RETIRED:
        return "BC_DEVICE_RETIRED"
    if device.current != LIVE:
        return "BC_DEVICE_NOT_YET_LIVE"
    if device.is_suspended:
        return "BC_DEVICE_SUSPENDED"
    if device.current_state == "BOOSTING":
        return "BC_BOOST_CHARGE_IN_PROGRESS"
    return None


def retire(device: Device) -> Device:
    """De-authenticate: the registration ends (a new one would get a new id)."""
    if device.current in (RETIRED, TEST_IN_PROGRESS):
        raise KrakenError("KT-CT-4352")
    device.current = device.current_state = RETIRED
    return device


def details(device: Device) -> dict[str, Any]:
    """`DeviceDetailsType` / `KrakenFlexDeviceType` of the device mutations."""
    return {
        "deviceType": device.device_type,
        "krakenflexDeviceId": device.id,
        "provider": device.provider,
    }
