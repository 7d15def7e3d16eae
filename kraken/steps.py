"""Typed onboarding steps: one model per implementer of SmartFlexOnboardingStepInterface.

The step order is dynamic (the wizard decides what comes next), so callers dispatch on the
model class. Any type name this build does not know becomes `UnknownStep`, never an error, so a
new step kind on Kraken's side degrades to "finish this in the app" instead of a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AliasPath, BeforeValidator, Field
from pydantic import ValidationError as PydanticValidationError

from kraken._wire import CompactList, WireModel
from kraken.errors import KrakenResponseError


class Integration(StrEnum):
    """Which side of an EV + charger pair Kraken should integrate with."""

    ELECTRIC_VEHICLE = "ELECTRIC_VEHICLE"
    CHARGE_POINT = "CHARGE_POINT"


# ---------------------------------------------------------------- list options


class ListOption(WireModel):
    """One choice of a list step, whatever *ListItem type it came from.

    `label` is always set (falling back to the id) so a list can be rendered without knowing
    which step it belongs to; the other fields carry what is known for that item kind.
    """

    id: str
    label: str
    make: str | None = None
    model: str | None = None
    year: int | None = None
    available_from: int | None = None
    available_to: int | None = None
    is_integration_live: bool | None = None
    integration_status: str | None = None
    supported_providers: list[str] = Field(default_factory=list)
    battery_size: Decimal | None = None
    amperage: int | None = None
    power_kw: Decimal | None = None
    vin: str | None = None


class _CatalogModel(WireModel):
    model: str | None = None
    year: int | None = None
    available_from: int | None = None
    available_to: int | None = None
    is_integration_live: bool | None = None
    integration_status: str | None = None
    supported_providers: CompactList[str] = Field(default_factory=list)
    battery_size: Decimal | None = None
    amperage: int | None = None
    power_in_kw: Decimal | None = None


class _CatalogEntry(WireModel):
    """ElectricVehicleType and ChargePointVariantType: a make with its models."""

    make: str | None = None
    models: CompactList[_CatalogModel] = Field(default_factory=list)


class _ElectricChargePointVariant(WireModel):
    make: str | None = None
    model: str | None = None
    amperage: int | None = None
    power_output: Decimal | None = None


class _MakeOnly(WireModel):
    make: str | None = None


class _SessionDevice(WireModel):
    make: str | None = None
    model: str | None = None
    name: str | None = None


class _VehicleInformation(WireModel):
    brand: str | None = None
    display_name: str | None = None
    model: str | None = None
    vin: str | None = None
    year: int | None = None


class _RawListItem(WireModel):
    """Union of every *ListItem payload (their field names do not overlap)."""

    id: str
    label: str | None = None
    vehicle_make: _CatalogEntry | None = None
    vehicle_variant: _CatalogEntry | None = None
    charge_point_make: _CatalogEntry | None = None
    charge_point_variant: _CatalogEntry | None = None
    electric_charge_point_variant: _ElectricChargePointVariant | None = None
    inverter_make: _MakeOnly | None = None
    session_device: _SessionDevice | None = None
    vehicle: _VehicleInformation | None = None
    user_vehicle: _CatalogEntry | None = None

    def to_option(self) -> ListOption:
        details = {key: value for key, value in self._details().items() if value is not None}
        label = self.label or details.pop("label", None) or self.id
        details.pop("label", None)
        return ListOption(id=self.id, label=label, **details)

    def _details(self) -> dict[str, Any]:
        if self.vehicle is not None:
            car = self.vehicle
            label = car.display_name or _join(car.brand, car.model, car.year)
            return {
                "label": label,
                "make": car.brand,
                "model": car.model,
                "year": car.year,
                "vin": car.vin,
            }
        if self.session_device is not None:
            device = self.session_device
            label = device.name or _join(device.make, device.model)
            return {"label": label, "make": device.make, "model": device.model}
        make = self.vehicle_make or self.charge_point_make
        if make is not None:
            return {**_summarise(make.models), "model": None, "label": make.make, "make": make.make}
        variant = self.vehicle_variant or self.charge_point_variant or self.user_vehicle
        if variant is not None and variant.models:
            summary = _summarise(variant.models)
            return {**summary, "label": summary["model"], "make": variant.make}
        if self.electric_charge_point_variant is not None:
            ecp = self.electric_charge_point_variant
            return {
                "label": ecp.model,
                "make": ecp.make,
                "model": ecp.model,
                "amperage": ecp.amperage,
                "power_kw": ecp.power_output,
            }
        if self.inverter_make is not None:
            return {"label": self.inverter_make.make, "make": self.inverter_make.make}
        return {}


def _join(*parts: object) -> str | None:
    text = " ".join(str(part) for part in parts if part)
    return text or None


def _summarise(models: list[_CatalogModel]) -> dict[str, Any]:
    """Fold a make's or variant's model list into one option's detail fields."""
    if not models:
        return {}
    names = list(dict.fromkeys(m.model for m in models if m.model))
    live = [m.is_integration_live for m in models if m.is_integration_live is not None]
    starts = [m.available_from for m in models if m.available_from is not None]
    ends = [m.available_to for m in models]
    providers = list(dict.fromkeys(p for m in models for p in m.supported_providers))
    only = models[0] if len(models) == 1 else None
    return {
        "model": " / ".join(names) or None,
        "year": only.year if only else None,
        "available_from": min(starts) if starts else None,
        "available_to": None if not ends or None in ends else max(e for e in ends if e),
        "is_integration_live": any(live) if live else None,
        "integration_status": only.integration_status if only else None,
        "supported_providers": providers,
        "battery_size": only.battery_size if only else None,
        "amperage": only.amperage if only else None,
        "power_kw": only.power_in_kw if only else None,
    }


