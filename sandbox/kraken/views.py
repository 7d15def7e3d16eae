"""Engine objects -> the dicts the GraphQL layer serves (keys are schema field names)."""

from __future__ import annotations

from typing import Any

from . import devices, preferences
from .engine import WizardEngine
from .journeys import NO_REAUTH_PROVIDERS
from .models import Device, Step, Wizard, WizardStatus


def step_view(step: Step | None) -> dict[str, Any] | None:
    if step is None:
        return None
    return {"__typename": step.kind, "id": step.id, **step.fields}


def wizard_view(engine: WizardEngine, wizard: Wizard) -> dict[str, Any]:
    resumable = engine.is_resumable(wizard)
    reasons = {
        WizardStatus.ACTIVE: "ONBOARDING_IN_PROGRESS",
        WizardStatus.CANCELLED: "WIZARD_CANCELLED",
        WizardStatus.COMPLETE: "WIZARD_COMPLETED",
    }
    device_type = wizard.selection("SelectDeviceType")
    if wizard.reauth_device_id is not None:
        device_type = engine.devices[wizard.reauth_device_id].device_type
    return {
        "id": wizard.id,
        "currentStep": step_view(wizard.current),
        "completedSteps": [step_view(s) for s in wizard.completed],
        "deviceType": device_type,
        "displayName": engine.display_name(wizard),
        "resumable": {"isResumable": resumable, "resumableReasons": [reasons[wizard.status]]},
        "isComplete": wizard.status is WizardStatus.COMPLETE,
        "isRewindable": wizard.status is WizardStatus.ACTIVE and wizard.device_id is None,
    }


def device_view(engine: WizardEngine, device: Device) -> dict[str, Any]:
    """A device of `devices` (and of the device mutations), settled to the sandbox clock."""
    with_charge = device.typename in ("SmartFlexVehicle", "SmartFlexChargePoint")
    live = device.current == "LIVE"
    status: dict[str, Any] = {
        "__typename": "SmartFlexVehicleStatus" if with_charge else "SmartFlexDeviceStatus",
        "current": device.current,
        "currentState": (
            devices.live_state(device, engine.smart_charging(device))
            if live
            else device.current_state
        ),
        "isSuspended": device.is_suspended,
    }
    vehicle = device.typename == "SmartFlexVehicle"
    if with_charge:
        status.update(
            # A charger cannot see the car's battery.
            stateOfCharge=int(device.state_of_charge) if vehicle else None,
            stateOfChargeLimit=device.state_of_charge_limit if vehicle else None,
            testDispatchFailureReason=device.test_dispatch_failure_reason,
        )
    view: dict[str, Any] = {
        "__typename": device.typename,
        "id": device.id,
        "name": device.name,
        "deviceType": device.device_type,
        "provider": device.provider,
        "integrationDeviceId": device.integration_device_id,
        "status": status,
        "propertyId": str(device.property_id),
        "onboardingWizard": wizard_view(engine, engine.wizard(device.wizard_id)),
        "alerts": devices.alerts_view(device),
        "preferences": preferences.preferences_view(device),
        "preferenceSetting": preferences.setting_view(device),
        "reAuthenticationState": devices.reauthentication_view(
            device, device.provider not in NO_REAUTH_PROVIDERS
        ),
    }
    if with_charge:
        view.update(make=device.make, model=device.model)
    if vehicle:
        view["chargingPreferences"] = preferences.charging_preferences_view(device)
    return view
