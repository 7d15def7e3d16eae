"""Engine objects -> the dicts the GraphQL layer serves (keys are schema field names)."""

from __future__ import annotations

from typing import Any

from .engine import WizardEngine
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
    with_charge = device.typename in ("SmartFlexVehicle", "SmartFlexChargePoint")
    status: dict[str, Any] = {
        "__typename": "SmartFlexVehicleStatus" if with_charge else "SmartFlexDeviceStatus",
        "current": device.current,
        "currentState": device.current_state,
        "isSuspended": device.is_suspended,
    }
    if with_charge:
        status.update(
            stateOfCharge=62 if device.typename == "SmartFlexVehicle" else None,
            stateOfChargeLimit=80 if device.typename == "SmartFlexVehicle" else None,
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
    }
    if with_charge:
        view.update(make=device.make, model=device.model)
    return view
