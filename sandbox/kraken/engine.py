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
from urllib.parse import parse_qs, urlsplit

from . import preferences, simulation
from .catalog import Catalog
from .clock import SandboxClock
from .config import SandboxConfig
from .devices import (
    HEAT_PUMP_ZONES,
    REFUSAL_REASONS,
    VIRTUAL_KEY_FAILURE_REASON,
    VIRTUAL_KEY_MISSING,
    failure_error,
    reauthenticated,
    refusal_error,
    trigger_refusal,
)
from .errors import FieldError, KrakenError
from .journeys import (
    BATTERIES,
    ELECTRIC_VEHICLES,
    HEAT_PUMPS,
    INVERTERS,
    LIST_STEPS,
    NO_REAUTH_PROVIDERS,
    TESLA_REMEDIES,
    FlowStep,
    Target,
    flow_step,
    plan_next,
    scripted_test_charge,
    target_of,
)
from .models import AccountScenario, Device, Step, Wizard, WizardStatus, seeded_scenarios
from .steps import StepFactory

ELIGIBLE_DEVICE_TYPES = [ELECTRIC_VEHICLES, HEAT_PUMPS, BATTERIES, INVERTERS]
REWINDABLE_STEPS = frozenset({*LIST_STEPS, "SelectVehicleOrChargePoint"})
SELECTABLE_STEPS = frozenset({*LIST_STEPS, "TeslaRegistrationFailed"})
DEVICE_TAKEN = {"errorCode": "KT-CT-4324", "description": "Device already registered error."}

Action = Callable[[Wizard], None]


