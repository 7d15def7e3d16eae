"""The stateful heart of the sandbox: wizards moving through their journeys, and devices.

Mutations run under a per-wizard lock held across an awaited point, so two requests racing on
one wizard behave like Kraken (the loser gets KT-CT-4372). Steps that wait on the outside
world resolve when a later read finds the clock past their deadline.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .catalog import Catalog
from .clock import SandboxClock
from .config import SandboxConfig
from .errors import FieldError, KrakenError
from .journeys import (
    LIST_STEPS,
    NO_REAUTH_PROVIDERS,
    FlowStep,
    Target,
    flow_step,
    plan_next,
    scripted_test_charge,
    target_of,
)
from .models import AccountScenario, Device, Step, Wizard, WizardStatus
from .steps import StepFactory

ELIGIBLE_DEVICE_TYPES = ["ELECTRIC_VEHICLES", "HEAT_PUMPS"]
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
FAILURE_REASONS = {
    "UNKNOWN": "The test charge failed for an unknown reason.",
    "ASSESSMENTS_FAILED": "Both power-based and charge status-based assessments failed.",
    "NOT_AT_HOME": "The vehicle was not at home during the test charge.",
    "UNABLE_TO_COMMUNICATE": "We could not communicate with the device.",
    "SOC_LIMIT_REACHED": "The battery reached its charge limit.",
    "ERROR": "The device reported an error.",
}
TEST_CHARGE_OUTCOMES = frozenset({"OK", *REFUSAL_REASONS, *FAILURE_REASONS})
REWINDABLE_STEPS = frozenset({*LIST_STEPS, "SelectVehicleOrChargePoint"})

Action = Callable[[Wizard], None]


class WizardEngine:
    def __init__(self, config: SandboxConfig, clock: SandboxClock, catalog: Catalog) -> None:
        self.config = config
        self.clock = clock
        self.catalog = catalog
        self._steps = StepFactory(config, catalog)
        self.wizards: dict[str, Wizard] = {}
        self.devices: dict[str, Device] = {}
        self.scenarios: dict[str, AccountScenario] = {}
        self.properties: dict[str, set[int]] = {a: {1} for a in config.accounts}
        self._locks: dict[str, asyncio.Lock] = {}

    # --- accounts ----------------------------------------------------------------------------

    def has_account(self, account_number: str) -> bool:
        return account_number in self.properties

    def scenario(self, account_number: str) -> AccountScenario:
        return self.scenarios.setdefault(account_number, AccountScenario())

    def eligible_device_types(self, account_number: str) -> list[str]:
        return self.scenario(account_number).eligible_device_types or list(ELIGIBLE_DEVICE_TYPES)

    def _check_property(self, account_number: str, property_id: int) -> None:
        if property_id not in self.properties.get(account_number, set()):
            raise KrakenError(
                "KT-CT-4321",
                validation_errors=[
                    FieldError(
                        "KT-CT-4321", "Property not found on this account.", ("input", "propertyId")
                    )
                ],
            )

    # --- reads -------------------------------------------------------------------------------

    def wizard(self, wizard_id: str) -> Wizard:
        """A wizard as a client would read it: waits past their deadline resolve now."""
        wizard = self.wizards.get(str(wizard_id))
        if wizard is None:
            raise KrakenError("KT-CT-4371")
        self.refresh(wizard)
        return wizard

    def wizards_of(
        self,
        account_number: str,
        property_id: int | None = None,
        wizard_id: str | None = None,
        include_cancelled: bool = False,
        include_completed: bool = False,
        is_resumable: bool | None = None,
    ) -> list[Wizard]:
        found = []
        for wizard in reversed(self.wizards.values()):  # newest first
            if wizard.account_number != account_number:
                continue
            if property_id is not None and wizard.property_id != property_id:
                continue
            if wizard_id is not None and wizard.id != str(wizard_id):
                continue
            self.refresh(wizard)
            if wizard.status is WizardStatus.CANCELLED and not include_cancelled:
                continue
            if wizard.status is WizardStatus.COMPLETE and not include_completed:
                continue
            if is_resumable is not None and self.is_resumable(wizard) != is_resumable:
                continue
            found.append(wizard)
        return found[:1] if is_resumable else found

    @staticmethod
    def is_resumable(wizard: Wizard) -> bool:
        return wizard.status is WizardStatus.ACTIVE

    def display_name(self, wizard: Wizard) -> str | None:
        if wizard.reauth_device_id is not None:
            return self.devices[wizard.reauth_device_id].name
        target = target_of(wizard, self.catalog)
        if target is not None:
            return target.display_name
        variant = self.catalog.ev_variant(wizard.selection("SelectVehicleVariant") or "")
        return variant.display_name if variant else None

    def devices_of(
        self,
        account_number: str,
        property_id: str | None = None,
        device_id: str | None = None,
        integration_device_id: str | None = None,
    ) -> list[Device]:
        return [
            d
            for d in self.devices.values()
            if d.account_number == account_number
            and (property_id is None or str(d.property_id) == str(property_id))
            and (device_id is None or d.id == device_id)
            and (integration_device_id is None or d.integration_device_id == integration_device_id)
        ]

    def device(self, account_number: str | None, device_id: str) -> Device:
        device = self.devices.get(device_id)
        if device is None or (
            account_number is not None and device.account_number != account_number
        ):
            raise KrakenError("KT-CT-4301")
        return device

    # --- the clock ---------------------------------------------------------------------------

    def refresh(self, wizard: Wizard) -> None:
        """Resolve every wait whose deadline has passed, in order (a wait may chain another)."""
        now = self.clock.now()
        while (step := wizard.current) is not None:
            if step.kind == "TestCharge" and not step.fields["isStarted"]:
                step.fields["isReady"] = now >= step.hidden["ready_from"]
            if step.ready_at is None or step.ready_at > now:
                return
            if step.kind == "TestCharge":
                self._finish_test_charge(wizard, step)
            else:
                step.fields.update(
                    {k: True for k in ("deviceRegistered", "isLive") if k in step.fields}
                )
                self._advance(wizard, step.ready_at)

    # --- wizard lifecycle --------------------------------------------------------------------

    def start(self, account_number: str, property_id: int) -> Wizard:
        self._check_property(account_number, property_id)
        wizard = self._new_wizard(account_number, property_id)
        self._advance(wizard, self.clock.now())
        return wizard

    def start_reauthentication(
        self, account_number: str, device_id: str, property_id: int
    ) -> Wizard:
        self._check_property(account_number, property_id)
        device = self.device(account_number, device_id)
        if device.provider in NO_REAUTH_PROVIDERS:
            raise KrakenError("KT-CT-4385")
        wizard = self._new_wizard(account_number, property_id)
        wizard.reauth_device_id = device.id
        self._advance(wizard, self.clock.now())
        return wizard

    def _new_wizard(self, account_number: str, property_id: int) -> Wizard:
        wizard_id = str(secrets.randbelow(90_000_000) + 10_000_000)
        while wizard_id in self.wizards:
            wizard_id = str(secrets.randbelow(90_000_000) + 10_000_000)
        wizard = Wizard(wizard_id, account_number, property_id, self.clock.now())
        self.wizards[wizard_id] = wizard
        return wizard

    async def mutate(self, wizard_id: str, action: Action) -> Wizard:
        """Run `action` on the wizard under its lock; a concurrent mutation gets KT-CT-4372."""
        wizard = self.wizard(wizard_id)
        lock = self._locks.setdefault(wizard.id, asyncio.Lock())
        if lock.locked():
            raise KrakenError("KT-CT-4372")
        async with lock:
            await asyncio.sleep(self.config.commit_seconds)
            self.refresh(wizard)
            action(wizard)
        return wizard

    def cancel(self, wizard: Wizard) -> None:
        """Cancelling keeps any device already registered (as Kraken does)."""
        if wizard.status is WizardStatus.ACTIVE:
            wizard.status = WizardStatus.CANCELLED

    # --- step mutations (each is an Action once its arguments are bound) ---------------------

    def select_from_list(self, wizard: Wizard, step_id: str, option: str) -> None:
        step = self._locate(wizard, step_id, LIST_STEPS)
        if option not in step.option_ids():
            raise KrakenError(
                "KT-CT-4375",
                validation_errors=[
                    FieldError("KT-CT-4375", "Unknown option.", ("input", "selectedOption"))
                ],
            )
        self._answer(wizard, step, "selectedOptionId", option)

    def select_integration(self, wizard: Wizard, step_id: str, choice: str | None) -> None:
        step = self._locate(wizard, step_id, {"SelectVehicleOrChargePoint"})
        if choice is None:
            raise KrakenError(
                "KT-CT-4375",
                validation_errors=[
                    FieldError(
                        "KT-CT-4375", "Choose an integration.", ("input", "selectedIntegration")
                    )
                ],
            )
        self._answer(wizard, step, "selectedIntegration", choice)

    def complete_auth_flow(self, wizard: Wizard, step_id: str, continuation_uri: str) -> None:
        step = self._locate(wizard, step_id, {"AuthFlow"})
        query = parse_qs(urlsplit(continuation_uri).query)
        state = query.get("state", [None])[0]
        if state != step.hidden["state"] or not ({"code", "error"} & query.keys()):
            raise KrakenError(
                "KT-CT-4375",
                validation_errors=[
                    FieldError(
                        "KT-CT-4375",
                        "The continuation URI does not belong to this step.",
                        ("input", "continuationUri"),
                    )
                ],
            )
        if "error" in query:
            provider = step.hidden["provider"]
            retry = self._reenter(wizard)
            retry.fields["error"] = {
                "__typename": "AuthFlowError",
                "message": f"{provider.title()} did not grant access ({query['error'][0]}). "
                "Please try again and choose Allow.",
            }
            return
        self._advance(wizard, self.clock.now())

    def complete_virtual_key(self, wizard: Wizard, step_id: str) -> None:
        self._locate(wizard, step_id, {"TeslaSetupVirtualKey"})
        self._advance(wizard, self.clock.now())

    def complete_user_action(self, wizard: Wizard, step_id: str) -> None:
        self._locate(wizard, step_id, {"UserActionRequired"})
        self._advance(wizard, self.clock.now())

    def complete_retry(self, wizard: Wizard, step_id: str) -> None:
        self._locate(wizard, step_id, {"Retry"})
        self._advance(wizard, self.clock.now())

    def complete_user_input(self, wizard: Wizard, step_id: str, raw_inputs: str) -> None:
        """Malformed input is a KT-CT-4378 with validationErrors; a value that fails the
        input's regex is reported on the (re-minted) step's `error`."""
        step = self._locate(wizard, step_id, {"UserInputRequired"})
        try:
            given = json.loads(raw_inputs)
        except (TypeError, ValueError):
            given = None
        if not isinstance(given, dict):
            raise _invalid_input("userInputs must be a JSON object.", ("input", "userInputs"))
        for spec in step.fields["userInputs"]:
            value = given.get(spec["key"])
            if spec["isRequired"] and (not isinstance(value, str) or not value.strip()):
                raise _invalid_input(
                    f"'{spec['key']}' is required.", ("input", "userInputs", spec["key"])
                )
        invalid = [
            spec
            for spec in step.fields["userInputs"]
            if spec["regex"] and not re.fullmatch(spec["regex"], str(given.get(spec["key"], "")))
        ]
        if invalid:
            retry = self._reenter(wizard)
            retry.fields["error"] = {
                "__typename": "UserInputRequiredError",
                "message": f"'{given[invalid[0]['key']]}' is not a valid "
                f"{invalid[0]['key']}: {invalid[0]['description']}",
            }
            return
        for spec in step.fields["userInputs"]:
            spec.update(
                value=str(given.get(spec["key"], "")).strip(), isValidated=True, isVerified=True
            )
        self._advance(wizard, self.clock.now())

    def start_test_charge(self, wizard: Wizard, step_id: str) -> None:
        step = self._locate(wizard, step_id, {"TestCharge"})
        if step.fields["isStarted"]:
            raise KrakenError("KT-CT-4378")
        if not step.fields["isReady"]:
            raise KrakenError(
                "KT-CT-4379", extra={"testChargeRefusalReasons": ["DEVICE_DISCONNECTED"]}
            )
        outcome = self._next_test_charge_outcome(wizard)
        wizard.test_charge_attempts += 1
        device = self.devices[str(wizard.device_id)]
        if outcome in REFUSAL_REASONS:
            retry = self._reenter(wizard)
            retry.fields["error"] = _test_charge_error(
                "TestChargeRefused", "UNABLE_TO_INITIATE_TEST_CHARGE", outcome, REFUSAL_REASONS
            )
            device.current_state = "TEST_CHARGE_NOT_AVAILABLE"
            return
        now = self.clock.now()
        step.fields.update(isStarted=True, status="TRIGGERED", error=None)
        step.ready_at = now + self.config.scaled(self.config.delays.test_charge)
        step.hidden["outcome"] = outcome
        device.current, device.current_state = (
            "ONBOARDING_TEST_IN_PROGRESS",
            "TEST_CHARGE_IN_PROGRESS",
        )

    def _next_test_charge_outcome(self, wizard: Wizard) -> str:
        queued = self.scenario(wizard.account_number).test_charge_outcomes
        if queued:
            return queued.popleft()
        target = target_of(wizard, self.catalog)
        return "OK" if target is None else scripted_test_charge(target, wizard.test_charge_attempts)

    def _finish_test_charge(self, wizard: Wizard, step: Step) -> None:
        device = self.devices[str(wizard.device_id)]
        outcome = step.hidden["outcome"]
        if outcome == "OK":
            step.fields["status"] = "COMPLETE"
            device.current, device.current_state = "ONBOARDING", "SETUP_COMPLETE"
            device.test_dispatch_failure_reason = None
            self._advance(wizard, float(step.ready_at or self.clock.now()))
            return
        ready_at = float(step.ready_at or self.clock.now())
        retry = self._reenter(wizard, ready_at)
        retry.fields["error"] = _test_charge_error(
            "Test dispatch failed", "UNABLE_TO_COMPLETE_TEST_CHARGE", outcome, FAILURE_REASONS
        )
        retry.fields["status"] = "FAILED"
        device.current, device.current_state = "FAILED_ONBOARDING_TEST", "TEST_CHARGE_FAILED"
        device.test_dispatch_failure_reason = outcome

    # --- step plumbing -----------------------------------------------------------------------

    def _locate(self, wizard: Wizard, step_id: str, kinds: set[str] | frozenset[str]) -> Step:
        """The step a mutation addresses: the current one, or an earlier choice to go back to."""
        if wizard.status is WizardStatus.CANCELLED:
            raise KrakenError("KT-CT-4391")
        current = wizard.current
        if current is not None and current.id == step_id:
            if current.kind not in kinds:
                raise KrakenError("KT-CT-4378")
            return current
        earlier = next((s for s in wizard.completed if s.id == step_id), None)
        if earlier is None:
            raise KrakenError("KT-CT-4377")
        if (
            earlier.kind not in kinds
            or earlier.kind not in REWINDABLE_STEPS
            or wizard.device_id is not None
            or wizard.status is not WizardStatus.ACTIVE
        ):
            raise KrakenError("KT-CT-4378")
        return earlier

    def _answer(self, wizard: Wizard, step: Step, field: str, value: str) -> None:
        """Record a choice; answering an earlier step drops everything after it (going back)."""
        del wizard.steps[wizard.steps.index(step) + 1 :]
        step.fields[field] = value
        self._advance(wizard, self.clock.now())

    def _advance(self, wizard: Wizard, now: float) -> None:
        """The current step is finished: register the device if it says so, enter the next."""
        finished = wizard.current
        scenario = self.scenario(wizard.account_number)
        if (
            finished is not None
            and wizard.device_id is None
            and wizard.reauth_device_id is None
            and flow_step(wizard, self.catalog, scenario, finished.kind).registers_device
        ):
            self._register_device(wizard, finished)
        following = plan_next(wizard, self.catalog, scenario)
        if following is None:
            self._finish(wizard)
            return
        wizard.steps.append(self._enter(wizard, following, now))

    def _enter(self, wizard: Wizard, flow: FlowStep, now: float) -> Step:
        scenario = self.scenario(wizard.account_number)
        step = self._steps.build(flow.kind, wizard, scenario, self._provider(wizard), now)
        if flow.delay is not None:
            step.ready_at = now + self.config.scaled(getattr(self.config.delays, flow.delay))
        return step

    def _reenter(self, wizard: Wizard, now: float | None = None) -> Step:
        """Replace the current step with a fresh instance (new id) of the same kind."""
        current = wizard.steps.pop()
        fresh = self._enter(
            wizard, FlowStep(current.kind), self.clock.now() if now is None else now
        )
        wizard.steps.append(fresh)
        return fresh

    def _provider(self, wizard: Wizard) -> str:
        if wizard.reauth_device_id is not None:
            return self.devices[wizard.reauth_device_id].provider
        target = target_of(wizard, self.catalog)
        return target.provider if target else ""

    def _register_device(self, wizard: Wizard, step: Step) -> None:
        target = target_of(wizard, self.catalog)
        assert target is not None, "a device is only registered once the journey has a target"
        device = Device(
            id=str(uuid.uuid4()),
            account_number=wizard.account_number,
            property_id=wizard.property_id,
            typename=target.typename,
            device_type=target.device_type,
            provider=target.provider,
            name=target.display_name,
            make=target.make or None,
            model=target.model or None,
            integration_device_id=_integration_device_id(wizard, target, step),
            wizard_id=wizard.id,
        )
        self.devices[device.id] = device
        wizard.device_id = device.id

    def _finish(self, wizard: Wizard) -> None:
        wizard.status = WizardStatus.COMPLETE
        device_id = wizard.reauth_device_id or wizard.device_id
        if device_id is not None:
            device = self.devices[device_id]
            device.current, device.current_state = "LIVE", "SMART_CONTROL_CAPABLE"

    # --- device mutations --------------------------------------------------------------------

    def smart_control(self, device: Device, action: str) -> Device:
        device.is_suspended = action == "SUSPEND"
        device.current_state = (
            "SMART_CONTROL_OFF" if device.is_suspended else "SMART_CONTROL_CAPABLE"
        )
        return device

    def boost(self, device: Device, action: str) -> Device:
        if device.current != "LIVE" or device.is_suspended or device.device_type == "HEAT_PUMPS":
            raise KrakenError(
                "KT-CT-4357", extra={"boostChargeRefusalReasons": [_boost_refusal(device)]}
            )
        device.current_state = "BOOSTING" if action == "BOOST" else "SMART_CONTROL_CAPABLE"
        return device


def _boost_refusal(device: Device) -> str:
    if device.device_type == "HEAT_PUMPS":
        return "BC_DEVICE_NOT_SUPPORTED"
    return "BC_DEVICE_SUSPENDED" if device.is_suspended else "BC_DEVICE_NOT_YET_LIVE"


def _invalid_input(message: str, path: tuple[str, ...]) -> KrakenError:
    return KrakenError("KT-CT-4378", validation_errors=[FieldError("KT-CT-4378", message, path)])


def _test_charge_error(
    message: str, error_type: str, reason: str, descriptions: dict[str, str]
) -> dict[str, Any]:
    return {
        "message": message,
        "errorType": error_type,
        "reasons": [reason],
        "descriptions": [descriptions[reason]],
    }


def _integration_device_id(wizard: Wizard, target: Target, step: Step) -> str:
    for spec in step.fields.get("userInputs", []):
        if spec["key"] == "serialNumber" and spec["value"]:
            return str(spec["value"])
    if step.selected and step.selected.startswith("vin:"):
        return step.selected.removeprefix("vin:")
    return f"{target.provider.lower()}-{secrets.token_hex(6)}"
