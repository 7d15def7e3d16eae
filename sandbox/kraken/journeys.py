"""Which step comes next, decided only from the choices already made in a wizard.

The wizard's history is the single source of truth: the selections of its list steps pick the
device, the device picks the provider, the provider picks the rest of the journey. Going back
truncates the history, so the same function re-plans the journey from there.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalog import NO_CHARGE_POINT, Catalog
from .models import AccountScenario, Wizard

ELECTRIC_VEHICLES = "ELECTRIC_VEHICLES"
HEAT_PUMPS = "HEAT_PUMPS"
EV_CHOICE = "ELECTRIC_VEHICLE"
CHARGE_POINT_CHOICE = "CHARGE_POINT"

OCPP_PROVIDERS = frozenset({"OCPP", "OCPP_WALLBOX"})
APP_PROVIDERS = frozenset({"JEDLIX", "JEDLIX_V2"})
NO_REAUTH_PROVIDERS = OCPP_PROVIDERS | APP_PROVIDERS

# Deterministic journeys chosen by the device (documented in README.md).
TWO_CAR_MODEL_PREFIX = ("Tesla", "Model S")
TEST_CHARGE_SCRIPTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("Nissan", "Leaf"): ("DEVICE_AWAY_FROM_HOME", "OK"),
    ("Hyundai", "Kona Electric"): ("ASSESSMENTS_FAILED", "OK"),
}


@dataclass(frozen=True)
class Target:
    """The device the journey is onboarding and the integration that will control it."""

    typename: str
    device_type: str
    provider: str
    make: str
    model: str
    display_name: str


@dataclass(frozen=True)
class FlowStep:
    kind: str
    registers_device: bool = False
    delay: str | None = None  # attribute of config.Delays for steps that resolve by themselves


UNSUPPORTED = FlowStep("UnsupportedCombination")


def target_of(wizard: Wizard, catalog: Catalog) -> Target | None:
    """The chosen device with a live integration; None while incomplete or unsupported."""
    if wizard.selection("SelectDeviceType") == HEAT_PUMPS:
        hp = catalog.heat_pump(wizard.selection("SelectHeatPumpMake") or "")
        if hp is None or not hp.is_live:
            return None
        return Target("SmartFlexDevice", HEAT_PUMPS, hp.providers[0], hp.make, "", hp.display_name)
    ev = catalog.ev_variant(wizard.selection("SelectVehicleVariant") or "")
    cp = catalog.cp_variant(wizard.selection("SelectChargePointVariant") or "")
    use_ev = ev is not None and ev.is_live
    use_cp = cp is not None and cp.is_live
    if use_ev and use_cp:
        choice = wizard.selection("SelectVehicleOrChargePoint")
        use_ev, use_cp = choice == EV_CHOICE, choice == CHARGE_POINT_CHOICE
    if use_ev and ev is not None:
        return Target(
            "SmartFlexVehicle",
            ELECTRIC_VEHICLES,
            ev.providers[0],
            ev.make,
            ev.model,
            ev.display_name,
        )
    if use_cp and cp is not None:
        return Target(
            "SmartFlexChargePoint",
            ELECTRIC_VEHICLES,
            cp.providers[0],
            cp.make,
            cp.model,
            cp.display_name,
        )
    return None


def tesla_vehicle_count(target: Target, scenario: AccountScenario) -> int:
    if scenario.tesla_vehicles is not None:
        return scenario.tesla_vehicles
    make, prefix = TWO_CAR_MODEL_PREFIX
    return 2 if target.make == make and target.model.startswith(prefix) else 1


def provider_flow(target: Target, scenario: AccountScenario) -> list[FlowStep]:
    """The steps after the device is chosen; exactly one of them registers the device."""
    if target.device_type == HEAT_PUMPS:
        return [
            FlowStep("AuthFlow", registers_device=True),
            FlowStep("WaitForLiveIntegration", delay="wait_for_live_integration"),
        ]
    if target.provider in OCPP_PROVIDERS:
        return [
            FlowStep("UserInputRequired", registers_device=True),
            FlowStep("UserActionRequired"),
            FlowStep("WaitForTransition", delay="wait_for_transition"),
        ]
    if target.provider in APP_PROVIDERS:
        return [
            FlowStep("UserActionRequired", registers_device=True),
            FlowStep("WaitForTransition", delay="wait_for_transition"),
        ]
    finish = [FlowStep("TestCharge"), FlowStep("WaitForTransition", delay="wait_for_transition")]
    if target.provider == "TESLA":
        if tesla_vehicle_count(target, scenario) > 1:
            setup = [FlowStep("TeslaSetupVirtualKey"), FlowStep("SelectUserVehicle", True)]
        else:
            setup = [FlowStep("TeslaSetupVirtualKey", registers_device=True)]
        return [FlowStep("AuthFlow"), *setup, *finish]
    return [
        FlowStep("AuthFlow"),
        FlowStep(
            "SmartFlexOnboardingDeviceRegistration",
            registers_device=True,
            delay="device_registration",
        ),
        *finish,
    ]


REAUTH_FLOW = [FlowStep("AuthFlow"), FlowStep("WaitForTransition", delay="oauth_approval")]


def _choice_steps(wizard: Wizard, catalog: Catalog) -> FlowStep | None:
    """The next question about the device, or None once the device is fully described."""
    device_type = wizard.selection("SelectDeviceType")
    if device_type is None:
        return FlowStep("SelectDeviceType")
    if device_type == HEAT_PUMPS:
        return None if wizard.selection("SelectHeatPumpMake") else FlowStep("SelectHeatPumpMake")
    for kind in ("SelectVehicleMake", "SelectVehicleVariant", "SelectChargePointMake"):
        if wizard.selection(kind) is None:
            return FlowStep(kind)
    make = wizard.selection("SelectChargePointMake")
    if make != NO_CHARGE_POINT and wizard.selection("SelectChargePointVariant") is None:
        return FlowStep("SelectChargePointVariant")
    ev = catalog.ev_variant(wizard.selection("SelectVehicleVariant") or "")
    cp = catalog.cp_variant(wizard.selection("SelectChargePointVariant") or "")
    both = ev is not None and ev.is_live and cp is not None and cp.is_live
    if both and wizard.selection("SelectVehicleOrChargePoint") is None:
        return FlowStep("SelectVehicleOrChargePoint")
    return None


def flow_of(wizard: Wizard, catalog: Catalog, scenario: AccountScenario) -> list[FlowStep]:
    if wizard.reauth_device_id is not None:
        return REAUTH_FLOW
    target = target_of(wizard, catalog)
    return [] if target is None else provider_flow(target, scenario)


def plan_next(wizard: Wizard, catalog: Catalog, scenario: AccountScenario) -> FlowStep | None:
    """The step to enter after the current history, or None when onboarding is finished."""
    if wizard.reauth_device_id is None:
        question = _choice_steps(wizard, catalog)
        if question is not None:
            return question
        if target_of(wizard, catalog) is None:
            return UNSUPPORTED
    return next((s for s in flow_of(wizard, catalog, scenario) if not wizard.done(s.kind)), None)


def flow_step(wizard: Wizard, catalog: Catalog, scenario: AccountScenario, kind: str) -> FlowStep:
    return next((s for s in flow_of(wizard, catalog, scenario) if s.kind == kind), FlowStep(kind))


def scripted_test_charge(target: Target, attempt: int) -> str:
    script = TEST_CHARGE_SCRIPTS.get((target.make, target.model), ())
    return script[attempt] if attempt < len(script) else "OK"


LIST_STEPS = frozenset(
    {
        "SelectDeviceType",
        "SelectVehicleMake",
        "SelectVehicleVariant",
        "SelectChargePointMake",
        "SelectChargePointVariant",
        "SelectHeatPumpMake",
        "SelectHeatPumpVariant",
        "SelectInverterMake",
        "SelectInverterSystemType",
        "SelectSessionDevice",
        "SelectUserVehicle",
    }
)