def _options(value: Any) -> Any:
    if value is None:
        return []
    if not isinstance(value, list):
        return value
    return [
        item if isinstance(item, ListOption) else _RawListItem.model_validate(item).to_option()
        for item in value
        if item is not None
    ]


# ---------------------------------------------------------------- steps


class StepBase(WireModel):
    """Fields every step has: its id (changes whenever the step is re-entered) and type name."""

    id: str
    typename: str = Field(alias="__typename")


class SelectFromListStep(StepBase):
    """A step completed by choosing one option (also how the user goes back to it)."""

    options: Annotated[list[ListOption], BeforeValidator(_options)] = Field(default_factory=list)
    selected_option_id: str | None = None


class SelectDeviceTypeStep(SelectFromListStep):
    """Choose the kind of device (EV, heat pump, ...)."""


class SelectVehicleMakeStep(SelectFromListStep):
    """Choose the car's manufacturer."""


class SelectVehicleVariantStep(SelectFromListStep):
    """Choose the car model among the chosen make's."""


class SelectChargePointMakeStep(SelectFromListStep):
    """Choose the charger's manufacturer."""


class SelectChargePointVariantStep(SelectFromListStep):
    """Choose the charger model."""


class SelectHeatPumpMakeStep(SelectFromListStep):
    """Choose the heat pump's manufacturer."""


class SelectHeatPumpVariantStep(SelectFromListStep):
    """Choose the heat pump model."""


class SelectInverterMakeStep(SelectFromListStep):
    """Choose the inverter's manufacturer."""


class SelectInverterSystemTypeStep(SelectFromListStep):
    """Choose the inverter system type."""


class SelectSessionDeviceStep(SelectFromListStep):
    """Choose which device of the OEM account to onboard."""


class SelectUserVehicleStep(SelectFromListStep):
    """Choose which car of the OEM account to onboard."""


class SelectVehicleOrChargePointStep(StepBase):
    """Both the car and the charger can be integrated: choose which one Kraken controls."""

    selected_integration: Integration | None = None


class AuthFlowStep(StepBase):
    """Sign in at the manufacturer; completed with the URL the OEM redirects back to."""

    authorization_uri: str | None = None
    redirect_uri: str | None = None
    error_message: str | None = Field(default=None, validation_alias=AliasPath("error", "message"))


class TeslaSetupVirtualKeyStep(StepBase):
    """Add the supplier's virtual key to the Tesla, then confirm."""

    key: str | None = None
    uri: str | None = None


class TeslaModifyScopesStep(StepBase):
    """Grant the Tesla scopes the integration needs."""

    modify_scopes_uri: str | None = None
    redirect_uri: str | None = None


class TeslaRegistrationFailedStep(StepBase):
    """Tesla registration failed; `modify_scopes_selected` records the chosen remedy."""

    modify_scopes_selected: bool | None = None


class UserAction(WireModel):
    description: str | None = None
    uri: str | None = None
    user_action: str | None = None


class UserActionRequiredStep(StepBase):
    """The user must do something outside the chat (e.g. a software update), then confirm."""

    user_actions: CompactList[UserAction] = Field(default_factory=list)


class UserInput(WireModel):
    """One value the wizard asks for; `regex` must `re.fullmatch` the answer when present."""

    key: str
    value: str | None = None
    description: str | None = None
    is_required: bool | None = None
    is_validated: bool | None = None
    is_verified: bool | None = None
    regex: str | None = None


class UserInputRequiredStep(StepBase):
    """Typed answers (e.g. a VIN), all submitted together."""

    user_inputs: CompactList[UserInput] = Field(default_factory=list)
    error_message: str | None = Field(default=None, validation_alias=AliasPath("error", "message"))


class TestChargeError(WireModel):
    __test__ = False  # not a pytest class, despite the name

    message: str | None = None
    error_type: str | None = None
    reasons: CompactList[str] = Field(default_factory=list)
    descriptions: CompactList[str] = Field(default_factory=list)


