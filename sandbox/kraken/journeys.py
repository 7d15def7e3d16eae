"""Which step comes next, decided only from the choices already made in a wizard.

The wizard's history is the single source of truth: the selections of its list steps pick the
device, the device picks the provider, the provider (and the account's scenario) picks the
rest of the journey. Going back truncates the history, so the same function re-plans the
journey from there. Steps only the UK instance has are planned only when `uk` is set.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalog import NO_CHARGE_POINT, NO_VEHICLE, Catalog, SessionDevice
from .models import AccountScenario, Wizard

ELECTRIC_VEHICLES = "ELECTRIC_VEHICLES"
HEAT_PUMPS = "HEAT_PUMPS"
BATTERIES = "BATTERIES"
INVERTERS = "INVERTERS"
HOME_ENERGY = frozenset({BATTERIES, INVERTERS})
DEVICE_TYPE_LABELS = {
    ELECTRIC_VEHICLES: "Electric vehicle or charger",
    HEAT_PUMPS: "Heat pump",
    BATTERIES: "Home battery",
    INVERTERS: "Solar inverter",
}
EV_CHOICE = "ELECTRIC_VEHICLE"
CHARGE_POINT_CHOICE = "CHARGE_POINT"
SOLAR_ONLY = "inverter-system:solar-only"
INVERTER_SYSTEMS = {
    "inverter-system:hybrid": "Hybrid inverter (solar panels and battery on one inverter)",
    "inverter-system:ac-coupled": "Battery with its own inverter (AC-coupled)",
    SOLAR_ONLY: "Solar inverter without a battery",
}
# TeslaRegistrationFailed is answered with selectFromListForSmartFlexOnboarding (inferred):
# option id -> the step's `modifyScopesSelected`.
TESLA_REMEDIES = {"MODIFY_SCOPES": True, "RETRY_AUTHENTICATION": False}

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
    # Batteries and inverters: what the manufacturer account holds (several: the wizard asks).
    session_devices: tuple[SessionDevice, ...] = ()
    chosen_device: SessionDevice | None = None


@dataclass(frozen=True)
class FlowStep:
    kind: str
    registers_device: bool = False
    delay: str | None = None  # attribute of config.Delays for steps that resolve by themselves


UNSUPPORTED = FlowStep("UnsupportedCombination")


def target_of(wizard: Wizard, catalog: Catalog) -> Target | None:
    """The chosen device with a live integration; None while incomplete or unsupported."""
    device_type = wizard.selection("SelectDeviceType")
    if device_type == HEAT_PUMPS:
        return _heat_pump(wizard, catalog)
    if device_type in HOME_ENERGY:
        return _home_energy(wizard, catalog, str(device_type))
    ev = catalog.ev_variant(wizard.selection("SelectVehicleVariant") or "")
    cp = catalog.cp_variant(wizard.selection("SelectChargePointVariant") or "")
    use_ev = ev is not None and ev.is_live
    use_cp = cp is not None and cp.is_live
    if use_ev and use_cp:
        choice = wizard.selection("SelectVehicleOrChargePoint")
        use_ev, use_cp = choice == EV_CHOICE, choice == CHARGE_POINT_CHOICE
    chosen = ev if use_ev else cp if use_cp else None
    if chosen is None:
        return None
    return Target(
        "SmartFlexVehicle" if use_ev else "SmartFlexChargePoint",
        ELECTRIC_VEHICLES,
        chosen.providers[0],
        chosen.make,
        chosen.model,
        chosen.display_name,
    )


def _heat_pump(wizard: Wizard, catalog: Catalog) -> Target | None:
    make_option = wizard.selection("SelectHeatPumpMake") or ""
    hp = catalog.heat_pump(make_option)
    if hp is None or not hp.is_live:
        return None
    variant = catalog.heat_pump_variant(
        make_option, wizard.selection("SelectHeatPumpVariant") or ""
    )
    model = variant.model if variant else ""
    name = f"{hp.make} {model}" if variant else hp.display_name
    return Target("SmartFlexDevice", HEAT_PUMPS, hp.providers[0], hp.make, model, name)


def _home_energy(wizard: Wizard, catalog: Catalog, device_type: str) -> Target | None:
    make = catalog.inverter(wizard.selection("SelectInverterMake") or "")
    if make is None or not make.is_live or not make.serves(device_type):
        return None
    if device_type == BATTERIES and wizard.selection("SelectInverterSystemType") == SOLAR_ONLY:
        return None  # nothing to control: the system has no battery
    devices = tuple(make.devices(device_type))
    if not devices:
        return None
    picked = wizard.selection("SelectSessionDevice")
    chosen = next((d for d in devices if d.option_id == picked), None)
    if chosen is None and len(devices) == 1:
        chosen = devices[0]
    label = DEVICE_TYPE_LABELS[device_type].lower()
    return Target(
        "SmartFlexDevice",
        device_type,
        make.providers[0],
        make.make,
        chosen.model if chosen else "",
        f"{make.make} {chosen.model}" if chosen else f"{make.make} {label}",
        devices,
        chosen,
    )


def tesla_vehicle_count(target: Target, scenario: AccountScenario) -> int:
    if scenario.tesla_vehicles is not None:
        return scenario.tesla_vehicles
    make, prefix = TWO_CAR_MODEL_PREFIX
    return 2 if target.make == make and target.model.startswith(prefix) else 1


def _tesla_grant(wizard: Wizard, scenario: AccountScenario) -> list[FlowStep]:
    """What follows the Tesla sign-in when it did not give the integration what it needs."""
    if scenario.tesla_grant == "MODIFY_SCOPES":
        return [FlowStep("TeslaModifyScopes")]
    if scenario.tesla_grant == "REGISTRATION_FAILED":
        failed = next((s for s in wizard.steps if s.kind == "TeslaRegistrationFailed"), None)
        steps = [FlowStep("TeslaRegistrationFailed")]
        if failed is not None and failed.fields.get("modifyScopesSelected") is True:
            steps.append(FlowStep("TeslaModifyScopes"))
        return steps
    return []


def provider_flow(target: Target, scenario: AccountScenario, wizard: Wizard) -> list[FlowStep]:
    """The steps after the device is chosen; exactly one of them registers the device."""
    if target.device_type == HEAT_PUMPS:
        return [
            FlowStep("AuthFlow", registers_device=True),
            FlowStep("WaitForLiveIntegration", delay="wait_for_live_integration"),
        ]
    if target.device_type in HOME_ENERGY:
        live = FlowStep("WaitForLiveIntegration", delay="wait_for_live_integration")
        if len(target.session_devices) > 1:
            return [FlowStep("AuthFlow"), FlowStep("SelectSessionDevice", True), live]
        return [FlowStep("AuthFlow", registers_device=True), live]
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
        return [FlowStep("AuthFlow"), *_tesla_grant(wizard, scenario), *setup, *finish]
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


def _choice_steps(wizard: Wizard, catalog: Catalog, uk: bool) -> FlowStep | None:
    """The next question about the device, or None once the device is fully described."""
    device_type = wizard.selection("SelectDeviceType")
    if device_type is None:
        return FlowStep("SelectDeviceType")
    if device_type == HEAT_PUMPS:
        make = wizard.selection("SelectHeatPumpMake")
        if make is None:
            return FlowStep("SelectHeatPumpMake")
        asks_variant = uk and catalog.heat_pump_variants(make)
        if asks_variant and wizard.selection("SelectHeatPumpVariant") is None:
            return FlowStep("SelectHeatPumpVariant")
        return None
    if device_type in HOME_ENERGY:
        kinds = (
            ("SelectInverterMake", "SelectInverterSystemType") if uk else ("SelectInverterMake",)
        )
        return next((FlowStep(k) for k in kinds if wizard.selection(k) is None), None)
    for kind in ("SelectVehicleMake", "SelectVehicleVariant", "SelectChargePointMake"):
        if kind == "SelectVehicleVariant" and wizard.selection("SelectVehicleMake") == NO_VEHICLE:
            continue
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
    return [] if target is None else provider_flow(target, scenario, wizard)


def plan_next(
    wizard: Wizard, catalog: Catalog, scenario: AccountScenario, *, uk: bool
) -> FlowStep | None:
    """The step to enter after the current history, or None when onboarding is finished."""
    if wizard.reauth_device_id is None:
        question = _choice_steps(wizard, catalog, uk)
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
