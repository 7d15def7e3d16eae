"""Typed views of what Kraken returns: the onboarding wizard, its steps, devices, tokens.

Everything is frozen and parsed once at the edge; `parse_*` helpers turn any malformed payload
into `KrakenResponseError`, so callers never see KeyError or pydantic internals.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator, Field, SecretStr, model_validator
from pydantic import ValidationError as PydanticValidationError

from kraken._wire import CompactList, WireModel
from kraken.errors import KrakenResponseError
from kraken.steps import (
    STEP_TYPES,
    AuthFlowStep,
    DeviceRegistrationStep,
    Integration,
    ListOption,
    RetryStep,
    SelectChargePointMakeStep,
    SelectChargePointVariantStep,
    SelectDeviceTypeStep,
    SelectFromListStep,
    SelectHeatPumpMakeStep,
    SelectHeatPumpVariantStep,
    SelectInverterMakeStep,
    SelectInverterSystemTypeStep,
    SelectSessionDeviceStep,
    SelectUserVehicleStep,
    SelectVehicleMakeStep,
    SelectVehicleOrChargePointStep,
    SelectVehicleVariantStep,
    Step,
    StepBase,
    TerminalErrorDetail,
    TerminalErrorStep,
    TeslaModifyScopesStep,
    TeslaRegistrationFailedStep,
    TeslaSetupVirtualKeyStep,
    TestChargeError,
    TestChargeStep,
    UnknownStep,
    UnsupportedCombinationStep,
    UserAction,
    UserActionRequiredStep,
    UserInput,
    UserInputRequiredStep,
    WaitForLiveIntegrationStep,
    WaitForTransitionStep,
    parse_step,
)

__all__ = [
    "DAYS",
    "STEP_TYPES",
    "WEEKDAYS",
    "WEEKEND",
    "AuthFlowStep",
    "Device",
    "DeviceLifecycleStatus",
    "DevicePreferences",
    "DeviceRegistrationStep",
    "DeviceStatus",
    "DeviceType",
    "HeatPumpState",
    "Integration",
    "ListOption",
    "PreferenceSchedule",
    "PreferenceSetting",
    "Resumable",
    "RetryStep",
    "ScheduleSetting",
    "SelectChargePointMakeStep",
    "SelectChargePointVariantStep",
    "SelectDeviceTypeStep",
    "SelectFromListStep",
    "SelectHeatPumpMakeStep",
    "SelectHeatPumpVariantStep",
    "SelectInverterMakeStep",
    "SelectInverterSystemTypeStep",
    "SelectSessionDeviceStep",
    "SelectUserVehicleStep",
    "SelectVehicleMakeStep",
    "SelectVehicleOrChargePointStep",
    "SelectVehicleVariantStep",
    "Step",
    "StepBase",
    "TerminalErrorDetail",
    "TerminalErrorStep",
    "TeslaModifyScopesStep",
    "TeslaRegistrationFailedStep",
    "TeslaSetupVirtualKeyStep",
    "TestChargeError",
    "TestChargeStep",
    "Token",
    "UnknownStep",
    "UnsupportedCombinationStep",
    "UserAction",
    "UserActionRequiredStep",
    "UserInput",
    "UserInputRequiredStep",
    "VirtualKeyDetails",
    "WaitForLiveIntegrationStep",
    "WaitForTransitionStep",
    "Wizard",
    "parse_device",
    "parse_model",
    "parse_step",
    "parse_wizard",
]


class DeviceType(StrEnum):
    """KrakenFlexDeviceTypes (there is no charge-point type: chargers onboard as EVs)."""

    BATTERIES = "BATTERIES"
    ELECTRIC_VEHICLES = "ELECTRIC_VEHICLES"
    INVERTERS = "INVERTERS"
    HEAT_PUMPS = "HEAT_PUMPS"
    STORAGE_HEATERS = "STORAGE_HEATERS"
    ELECTRICITY_METERS = "ELECTRICITY_METERS"
    THERMOSTATS = "THERMOSTATS"


class DeviceLifecycleStatus(StrEnum):
    """SmartFlexDeviceLifecycleStatus: LIVE means under smart control."""

    ONBOARDING = "ONBOARDING"
    PENDING_LIVE = "PENDING_LIVE"
    LIVE = "LIVE"
    ONBOARDING_TEST_IN_PROGRESS = "ONBOARDING_TEST_IN_PROGRESS"
    FAILED_ONBOARDING_TEST = "FAILED_ONBOARDING_TEST"
    RETIRED = "RETIRED"


def _step_or_none(value: Any) -> Any:
    return None if value is None else parse_step(value)


def _steps(value: Any) -> Any:
    if not isinstance(value, list):
        return [] if value is None else value
    return [parse_step(item) for item in value if item is not None]


class Resumable(WireModel):
    is_resumable: bool | None = None
    resumable_reasons: CompactList[str] = Field(default_factory=list)


class Wizard(WireModel):
    """One onboarding journey; `current_step` is None once it is complete (or cancelled)."""

    id: str
    current_step: Annotated[Step | None, BeforeValidator(_step_or_none)] = None
    completed_steps: Annotated[list[Step], BeforeValidator(_steps)] = Field(default_factory=list)
    device_type: str | None = None
    display_name: str | None = None
    resumable: Resumable | None = None
    is_complete: bool = False
    is_rewindable: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _complete_when_no_step(cls, data: Any) -> Any:
        """Instances without `isComplete` (ES) signal completion by a null current step."""
        if isinstance(data, Mapping) and data.get("isComplete", data.get("is_complete")) is None:
            step = data.get("currentStep", data.get("current_step"))
            return {**data, "isComplete": step is None}
        return data


def _lifecycle(value: Any) -> Any:
    """A lifecycle status this build does not know is reported as unknown, not as an error."""
    return value if value is None or value in DeviceLifecycleStatus.__members__ else None


class DeviceStatus(WireModel):
    current: Annotated[DeviceLifecycleStatus | None, BeforeValidator(_lifecycle)] = None
    current_state: str | None = None
    is_suspended: bool | None = None
    state_of_charge: int | None = None
    state_of_charge_limit: int | None = None
    test_dispatch_failure_reason: str | None = None


class DeviceAlert(WireModel):
    message: str | None = None
    published_at: str | None = None


class ReAuthenticationState(WireModel):
    is_eligible: bool | None = None


DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
WEEKDAYS, WEEKEND = DAYS[:5], DAYS[5:]


class PreferenceSchedule(WireModel):
    """One day's schedule: ready by `time` ("07:00:00"), `max` the target (a charge in per
    cent, or a heat pump's cooling set point), `min` the floor (a heating set point)."""

    day_of_week: str
    time: str | None = None
    max: float | None = None
    min: float | None = None

    @property
    def clock(self) -> str | None:
        """The ready-by time as HH:MM (Kraken's Time scalar carries seconds)."""
        return self.time[:5] if self.time else None


