"""The sandbox's state: wizards, their steps, devices and per-account scenario overrides."""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class WizardStatus(StrEnum):
    ACTIVE = "ACTIVE"
    CANCELLED = "CANCELLED"
    COMPLETE = "COMPLETE"


def mint_step_id() -> str:
    """Opaque and fresh every time a step is (re)entered, like Kraken's."""
    return secrets.token_urlsafe(12)


@dataclass
class Step:
    """One instance of a step; `fields` are its GraphQL fields beyond `id`.

    `ready_at` marks a step that resolves by itself once the clock passes it (checked on read).
    """

    kind: str
    fields: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=mint_step_id)
    entered_at: float = 0.0
    ready_at: float | None = None
    hidden: dict[str, Any] = field(default_factory=dict)

    @property
    def selected(self) -> str | None:
        value = self.fields.get("selectedOptionId", self.fields.get("selectedIntegration"))
        return None if value is None else str(value)

    def option_ids(self) -> list[str]:
        return [str(o["id"]) for o in self.fields.get("options", [])]


@dataclass
class Wizard:
    id: str
    account_number: str
    property_id: int
    created_at: float
    steps: list[Step] = field(default_factory=list)
    status: WizardStatus = WizardStatus.ACTIVE
    device_id: str | None = None
    reauth_device_id: str | None = None
    test_charge_attempts: int = 0
    failed_registrations: int = 0
    virtual_key_confirmations: int = 0

    @property
    def current(self) -> Step | None:
        return self.steps[-1] if self.status is WizardStatus.ACTIVE and self.steps else None

    @property
    def completed(self) -> list[Step]:
        return self.steps if self.status is WizardStatus.COMPLETE else self.steps[:-1]

    def selection(self, kind: str) -> str | None:
        step = next((s for s in self.steps if s.kind == kind), None)
        return None if step is None else step.selected

    def done(self, kind: str) -> bool:
        """Planning happens between steps, when every step in the history is finished."""
        return any(s.kind == kind for s in self.steps)


@dataclass
class Device:
    id: str
    account_number: str
    property_id: int
    typename: str  # SmartFlexVehicle / SmartFlexChargePoint / SmartFlexDevice
    device_type: str
    provider: str
    name: str
    make: str | None
    model: str | None
    integration_device_id: str
    wizard_id: str
    current: str = "ONBOARDING"
    current_state: str = "AUTHENTICATION_COMPLETE"  # while not LIVE; a LIVE device derives it
    is_suspended: bool = False
    test_dispatch_failure_reason: str | None = None
    # After LIVE (see devices.py and simulation.py): what the outside world did to the device.
    auth_expired: bool = False
    alerts: list[Alert] = field(default_factory=list)  # oldest first
    # Heat pumps: zones of one system share `system_id` (the controller) and pause together.
    system_id: str | None = None
    zone: str | None = None
    climate_control_enabled: bool = True
    hot_water_enabled: bool = True
    room_temperature: float = 20.0
    # Preferences: day of week -> {"time": "HH:MM", "max": float, "min": float | None}.
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    grid_export: str = "NOT_APPLICABLE"
    charging_duration_capped: str = "NOT_APPLICABLE"
    # The car (an EV, or the one behind a charger): simulated on the sandbox clock.
    state_of_charge: float = 62.0
    state_of_charge_limit: int = 100
    plugged_in: bool = True
    at_home: bool = True
    boosting: bool = False
    simulated_until: float = 0.0


@dataclass
class Alert:
    message: str
    published_at: float
    kind: str = "CUSTOM"  # AUTHENTICATION: cleared when the device is re-authenticated


TESLA_GRANTS = ("OK", "MODIFY_SCOPES", "REGISTRATION_FAILED")


@dataclass
class AccountScenario:
    """Per-account overrides set through `POST /sandbox/scenario` (or seeded, below).

    `tesla_grant`: what the customer's Tesla sign-in gave (MODIFY_SCOPES: too few scopes;
    REGISTRATION_FAILED: the registration failed). `virtual_key_added` False: the customer
    confirms the virtual key without adding it, once. `registration_failures`: how many
    device-registration waits of each wizard fail (uk: Retry step). `device_taken`: the device
    is registered to another account (uk: TerminalError).
    """

    tesla_vehicles: int | None = None
    test_charge_outcomes: deque[str] = field(default_factory=deque)
    vehicle_ready_after_seconds: float = 0.0
    eligible_device_types: list[str] | None = None
    tesla_grant: str = "OK"
    virtual_key_added: bool = True
    registration_failures: int = 0
    device_taken: bool = False


def seeded_scenarios() -> dict[str, AccountScenario]:
    """Accounts every sandbox has, each set up for one way onboarding goes wrong."""
    return {
        "A-TESLA-SCOPES": AccountScenario(tesla_grant="MODIFY_SCOPES"),
        "A-TESLA-FAILED": AccountScenario(tesla_grant="REGISTRATION_FAILED"),
        "A-TESLA-NOKEY": AccountScenario(virtual_key_added=False),
        "A-REG-RETRY": AccountScenario(registration_failures=1),
        "A-DEVICE-TAKEN": AccountScenario(device_taken=True),
    }
