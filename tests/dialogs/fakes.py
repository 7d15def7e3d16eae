"""A small in-memory KrakenPort: scripted wizards, recorded calls, injectable errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kraken.errors import KrakenError
from kraken.models import (
    Device,
    HeatPumpState,
    Integration,
    ListOption,
    PreferenceSchedule,
    Step,
    StepBase,
    Wizard,
    parse_device,
    parse_step,
)


def step(typename: str, step_id: str | None = None, **fields: Any) -> Step:
    """Any step from its GraphQL shape (camelCase fields), parsed like the client does."""
    return parse_step({"__typename": typename, "id": step_id or f"{typename}-1", **fields})


def options(*labels: str, live: Sequence[bool] = ()) -> list[ListOption]:
    return [
        ListOption(
            id=f"opt-{i}",
            label=label,
            is_integration_live=live[i] if i < len(live) else None,
        )
        for i, label in enumerate(labels)
    ]


def wizard(
    current: StepBase | None,
    *completed: StepBase,
    wizard_id: str = "w1",
    display_name: str | None = None,
) -> Wizard:
    return Wizard(
        id=wizard_id,
        current_step=current,
        completed_steps=list(completed),
        display_name=display_name,
    )


DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


def car_preferences(capped: str = "DISABLED") -> dict[str, Any]:
    """The sandbox's defaults for a car: 80 % by 07:00 on weekdays, 09:00 at weekends;
    targets 20-100 % in 5s, ready between 04:00 and 11:00 every 30 minutes."""
    return {
        "preferences": {
            "__typename": "SmartFlexDevicePreferences",
            "mode": "CHARGE",
            "unit": "PERCENTAGE",
            "targetType": "ABSOLUTE_STATE_OF_CHARGE",
            "gridExport": "NOT_APPLICABLE",
            "isChargingDurationCapped": capped,
            "schedules": [
                {"dayOfWeek": day, "time": "07:00:00" if i < 5 else "09:00:00", "max": 80.0}
                for i, day in enumerate(DAYS)
            ],
        },
        "preferenceSetting": {
            "mode": "CHARGE",
            "unit": "PERCENTAGE",
            "scheduleSettings": [
                {
                    "min": 20,
                    "max": 100,
                    "step": 5,
                    "timeFrom": "04:00:00",
                    "timeTo": "11:00:00",
                    "timeStep": 30,
                }
            ],
        },
    }


def device(
    status: str,
    *,
    suspended: bool = False,
    name: str | None = None,
    device_id: str = "d1",
    device_type: str = "ELECTRIC_VEHICLES",
    **more: Any,
) -> Device:
    """A device as `devices` answers; without a name, screens call it what the wizard did.
    `more`: other fields in their GraphQL shape (`preferences`, ...)."""
    return parse_device(
        {
            "id": device_id,
            "name": name,
            "deviceType": device_type,
            "provider": "TESLA",
            "status": {"current": status, "isSuspended": suspended},
            **more,
        }
    )


@dataclass
class FakeKraken:
    """Returns ``current`` for reads and the next scripted wizard for each mutation
    (starting a wizard counts as one)."""

    current: Wizard
    after: list[Wizard] = field(default_factory=list)
    resumable: list[Wizard] = field(default_factory=list)
    eligible: list[str] = field(default_factory=lambda: ["ELECTRIC_VEHICLES"])
    errors: dict[str, KrakenError] = field(default_factory=dict)
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    # What `devices` answers (a wizard that ends is LIVE unless a test says otherwise) and
    # the wizards cancelled (outside the chat, or by `cancel`).
    device_list: list[Device] = field(default_factory=lambda: [device("LIVE")])
    cancelled: set[str] = field(default_factory=set)

    def _call(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if name in self.errors:
            raise self.errors.pop(name)

    def _mutate(self, name: str, *args: Any) -> Wizard:
        self._call(name, *args)
        if self.after:
            self.current = self.after.pop(0)
        return self.current

    def called(self, name: str) -> list[tuple[Any, ...]]:
        return [args for call, args in self.calls if call == name]

    async def start_onboarding(self, account_number: str, property_id: int) -> Wizard:
        return self._mutate("start_onboarding", account_number, property_id)

    async def wizards(
        self,
        account_number: str,
        *,
        property_id: int | None = None,
        wizard_id: str | None = None,
        include_cancelled: bool | None = None,
        include_completed: bool | None = None,
        is_resumable: bool | None = None,
    ) -> Sequence[Wizard]:
        self._call("wizards", account_number, property_id, wizard_id, is_resumable)
        if wizard_id is not None:  # reading one wizard back: is it cancelled?
            cancelled = self.current.id in self.cancelled and not include_cancelled
            return [] if cancelled or self.current.id != wizard_id else [self.current]
        return self.resumable

    async def devices(
        self, account_number: str, property_id: int | str | None = None
    ) -> Sequence[Device]:
        self._call("devices", account_number, property_id)
        return self.device_list

    async def wizard(self, account_number: str, wizard_id: str) -> Wizard:
        self._call("wizard", account_number, wizard_id)
        return self.current

    async def set_smart_control(self, device_id: str, suspend: bool) -> Device:
        self._call("set_smart_control", device_id, suspend)
        return self._device_update(device_id, {"isSuspended": suspend})

    async def boost(self, device_id: str, cancel: bool = False) -> Device:
        self._call("boost", device_id, cancel)
        return self._device_update(device_id, {"currentState": None if cancel else "BOOSTING"})

    async def deauthenticate_device(self, account_number: str, device_id: str) -> str | None:
        self._call("deauthenticate_device", account_number, device_id)
        self._device_update(device_id, {"current": "RETIRED"})
        return device_id

    async def set_preferences(
        self, account_number: str, device: Device, schedules: Sequence[PreferenceSchedule]
    ) -> Device | None:
        self._call(
            "set_preferences", device.id, [(s.day_of_week, s.clock, s.max) for s in schedules]
        )
        prefs = device.preferences.model_dump(by_alias=True) if device.preferences else {}
        given = {s.day_of_week: s.model_dump(by_alias=True) for s in schedules}
        days = [given.get(day["dayOfWeek"], day) for day in prefs.get("schedules", [])]
        return self._device_update(device.id, preferences={**prefs, "schedules": days})

    async def cap_charging_duration(self, device_id: str, enabled: bool) -> Device:
        self._call("cap_charging_duration", device_id, enabled)
        return self._switched(device_id, "isChargingDurationCapped", enabled)

    async def set_grid_export(self, device_id: str, enabled: bool) -> Device:
        self._call("set_grid_export", device_id, enabled)
        return self._switched(device_id, "gridExport", enabled)

    def _switched(self, device_id: str, name: str, enabled: bool) -> Device:
        found = next(d for d in self.device_list if d.id == device_id)
        prefs = found.preferences.model_dump(by_alias=True) if found.preferences else {}
        value = "ENABLED" if enabled else "DISABLED"
        return self._device_update(device_id, preferences={**prefs, name: value})

    heat: HeatPumpState = field(
        default_factory=lambda: HeatPumpState(
            climate_control_enabled=True,
            hot_water_enabled=True,
            room_temperature=20.0,
            min_room_temperature=7.0,
            max_room_temperature=30.0,
            room_temperature_step=0.5,
        )
    )

    async def set_climate_control(self, device_id: str, enabled: bool) -> HeatPumpState:
        self._call("set_climate_control", device_id, enabled)
        self.heat = self.heat.model_copy(update={"climate_control_enabled": enabled})
        return self.heat

    async def set_hot_water(self, device_id: str, enabled: bool) -> HeatPumpState:
        self._call("set_hot_water", device_id, enabled)
        self.heat = self.heat.model_copy(update={"hot_water_enabled": enabled})
        return self.heat

    async def set_room_temperature(self, device_id: str, temperature: float) -> HeatPumpState:
        self._call("set_room_temperature", device_id, temperature)
        self.heat = self.heat.model_copy(update={"room_temperature": temperature})
        return self.heat

    def _device_update(
        self, device_id: str, status: dict[str, Any] | None = None, **fields: Any
    ) -> Device:
        """Kraken's answer to a device mutation: the device as it is now."""
        for i, found in enumerate(self.device_list):
            if found.id == device_id:
                current = found.status.model_dump(by_alias=True)
                raw = {
                    **found.model_dump(by_alias=True),
                    "status": {**current, **(status or {})},
                    **fields,
                }
                self.device_list[i] = parse_device(raw)
                return self.device_list[i]
        raise AssertionError(f"no device {device_id}")

    async def cancel(self, wizard_id: str) -> Wizard:
        self._call("cancel", wizard_id)
        self.cancelled.add(wizard_id)
        return self.current

    async def start_reauthentication(
        self, account_number: str, device_id: str, property_id: int
    ) -> Wizard:
        return self._mutate("start_reauthentication", account_number, device_id, property_id)

    async def eligible_device_types(
        self, account_number: str, property_id: int | None = None
    ) -> Sequence[str]:
        self._call("eligible_device_types", account_number, property_id)
        return self.eligible

    async def select_from_list(self, wizard_id: str, step_id: str, option_id: str) -> Wizard:
        return self._mutate("select_from_list", step_id, option_id)

    async def select_vehicle_or_charge_point(
        self, wizard_id: str, step_id: str, integration: Integration
    ) -> Wizard:
        return self._mutate("select_vehicle_or_charge_point", step_id, integration)

    async def complete_auth_flow(
        self, wizard_id: str, step_id: str, continuation_uri: str
    ) -> Wizard:
        return self._mutate("complete_auth_flow", step_id, continuation_uri)

    async def complete_tesla_virtual_key(self, wizard_id: str, step_id: str) -> Wizard:
        return self._mutate("complete_tesla_virtual_key", step_id)

    async def complete_user_action(self, wizard_id: str, step_id: str) -> Wizard:
        return self._mutate("complete_user_action", step_id)

    async def complete_user_input(
        self, wizard_id: str, step_id: str, inputs: Mapping[str, str]
    ) -> Wizard:
        return self._mutate("complete_user_input", step_id, dict(inputs))

    async def start_test_charge(self, wizard_id: str, step_id: str) -> Wizard:
        return self._mutate("start_test_charge", step_id)

    async def complete_retry(self, wizard_id: str, step_id: str) -> Wizard:
        return self._mutate("complete_retry", step_id)