class DevicePreferences(WireModel):
    """`preferences`: what the device aims for, day by day. `grid_export` and
    `is_charging_duration_capped` are ENABLED, DISABLED or NOT_APPLICABLE (None: this
    instance does not say)."""

    mode: str | None = None
    unit: str | None = None
    target_type: str | None = None
    schedules: CompactList[PreferenceSchedule] = Field(default_factory=list)
    grid_export: str | None = None
    is_charging_duration_capped: str | None = None

    def day(self, day: str) -> PreferenceSchedule | None:
        return next((s for s in self.schedules if s.day_of_week == day), None)


class ScheduleSetting(WireModel):
    """The bounds Kraken accepts for a schedule: values `min`-`max` in `step`s, times
    `time_from`-`time_to` every `time_step` minutes."""

    min: float | None = None
    max: float | None = None
    step: float | None = None
    time_from: str | None = None
    time_to: str | None = None
    time_step: int | None = None


class PreferenceSetting(WireModel):
    mode: str | None = None
    unit: str | None = None
    schedule_settings: CompactList[ScheduleSetting] = Field(default_factory=list)

    @property
    def bounds(self) -> ScheduleSetting | None:
        return self.schedule_settings[0] if self.schedule_settings else None


class HeatPumpState(WireModel):
    """`HeatPumpDeviceType`, what the heat-pump mutations answer (`devices` does not show it)."""

    id: str | None = None
    climate_control_enabled: bool | None = None
    hot_water_enabled: bool | None = None
    room_temperature: float | None = None
    min_room_temperature: float | None = None
    max_room_temperature: float | None = None
    room_temperature_step: float | None = None


class Device(WireModel):
    """A registered SmartFlex device (SmartFlexVehicle / SmartFlexChargePoint / SmartFlexDevice)."""

    id: str
    name: str | None = None
    device_type: str
    provider: str
    integration_device_id: str | None = None
    property_id: str | None = None
    make: str | None = None
    model: str | None = None
    status: DeviceStatus
    alerts: CompactList[DeviceAlert] = Field(default_factory=list)
    re_authentication_state: ReAuthenticationState | None = None
    preferences: DevicePreferences | None = None
    preference_setting: PreferenceSetting | None = None

    @property
    def is_live(self) -> bool:
        return self.status.current is DeviceLifecycleStatus.LIVE


class VirtualKeyDetails(WireModel):
    virtual_key_name: str
    virtual_key_uri: str


class Token(WireModel):
    """A Kraken JWT with its expiry (Unix seconds) and the optional refresh token."""

    token: SecretStr
    expires_at: float
    refresh_token: SecretStr | None = None
    refresh_expires_at: float | None = None


M = TypeVar("M", bound=WireModel)


def parse_model(model: type[M], data: object, what: str) -> M:
    """Validate `data` as `model`, reporting any mismatch as KrakenResponseError."""
    if not isinstance(data, Mapping):
        raise KrakenResponseError(f"Expected {what} object, got {type(data).__name__}.")
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or what
        raise KrakenResponseError(f"Malformed {what}: {where}: {error['msg']}") from exc


def parse_wizard(data: object) -> Wizard:
    return parse_model(Wizard, data, "wizard")


def parse_device(data: object) -> Device:
    return parse_model(Device, data, "device")