class TestChargeStep(StepBase):
    """A short charge proving Kraken can control the device."""

    __test__ = False

    is_ready: bool | None = None
    is_started: bool | None = None
    error: TestChargeError | None = None


class DeviceRegistrationStep(StepBase):
    """Kraken is registering the device; nothing to submit, poll the wizard."""

    device_registered: bool | None = None


class WaitForTransitionStep(StepBase):
    """Paused on an outside event (OEM approval, app permission); poll the wizard."""


class WaitForLiveIntegrationStep(StepBase):
    """Blocked until the integration goes live; poll the wizard."""

    is_live: bool | None = None


class UnsupportedCombinationStep(StepBase):
    """The chosen devices cannot be onboarded together; an earlier choice must change."""


class TerminalErrorDetail(WireModel):
    error_code: str
    description: str | None = None


class TerminalErrorStep(StepBase):
    """The wizard cannot continue."""

    errors: CompactList[TerminalErrorDetail] = Field(default_factory=list)


class RetryStep(StepBase):
    """Completing it recreates and retries the step that failed."""


class UnknownStep(StepBase):
    """A step type this client does not know: only its id and type name are kept."""


Step = (
    SelectDeviceTypeStep
    | SelectVehicleMakeStep
    | SelectVehicleVariantStep
    | SelectChargePointMakeStep
    | SelectChargePointVariantStep
    | SelectHeatPumpMakeStep
    | SelectHeatPumpVariantStep
    | SelectInverterMakeStep
    | SelectInverterSystemTypeStep
    | SelectSessionDeviceStep
    | SelectUserVehicleStep
    | SelectFromListStep
    | SelectVehicleOrChargePointStep
    | AuthFlowStep
    | TeslaSetupVirtualKeyStep
    | TeslaModifyScopesStep
    | TeslaRegistrationFailedStep
    | UserActionRequiredStep
    | UserInputRequiredStep
    | TestChargeStep
    | DeviceRegistrationStep
    | WaitForTransitionStep
    | WaitForLiveIntegrationStep
    | UnsupportedCombinationStep
    | TerminalErrorStep
    | RetryStep
    | UnknownStep
)

STEP_TYPES: Mapping[str, type[StepBase]] = {
    "SelectDeviceType": SelectDeviceTypeStep,
    "SelectVehicleMake": SelectVehicleMakeStep,
    "SelectVehicleVariant": SelectVehicleVariantStep,
    "SelectChargePointMake": SelectChargePointMakeStep,
    "SelectChargePointVariant": SelectChargePointVariantStep,
    "SelectHeatPumpMake": SelectHeatPumpMakeStep,
    "SelectHeatPumpVariant": SelectHeatPumpVariantStep,
    "SelectInverterMake": SelectInverterMakeStep,
    "SelectInverterSystemType": SelectInverterSystemTypeStep,
    "SelectSessionDevice": SelectSessionDeviceStep,
    "SelectUserVehicle": SelectUserVehicleStep,
    "SelectVehicleOrChargePoint": SelectVehicleOrChargePointStep,
    "AuthFlow": AuthFlowStep,
    "TeslaSetupVirtualKey": TeslaSetupVirtualKeyStep,
    "TeslaModifyScopes": TeslaModifyScopesStep,
    "TeslaRegistrationFailed": TeslaRegistrationFailedStep,
    "UserActionRequired": UserActionRequiredStep,
    "UserInputRequired": UserInputRequiredStep,
    "TestCharge": TestChargeStep,
    "SmartFlexOnboardingDeviceRegistration": DeviceRegistrationStep,
    "WaitForTransition": WaitForTransitionStep,
    "WaitForLiveIntegration": WaitForLiveIntegrationStep,
    "UnsupportedCombination": UnsupportedCombinationStep,
    "TerminalError": TerminalErrorStep,
    "Retry": RetryStep,
}
"""GraphQL __typename -> model, for every implementer of SmartFlexOnboardingStepInterface."""


def parse_step(data: object) -> Step:
    """Parse one step; unknown type names give `UnknownStep`, malformed data KrakenResponseError."""
    if isinstance(data, StepBase):
        return data  # type: ignore[return-value]
    if not isinstance(data, Mapping):
        raise KrakenResponseError(f"Expected an onboarding step object, got {type(data).__name__}.")
    typename = data.get("__typename")
    if not isinstance(typename, str) or not typename:
        raise KrakenResponseError("Onboarding step without __typename.")
    model = STEP_TYPES.get(typename, UnknownStep)
    try:
        return model.model_validate(data)  # type: ignore[return-value]
    except PydanticValidationError as exc:
        raise KrakenResponseError(f"Malformed {typename} step: {_first_problem(exc)}") from exc


def _first_problem(exc: PydanticValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "step"
    return f"{where}: {error['msg']}"