class WizardEngine:
    def __init__(self, config: SandboxConfig, clock: SandboxClock, catalog: Catalog) -> None:
        self.config = config
        self.clock = clock
        self.catalog = catalog
        self.uk = config.is_uk
        self._steps = StepFactory(config, catalog)
        self.wizards: dict[str, Wizard] = {}
        self.devices: dict[str, Device] = {}
        self.scenarios: dict[str, AccountScenario] = seeded_scenarios()
        self.properties: dict[str, set[int]] = {a: {1} for a in (*config.accounts, *self.scenarios)}
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
        current = wizard.current
        return current is not None and current.kind != "TerminalError"

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
            self.settle(d)
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
        return self.settle(device)

    def find_device(self, device_id: str) -> Device | None:
        """Any account's device, settled to now (None if there is no such id)."""
        device = self.devices.get(device_id)
        return None if device is None else self.settle(device)

    def settle(self, device: Device) -> Device:
        """The device as it is now: the car's charge and boost caught up with the clock."""
        simulation.settle(device, self.clock.now(), self.config.time_scale)
        return device

    def system(self, device: Device) -> list[Device]:
        """The devices that act together with this one (a heat pump's zones), settled."""
        if device.system_id is None:
            return [device]
        return [self.settle(d) for d in self.devices.values() if d.system_id == device.system_id]

    def smart_charging(self, device: Device) -> bool:
        return simulation.smart_charging(device, self.clock.now(), self.config.time_scale)

    # --- the clock ---------------------------------------------------------------------------

    def refresh(self, wizard: Wizard) -> None:
        """Resolve every wait whose deadline has passed, in order (a wait may chain another)."""
        now = self.clock.now()
        while (step := wizard.current) is not None:
            if step.kind == "TestCharge" and not step.fields["isStarted"]:
                device = self.devices.get(str(wizard.device_id))
                plugged = device is None or device.plugged_in
                step.fields["isReady"] = now >= step.hidden["ready_from"] and plugged
            if step.ready_at is None or step.ready_at > now:
                return
            if step.kind == "TestCharge":
                self._finish_test_charge(wizard, step)
            elif self._registration_fails(wizard, step):
                wizard.failed_registrations += 1
                wizard.steps.pop()
                retry = self._enter(wizard, FlowStep("Retry"), step.ready_at)
                retry.hidden["retry"] = step.kind
                wizard.steps.append(retry)
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

    def select_from_list(
        self,
        wizard: Wizard,
        step_id: str,
        option: str,
        kinds: frozenset[str] = SELECTABLE_STEPS,
    ) -> None:
        """`selectFromListForSmartFlexOnboarding` (any list step, and the inferred answer to
        TeslaRegistrationFailed), or a deprecated `select<Kind>...` when `kinds` is one kind."""
        step = self._locate(wizard, step_id, kinds)
        if step.kind == "TeslaRegistrationFailed":
            self._choose_tesla_remedy(wizard, step, option)
            return
        if option not in step.option_ids():
            raise KrakenError(
                "KT-CT-4375",
                validation_errors=[
                    FieldError("KT-CT-4375", "Unknown option.", ("input", "selectedOption"))
                ],
            )
        self._answer(wizard, step, "selectedOptionId", option)

    def _choose_tesla_remedy(self, wizard: Wizard, step: Step, option: str) -> None:
        if option not in TESLA_REMEDIES:
            raise KrakenError(
                "KT-CT-4375",
                validation_errors=[
                    FieldError(
                        "KT-CT-4375",
                        f"Choose one of {', '.join(TESLA_REMEDIES)}.",
                        ("input", "selectedOption"),
                    )
                ],
            )
        step.fields["modifyScopesSelected"] = TESLA_REMEDIES[option]
        if TESLA_REMEDIES[option]:
            self._advance(wizard, self.clock.now())  # on to TeslaModifyScopes
        else:  # sign in to Tesla again
            wizard.steps.append(self._enter(wizard, FlowStep("AuthFlow"), self.clock.now()))

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
        step = self._locate(wizard, step_id, {"AuthFlow", "TeslaModifyScopes"})
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
            if retry.kind != "AuthFlow":
                return
            retry.fields["error"] = {
                "__typename": "AuthFlowError",
                "message": f"{provider.title()} did not grant access ({query['error'][0]}). "
                "Please try again and choose Allow.",
            }
            return
        self._advance(wizard, self.clock.now())

    def complete_virtual_key(self, wizard: Wizard, step_id: str) -> None:
        self._locate(wizard, step_id, {"TeslaSetupVirtualKey"})
        wizard.virtual_key_confirmations += 1
        self._advance(wizard, self.clock.now())

    def _virtual_key_added(self, wizard: Wizard) -> bool:
        """The sandbox cannot see the car: a scenario says whether the customer really added
        the key before confirming; a second confirmation is taken as real."""
        scenario = self.scenario(wizard.account_number)
        return scenario.virtual_key_added or wizard.virtual_key_confirmations > 1

    def complete_user_action(self, wizard: Wizard, step_id: str) -> None:
        self._locate(wizard, step_id, {"UserActionRequired"})
        self._advance(wizard, self.clock.now())

    def complete_retry(self, wizard: Wizard, step_id: str) -> None:
        """Recreate the step that failed (a fresh instance, with a fresh wait)."""
        step = self._locate(wizard, step_id, {"Retry"})
        scenario = self.scenario(wizard.account_number)
        failed = flow_step(wizard, self.catalog, scenario, step.hidden["retry"])
        wizard.steps.append(self._enter(wizard, failed, self.clock.now()))

    def _registration_fails(self, wizard: Wizard, step: Step) -> bool:
        """uk: the account's scenario fails this many device registrations per wizard."""
        failures = self.scenario(wizard.account_number).registration_failures
        return (
            self.uk
            and step.kind == "SmartFlexOnboardingDeviceRegistration"
            and wizard.failed_registrations < failures
        )

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
        self._begin_test_charge(wizard, step)

    def trigger_test_charge(self, account_number: str) -> Device:
        """`triggerTestCharge`: the account's newest EV or charger starts its test charge; the
        wizard's TestCharge step follows as if `startTestCharge...` had been called."""
        device = next(
            (
                d
                for d in reversed(self.devices.values())
                if d.account_number == account_number and d.device_type == ELECTRIC_VEHICLES
            ),
            None,
        )
        if device is None:
            raise KrakenError("KT-CT-4362")
        refusal = trigger_refusal(device)
        if refusal is not None:
            raise KrakenError("KT-CT-4355", extra={"testChargeRefusalReasons": [refusal]})
        wizard = self.wizard(device.wizard_id)
        step = wizard.current
        if step is None or step.kind != "TestCharge":
            raise KrakenError("KT-CT-4362")
        if not step.fields["isReady"]:
            raise KrakenError(
                "KT-CT-4355", extra={"testChargeRefusalReasons": ["TC_DEVICE_DISCONNECTED"]}
            )
        refused = self._begin_test_charge(wizard, step)
        if refused is not None:
            raise KrakenError("KT-CT-4355", extra={"testChargeRefusalReasons": [f"TC_{refused}"]})
        return device

    def _begin_test_charge(self, wizard: Wizard, step: Step) -> str | None:
        """Start the wizard's test charge; a refusal re-mints the step and is returned."""
        outcome = self._next_test_charge_outcome(wizard)
        wizard.test_charge_attempts += 1
        device = self.devices[str(wizard.device_id)]
        if outcome in REFUSAL_REASONS:
            self._reenter(wizard).fields["error"] = refusal_error(outcome)
            device.current_state = "TEST_CHARGE_NOT_AVAILABLE"
            return outcome
        now = self.clock.now()
        step.fields.update(isStarted=True, status="TRIGGERED", error=None)
        step.ready_at = now + self.config.scaled(self.config.delays.test_charge)
        step.hidden["outcome"] = outcome
        device.current, device.current_state = (
            "ONBOARDING_TEST_IN_PROGRESS",
            "TEST_CHARGE_IN_PROGRESS",
        )
        return None

    def _next_test_charge_outcome(self, wizard: Wizard) -> str:
        if not self.devices[str(wizard.device_id)].at_home:
            return "DEVICE_AWAY_FROM_HOME"
        queued = self.scenario(wizard.account_number).test_charge_outcomes
        if queued:
            return queued.popleft()
        target = target_of(wizard, self.catalog)
        if target is None:
            return "OK"
        if target.provider == "TESLA" and not self._virtual_key_added(wizard):
            return VIRTUAL_KEY_MISSING
        return scripted_test_charge(target, wizard.test_charge_attempts)

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
        device.current, device.current_state = "FAILED_ONBOARDING_TEST", "TEST_CHARGE_FAILED"
        if outcome == VIRTUAL_KEY_MISSING:
            # Back to the key: once it is added, the journey comes to a fresh TestCharge.
            device.test_dispatch_failure_reason = VIRTUAL_KEY_FAILURE_REASON
            wizard.steps.pop()
            wizard.steps.append(self._enter(wizard, FlowStep("TeslaSetupVirtualKey"), ready_at))
            return
        retry = self._reenter(wizard, ready_at)
        retry.fields.update(error=failure_error(outcome), status="FAILED")
        device.test_dispatch_failure_reason = outcome

    # --- step plumbing -----------------------------------------------------------------------

    def _locate(self, wizard: Wizard, step_id: str, kinds: set[str] | frozenset[str]) -> Step:
        """The step a mutation addresses: the current one, or an earlier choice to go back to."""
        if wizard.status is WizardStatus.CANCELLED:
            # KT-CT-4391 is UK-only; the EU reference lists 4371 for these mutations.
            raise KrakenError("KT-CT-4391" if self.uk else "KT-CT-4371")
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
        registers = (
            finished is not None
            and wizard.device_id is None
            and wizard.reauth_device_id is None
            and flow_step(wizard, self.catalog, scenario, finished.kind).registers_device
        )
        if registers and self.uk and scenario.device_taken:
            terminal = self._enter(wizard, FlowStep("TerminalError"), now)
            terminal.fields["errors"] = [dict(DEVICE_TAKEN)]
            wizard.steps.append(terminal)
            return
        if registers and finished is not None:
            self._register_device(wizard, finished)
        following = plan_next(wizard, self.catalog, scenario, uk=self.uk)
        if following is None:
            self._finish(wizard, now)
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
        """Register the journey's device; a multi-zone heat pump registers one per zone."""
        target = target_of(wizard, self.catalog)
        assert target is not None, "a device is only registered once the journey has a target"
        integration_id = _integration_device_id(wizard, target, step)
        zones: tuple[str | None, ...] = (None,)
        if target.device_type == HEAT_PUMPS:
            zones = HEAT_PUMP_ZONES.get(target.make, ("ZONE_1",))
        system_id = str(uuid.uuid4()) if target.device_type == HEAT_PUMPS else None
        now = self.clock.now()
        for number, zone in enumerate(zones, start=1):
            several = len(zones) > 1
            device = Device(
                id=str(uuid.uuid4()),
                account_number=wizard.account_number,
                property_id=wizard.property_id,
                typename=target.typename,
                device_type=target.device_type,
                provider=target.provider,
                name=f"{target.display_name} (zone {number})" if several else target.display_name,
                make=target.make or None,
                model=target.model or None,
                integration_device_id=f"{integration_id}-{number}" if several else integration_id,
                wizard_id=wizard.id,
                simulated_until=now,
                system_id=system_id,
                zone=zone,
            )
            preferences.initialise(device)
            self.devices[device.id] = device
            wizard.device_id = wizard.device_id or device.id

    def _finish(self, wizard: Wizard, now: float) -> None:
        wizard.status = WizardStatus.COMPLETE
        device_id = wizard.reauth_device_id or wizard.device_id
        if device_id is None:
            return
        system = self.system(self.devices[device_id])
        if wizard.reauth_device_id is not None:
            reauthenticated(system)
        for device in system:
            if device.current != "LIVE":
                device.simulated_until = now
            device.current, device.current_state = "LIVE", "SMART_CONTROL_CAPABLE"

    # --- device lookups for the device mutations --------------------------------------------

    def newest_device(self, account_number: str, device_type: str | None) -> Device:
        """`deauthenticateDevice`'s device: the account's newest one (of the type), if any."""
        for device in reversed(self.devices.values()):
            if device.account_number != account_number or device.current == "RETIRED":
                continue
            if device_type is None or device.device_type == device_type:
                return device
        raise KrakenError("KT-CT-4301")


def _invalid_input(message: str, path: tuple[str, ...]) -> KrakenError:
    return KrakenError("KT-CT-4378", validation_errors=[FieldError("KT-CT-4378", message, path)])


def _integration_device_id(wizard: Wizard, target: Target, step: Step) -> str:
    if target.chosen_device is not None:
        return target.chosen_device.id
    for spec in step.fields.get("userInputs", []):
        if spec["key"] == "serialNumber" and spec["value"]:
            return str(spec["value"])
    if step.selected and step.selected.startswith("vin:"):
        return step.selected.removeprefix("vin:")
    return f"{target.provider.lower()}-{secrets.token_hex(6)}"
