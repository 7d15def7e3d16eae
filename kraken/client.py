"""Async client for Kraken's SmartFlex onboarding API (GraphQL over httpx).

Every wizard method returns the wizard as Kraken left it, so callers render `current_step`
without a second read. Transient failures are retried here; what reaches the caller is a
`KrakenError` whose `category` says what to do next.

Instances differ (see `kraken.capabilities`): the client sends each operation as this instance
supports it and picks, per capability, the variant it has (e.g. `triggerTestCharge` once
`startTestChargeForSmartFlexOnboarding` is gone). What the instance lacks altogether is a
`CapabilityMissing` (category UNSUPPORTED), never a GraphQL error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from kraken import redaction
from kraken.auth import TokenManager
from kraken.capabilities import ADAPTIVE, LEGACY_SELECT, Capabilities, capability_of
from kraken.credentials import Credentials
from kraken.errors import (
    RETRYABLE_CODES,
    STEP_ID_INVALID,
    TOKEN_EXPIRED,
    WIZARD_NOT_FOUND,
    CapabilityMissing,
    ErrorCategory,
    KrakenError,
    KrakenResponseError,
    KrakenTransportError,
    schema_gap,
)
from kraken.http import CallObserver, GraphQLHttp
from kraken.models import (
    Device,
    DeviceLifecycleStatus,
    DeviceType,
    HeatPumpState,
    Integration,
    PreferenceSchedule,
    Step,
    TestChargeStep,
    VirtualKeyDetails,
    Wizard,
    parse_device,
    parse_model,
    parse_wizard,
)
from kraken.operations import OPERATIONS, Operation
from kraken.retry import Clock, Retrier, RetryPolicy, Sleep
from kraken.schema import DEFAULT_TTL, INTROSPECTION_QUERY, Detector, KnownSchema, SchemaCache

redaction.install()
logger = logging.getLogger("kraken.client")

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
T = TypeVar("T")

_REPLAY_SAFE_MUTATIONS = frozenset(
    {
        "ObtainKrakenToken",
        "CancelSmartFlexOnboarding",
        "UpdateDeviceSmartControl",
        "UpdateBoostCharge",
        "SetDevicePreferences",
        "SetVehicleChargePreferences",
        "UpdateIsChargingDurationCapped",
        "UpdateDeviceGridExport",
        "SetClimateControlState",
        "SetHotWaterState",
        "SetRoomTemperature",
    }
)
"""Mutations whose repetition changes nothing, so a maybe-landed attempt may simply be resent."""


def _may_have_landed(error: KrakenError) -> bool:
    return isinstance(error, KrakenTransportError) and error.may_have_landed


class _Recent:
    """A bounded map of what the client saw lately (wizard -> account, step -> type)."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._items: OrderedDict[str, str] = OrderedDict()

    def put(self, key: str, value: str) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def get(self, key: str) -> str | None:
        return self._items.get(key)


Landed = Callable[[Wizard], bool]
Recover = Callable[[], Awaitable[Wizard | None]]


class KrakenClient:
    def __init__(
        self,
        url: str,
        credentials: Credentials,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, safe to share
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        token_margin: float = 5 * 60.0,
        observer: CallObserver | None = None,
        schema_cache: SchemaCache | None = None,
        schema_ttl: float = DEFAULT_TTL,
        capabilities: Capabilities | None = None,
    ) -> None:
        """`schema_cache` keeps the detected schema across processes (the bot: Redis, with
        `schema_ttl`); `capabilities`, when given, is used until it expires (tests)."""
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout)
        self._http = GraphQLHttp(self._client, url, observer)
        self._clock = clock
        self._retrier = Retrier(retry, sleep=sleep, clock=clock, rng=rng or random.Random())
        self._tokens = TokenManager(
            credentials, self._obtain_token, clock=clock, margin=token_margin
        )
        detector = Detector(
            self._introspect, url=url, cache=schema_cache, ttl=schema_ttl, clock=clock
        )
        self._schema = KnownSchema(detector, clock=clock, capabilities=capabilities)
        self._wizard_accounts = _Recent()
        self._step_types = _Recent()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    # ------------------------------------------------------------ generic execution

    async def execute(self, operation: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """Run a named operation, as this instance supports it, with auth and retries; return
        its `data`.

        A non-idempotent mutation that may have landed is not resent here: the error reaches
        the caller (the wizard methods below check the wizard before replaying). When Kraken
        refuses the document itself, the schema is re-detected and the call made once more;
        `CapabilityMissing` when the instance turns out not to have the operation.
        """
        op = _operation(operation)
        try:
            return await self._send(op, await self._document(op), variables)
        except KrakenError as exc:
            if not schema_gap(exc):
                raise
            capabilities = await self._schema.learn(op.name, exc)
        try:
            return await self._send(op, capabilities.document(op.name), variables)
        except KrakenError as exc:
            if not schema_gap(exc):
                raise
            await self._schema.learn(op.name, exc)
            raise CapabilityMissing(
                capability_of(op.name), f"Kraken refused {op.root_field}", operation=op.name
            ) from exc

    async def _document(self, op: Operation) -> str:
        """What to send: as written until detection has happened, unless the document depends
        on the instance (then detection happens first)."""
        if self._schema.known is None and op.name not in ADAPTIVE:
            return op.document
        return (await self.capabilities()).document(op.name)

    async def _send(
        self, op: Operation | str, document: str, variables: Mapping[str, Any]
    ) -> dict[str, Any]:
        name = op.name if isinstance(op, Operation) else op
        replay_safe = not isinstance(op, Operation) or (
            not op.is_mutation or op.name in _REPLAY_SAFE_MUTATIONS
        )

        def retryable(error: KrakenError) -> bool:
            if isinstance(error, KrakenTransportError):
                return replay_safe or not error.may_have_landed
            return error.code in RETRYABLE_CODES

        async def attempt(number: int) -> dict[str, Any]:
            token = await self._tokens.token()
            try:
                return await self._http.post(name, document, variables, token=token, attempt=number)
            except KrakenError as exc:
                if exc.code != TOKEN_EXPIRED:
                    raise
            token = await self._tokens.renew(token)
            return await self._http.post(name, document, variables, token=token, attempt=number)

        return await self._retrier.run(attempt, retryable=retryable, operation=name)

    async def _obtain_token(self, token_input: Mapping[str, str]) -> Mapping[str, Any]:
        op = OPERATIONS["ObtainKrakenToken"]

        async def attempt(number: int) -> dict[str, Any]:
            return await self._http.post(
                op.name, op.document, {"input": dict(token_input)}, token=None, attempt=number
            )

        data = await self._retrier.run(
            attempt,
            retryable=lambda e: isinstance(e, KrakenTransportError) or e.code in RETRYABLE_CODES,
            operation=op.name,
        )
        return _object(data, "obtainKrakenToken")

    async def token_expiry(self) -> float:
        """Obtain (or reuse) the API token and say when it expires (Unix seconds).

        `KrakenAuthError` when Kraken refuses the credentials (for the doctor)."""
        await self._tokens.token()
        expires = self._tokens.expires_at
        assert expires is not None  # a token was just obtained
        return expires

    # ------------------------------------------------------------ what the instance supports

    async def detect_capabilities(self, *, use_cache: bool = True) -> Capabilities:
        """Learn what this instance supports (the bot calls this at start-up): from the cache
        while fresh, else by introspection, else the conservative set of the seeds.

        Never raises because Kraken cannot be asked: the conservative set stands in and is
        re-checked within a minute. Deprecated fields in use are logged, each once."""
        return await self._schema.detect(use_cache=use_cache)

    async def capabilities(self) -> Capabilities:
        """The capabilities in force, detecting them when unknown or expired."""
        return await self._schema.current()

    @property
    def known_capabilities(self) -> Capabilities | None:
        """What was last detected, without asking Kraken (for /healthz)."""
        return self._schema.known

    async def _with_variant(
        self, capability: str, run: Callable[[tuple[str, ...]], Awaitable[T]]
    ) -> T:
        """Run the instance's variant of `capability`; if Kraken refuses it, the next one."""
        variant = (await self.capabilities()).variant(capability)
        try:
            return await run(variant)
        except CapabilityMissing as exc:
            if exc.operation not in variant:
                raise
            fallback = (await self.capabilities()).variant(capability)
            if fallback == variant:
                raise
            return await run(fallback)

    async def _introspect(self, authenticated: bool) -> Mapping[str, Any]:
        if authenticated:
            return await self._send("IntrospectionQuery", INTROSPECTION_QUERY, {})

        async def attempt(number: int) -> dict[str, Any]:
            return await self._http.post(
                "IntrospectionQuery", INTROSPECTION_QUERY, {}, token=None, attempt=number
            )

        return await self._retrier.run(
            attempt,
            retryable=lambda e: isinstance(e, KrakenTransportError),
            operation="IntrospectionQuery",
        )

    def _seen(self, wizard: Wizard, account_number: str | None = None) -> Wizard:
        """Remember the wizard's account and its steps' types (for variants that need them)."""
        if account_number:
            self._wizard_accounts.put(wizard.id, account_number)
        for step in (wizard.current_step, *wizard.completed_steps):
            if step is not None:
                self._step_types.put(step.id, step.typename)
        return wizard

    # ------------------------------------------------------------ wizards: reading

    async def wizards(
        self,
        account_number: str,
        *,
        property_id: int | None = None,
        wizard_id: str | None = None,
        include_cancelled: bool | None = None,
        include_completed: bool | None = None,
        is_resumable: bool | None = None,
    ) -> list[Wizard]:
        variables = _without_none(
            accountNumber=account_number,
            propertyId=property_id,
            wizardId=wizard_id,
            includeCancelled=include_cancelled,
            includeCompleted=include_completed,
            isResumable=is_resumable,
        )
        data = await self.execute("SmartFlexOnboardingWizards", variables)
        items = _list(data, "smartFlexOnboardingWizards")
        return [self._seen(parse_wizard(item), account_number) for item in items]

    async def wizard(self, account_number: str, wizard_id: str) -> Wizard:
        """One wizard of the account, whatever its state; KT-CT-4371 if there is none."""
        found = await self.wizards(
            account_number, wizard_id=wizard_id, include_cancelled=True, include_completed=True
        )
        for wizard in found:
            if wizard.id == wizard_id:
                return wizard
        raise _wizard_not_found(wizard_id)

    async def _reread(self, wizard_id: str) -> Wizard | None:
        """The wizard as Kraken has it now; None when this instance can only read wizards by
        account and the client has not seen this wizard's account."""

        async def run(variant: tuple[str, ...]) -> Wizard | None:
            if variant[0] == "SmartFlexOnboardingWizards":
                account = self._wizard_accounts.get(wizard_id)
                return None if account is None else await self.wizard(account, wizard_id)
            data = await self.execute("SmartFlexOnboardingWizard", {"wizardId": wizard_id})
            wizard = data.get("smartFlexOnboardingWizard")
            if wizard is None:
                raise _wizard_not_found(wizard_id)
            return self._seen(parse_wizard(wizard))

        return await self._with_variant("read_wizard", run)

    # ------------------------------------------------------------ wizards: starting, cancelling

    async def start_onboarding(self, account_number: str, property_id: int) -> Wizard:
        variables = {"accountNumber": account_number, "propertyId": property_id}
        return await self._mutate_wizard(
            "StartSmartFlexOnboarding",
            variables,
            recover=lambda: self._resumable(account_number, property_id),
            account_number=account_number,
        )

    async def start_reauthentication(
        self, account_number: str, device_id: str, property_id: int
    ) -> Wizard:
        variables = {
            "accountNumber": account_number,
            "deviceId": device_id,
            "propertyId": property_id,
        }
        return await self._mutate_wizard(
            "StartReAuthentication",
            variables,
            recover=lambda: self._resumable(account_number, property_id),
            account_number=account_number,
        )

    async def _resumable(self, account_number: str, property_id: int) -> Wizard | None:
        """After a start that may have landed: the wizard it created, if it did."""
        found = await self.wizards(account_number, property_id=property_id, is_resumable=True)
        return found[0] if found else None

    async def cancel(self, wizard_id: str) -> Wizard:
        data = await self.execute("CancelSmartFlexOnboarding", {"wizardId": wizard_id})
        return self._seen(_payload_wizard(data, "cancelSmartFlexOnboarding"))

    # ------------------------------------------------------------ wizards: completing steps

    async def select_from_list(
        self, wizard_id: str, step_id: str, option_id: str, *, step_type: str | None = None
    ) -> Wizard:
        """Choose an option of a list step; naming an earlier list step goes back to it.

        Where `selectFromListForSmartFlexOnboarding` is missing, the step's own legacy mutation
        is used, picked by `step_type` (its __typename; else as last seen or re-read)."""

        def landed(wizard: Wizard) -> bool:
            if wizard.current_step is not None and wizard.current_step.id == step_id:
                return False
            return not any(
                step.id == step_id and getattr(step, "selected_option_id", None) != option_id
                for step in wizard.completed_steps
            )

        async def run(variant: tuple[str, ...]) -> Wizard:
            operation = variant[0]
            if operation != "SelectFromList":
                operation = await self._legacy_select(variant, wizard_id, step_id, step_type)
            extra = {"selectedOption": option_id}
            return await self._complete_step(operation, wizard_id, step_id, extra, landed=landed)

        return await self._with_variant("select", run)

    async def _legacy_select(
        self, usable: tuple[str, ...], wizard_id: str, step_id: str, step_type: str | None
    ) -> str:
        typename = step_type or self._step_types.get(step_id)
        if typename is None:
            wizard = await self._reread(wizard_id)
            step = _find_step(wizard, step_id) if wizard is not None else None
            if wizard is not None and step is None:
                raise KrakenError("Invalid onboarding step ID.", code=STEP_ID_INVALID)
            typename = step.typename if step is not None else None
        operation = LEGACY_SELECT.get(typename or "")
        if operation is None or operation not in usable:
            raise CapabilityMissing("select", f"no per-list select mutation for {typename}")
        return operation

    async def select_vehicle_or_charge_point(
        self, wizard_id: str, step_id: str, integration: Integration
    ) -> Wizard:
        extra = {"selectedIntegration": Integration(integration).value}
        return await self._complete_step("SelectVehicleOrChargePoint", wizard_id, step_id, extra)

    async def complete_auth_flow(
        self, wizard_id: str, step_id: str, continuation_uri: str
    ) -> Wizard:
        extra = {"continuationUri": continuation_uri}
        return await self._complete_step("CompleteAuthFlow", wizard_id, step_id, extra)

    async def complete_tesla_virtual_key(self, wizard_id: str, step_id: str) -> Wizard:
        return await self._complete_step("CompleteTeslaSetupVirtualKey", wizard_id, step_id)

    async def complete_user_action(self, wizard_id: str, step_id: str) -> Wizard:
        return await self._complete_step("CompleteUserAction", wizard_id, step_id)

    async def complete_user_input(
        self, wizard_id: str, step_id: str, inputs: Mapping[str, str]
    ) -> Wizard:
        extra = {"userInputs": json.dumps(dict(inputs))}
        return await self._complete_step("CompleteUserInput", wizard_id, step_id, extra)

    async def start_test_charge(
        self, wizard_id: str, step_id: str, *, account_number: str | None = None
    ) -> Wizard:
        """Start the TestCharge step's charge. Where `startTestChargeForSmartFlexOnboarding` is
        gone this is the account's `triggerTestCharge` followed by a read of the wizard, which
        needs the account: `account_number`, else the one the client saw with this wizard."""

        async def run(variant: tuple[str, ...]) -> Wizard:
            if variant[0] == "StartTestCharge":
                return await self._complete_step("StartTestCharge", wizard_id, step_id)
            return await self._trigger_test_charge(wizard_id, step_id, account_number)

        return await self._with_variant("test_charge", run)

    async def _trigger_test_charge(
        self, wizard_id: str, step_id: str, account_number: str | None
    ) -> Wizard:
        account = account_number or self._wizard_accounts.get(wizard_id)
        if account is None:
            raise CapabilityMissing("test_charge", "triggerTestCharge needs the account number")
        self._wizard_accounts.put(wizard_id, account)
        try:
            await self.execute("TriggerTestCharge", {"accountNumber": account})
        except KrakenError as exc:
            if not _may_have_landed(exc):
                raise
            wizard = await self.wizard(account, wizard_id)
            if not _test_charge_started(wizard, step_id):
                raise
            return wizard
        return await self.wizard(account, wizard_id)

    async def complete_retry(self, wizard_id: str, step_id: str) -> Wizard:
        return await self._complete_step("CompleteRetry", wizard_id, step_id)

    async def _complete_step(
        self,
        operation: str,
        wizard_id: str,
        step_id: str,
        extra: Mapping[str, Any] | None = None,
        *,
        landed: Landed | None = None,
    ) -> Wizard:
        def moved_on(wizard: Wizard) -> bool:
            return wizard.current_step is None or wizard.current_step.id != step_id

        check = landed or moved_on

        async def recover() -> Wizard | None:
            wizard = await self._reread(wizard_id)
            return wizard if wizard is not None and check(wizard) else None

        variables = {"wizardId": wizard_id, "stepId": step_id, **(extra or {})}
        return await self._mutate_wizard(operation, variables, recover=recover)

    async def _mutate_wizard(
        self,
        operation: str,
        variables: Mapping[str, Any],
        *,
        recover: Recover,
        account_number: str | None = None,
    ) -> Wizard:
        """Run a wizard mutation; after an attempt that may have landed, look before resending.

        `recover` re-reads Kraken and returns the wizard if the mutation did land. A resend
        that Kraken rejects as "step moved on" (KT-CT-4377/4378) means an earlier attempt
        landed after all, so that is answered by re-reading too.
        """
        field = _operation(operation).root_field
        resent = False

        async def attempt(number: int) -> Wizard:
            nonlocal resent
            try:
                data = await self.execute(operation, variables)
                return self._seen(_payload_wizard(data, field), account_number)
            except KrakenError as exc:
                moved = resent and exc.category is ErrorCategory.STEP_MOVED_ON
                if not (_may_have_landed(exc) or moved):
                    raise
                logger.warning(
                    "Kraken mutation outcome unknown; re-reading before any resend",
                    extra={"operation": operation, "attempt": number, "error_code": exc.code},
                )
                wizard = await recover()
                if wizard is not None:
                    return wizard
                resent = True
                raise

        return await self._retrier.run(attempt, retryable=_may_have_landed, operation=operation)

    async def ping(self) -> None:
        """Prove Kraken answers and the credentials still obtain a token (for health checks)."""
        await self.execute("Ping", {})

    # ------------------------------------------------------------ devices and catalogue

    async def eligible_device_types(
        self, account_number: str, property_id: int | None = None
    ) -> list[DeviceType]:
        variables = _without_none(accountNumber=account_number, propertyId=property_id)
        data = await self.execute("EligibleDeviceTypes", variables)
        known = set(DeviceType.__members__)
        values = _list(data, "eligibleDeviceTypes")
        return [DeviceType(value) for value in values if value in known]

    async def devices(
        self, account_number: str, property_id: int | str | None = None
    ) -> list[Device]:
        variables = _without_none(
            accountNumber=account_number,
            propertyId=None if property_id is None else str(property_id),
        )
        data = await self.execute("Devices", variables)
        return [parse_device(item) for item in _list(data, "devices")]

    async def provider_virtual_key_details(
        self, provider: str, device_type: DeviceType | str
    ) -> VirtualKeyDetails:
        variables = {"provider": provider, "deviceType": str(device_type)}
        data = await self.execute("ProviderVirtualKeyDetails", variables)
        details = data.get("providerVirtualKeyDetails")
        return parse_model(VirtualKeyDetails, details, "providerVirtualKeyDetails")

    async def set_smart_control(self, device_id: str, suspend: bool) -> Device:
        action = "SUSPEND" if suspend else "UNSUSPEND"
        data = await self.execute(
            "UpdateDeviceSmartControl", {"deviceId": device_id, "action": action}
        )
        return parse_device(data.get("updateDeviceSmartControl"))

    async def boost(self, device_id: str, cancel: bool = False) -> Device:
        action = "CANCEL" if cancel else "BOOST"
        data = await self.execute("UpdateBoostCharge", {"deviceId": device_id, "action": action})
        return parse_device(data.get("updateBoostCharge"))

    async def deauthenticate_device(self, account_number: str, device_id: str) -> str | None:
        """Stop Kraken controlling a device (its authentication is dropped); returns the device
        id Kraken reports. The deprecated `deauthenticateDevice` (the fallback) removes the
        account's newest device of a type, so it is used only when that is this device."""

        async def run(variant: tuple[str, ...]) -> str | None:
            if variant[0] == "DeauthenticateFlexDevice":
                data = await self.execute("DeauthenticateFlexDevice", {"deviceId": device_id})
                return _removed_device(data, "deauthenticateFlexDevice")
            device_type = await self._sole_device_type(account_number, device_id)
            variables = {"accountNumber": account_number, "deviceType": device_type}
            data = await self.execute("DeauthenticateDevice", variables)
            return _removed_device(data, "deauthenticateDevice")

        return await self._with_variant("device_removal", run)

    async def set_preferences(
        self,
        account_number: str,
        device: Device,
        schedules: Sequence[PreferenceSchedule],
    ) -> Device | None:
        """Replace the given days' schedules. Returns the device as Kraken answered, or None
        from the deprecated `setVehicleChargePreferences` (the fallback), which answers no
        device, sets the account's newest vehicle by weekday (Monday's schedule) and weekend
        (Saturday's), and so is used only for a vehicle that is the account's only one."""

        async def run(variant: tuple[str, ...]) -> Device | None:
            if variant[0] == "SetDevicePreferences":
                prefs = device.preferences
                given = {
                    "deviceId": device.id,
                    "mode": prefs.mode if prefs and prefs.mode else "CHARGE",
                    "unit": prefs.unit if prefs and prefs.unit else "PERCENTAGE",
                    "schedules": [_schedule_input(s) for s in schedules],
                }
                data = await self.execute("SetDevicePreferences", {"input": given})
                return parse_device(data.get("setDevicePreferences"))
            device_type = await self._sole_device_type(account_number, device.id)
            if device_type != DeviceType.ELECTRIC_VEHICLES:
                raise CapabilityMissing("device_preferences", "setVehicleChargePreferences: EVs")
            legacy: dict[str, Any] = {"accountNumber": account_number}
            for part, day in (("weekday", "MONDAY"), ("weekend", "SATURDAY")):
                found = next((s for s in schedules if s.day_of_week == day), None)
                if found is not None:
                    legacy[f"{part}TargetTime"] = found.clock
                    legacy[f"{part}TargetSoc"] = None if found.max is None else round(found.max)
            await self.execute("SetVehicleChargePreferences", {"input": legacy})
            return None

        return await self._with_variant("device_preferences", run)

    async def cap_charging_duration(self, device_id: str, enabled: bool) -> Device:
        return await self._device_switch("UpdateIsChargingDurationCapped", device_id, enabled)

    async def set_grid_export(self, device_id: str, enabled: bool) -> Device:
        return await self._device_switch("UpdateDeviceGridExport", device_id, enabled)

    async def _device_switch(self, operation: str, device_id: str, enabled: bool) -> Device:
        data = await self.execute(operation, {"deviceId": device_id, "enabled": enabled})
        return parse_device(data.get(OPERATIONS[operation].root_field))

    async def set_climate_control(self, device_id: str, enabled: bool) -> HeatPumpState:
        """A heat pump zone's heating on or off; the answer is the heat pump's state."""
        variables = {"deviceId": device_id, "enabled": enabled}
        return await self._heat_pump("SetClimateControlState", variables)

    async def set_hot_water(self, device_id: str, enabled: bool) -> HeatPumpState:
        variables = {"deviceId": device_id, "enabled": enabled}
        return await self._heat_pump("SetHotWaterState", variables)

    async def set_room_temperature(self, device_id: str, temperature: float) -> HeatPumpState:
        variables = {"deviceId": device_id, "temperature": temperature}
        return await self._heat_pump("SetRoomTemperature", variables)

    async def _heat_pump(self, operation: str, variables: Mapping[str, Any]) -> HeatPumpState:
        data = await self.execute(operation, variables)
        payload = _object(data, OPERATIONS[operation].root_field)
        return parse_model(HeatPumpState, payload.get("heatPumpDevice"), "heatPumpDevice")

    async def _sole_device_type(self, account_number: str, device_id: str) -> str:
        devices = [
            device
            for device in await self.devices(account_number)
            if device.status.current is not DeviceLifecycleStatus.RETIRED
        ]
        device = next((d for d in devices if d.id == device_id), None)
        if device is None:
            raise KrakenError("Unable to find device for given account.", code="KT-CT-4301")
        if sum(d.device_type == device.device_type for d in devices) > 1:
            raise CapabilityMissing(
                "device_removal", "deauthenticateDevice cannot single out one of several"
            )
        return device.device_type


def _operation(name: str) -> Operation:
    try:
        return OPERATIONS[name]
    except KeyError:
        raise ValueError(f"Unknown Kraken operation {name!r}") from None


def _schedule_input(schedule: PreferenceSchedule) -> dict[str, Any]:
    """`PreferencesScheduleInput`: Decimals travel as strings, so 80 stays exactly 80."""
    given: dict[str, Any] = {
        "dayOfWeek": schedule.day_of_week,
        "time": schedule.clock,
        "max": None if schedule.max is None else _decimal(schedule.max),
    }
    if schedule.min is not None:
        given["min"] = _decimal(schedule.min)
    return given


def _decimal(value: float) -> str:
    return f"{value:g}"


def _without_none(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _object(data: Mapping[str, Any], field: str) -> Mapping[str, Any]:
    value = data.get(field)
    if not isinstance(value, Mapping):
        raise KrakenResponseError(f"Kraken returned no {field}.")
    return value


def _list(data: Mapping[str, Any], field: str) -> list[Any]:
    value = data.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise KrakenResponseError(f"Kraken returned a non-list {field}.")
    return [item for item in value if item is not None]


def _payload_wizard(data: Mapping[str, Any], field: str) -> Wizard:
    return parse_wizard(_object(data, field).get("wizard"))


def _find_step(wizard: Wizard, step_id: str) -> Step | None:
    steps = (wizard.current_step, *wizard.completed_steps)
    return next((step for step in steps if step is not None and step.id == step_id), None)


def _test_charge_started(wizard: Wizard, step_id: str) -> bool:
    """After a triggerTestCharge that may have landed: did it?"""
    step = wizard.current_step
    if step is None or step.id != step_id:
        return True
    return isinstance(step, TestChargeStep) and bool(step.is_started)


def _removed_device(data: Mapping[str, Any], field: str) -> str | None:
    device = _object(data, field).get("krakenflexDevice")
    identifier = device.get("krakenflexDeviceId") if isinstance(device, Mapping) else None
    return identifier if isinstance(identifier, str) else None


def _wizard_not_found(wizard_id: str) -> KrakenError:
    return KrakenError(
        "Onboarding wizard ID is invalid.",
        code=WIZARD_NOT_FOUND,
        description=f"Onboarding wizard not found with ID {wizard_id}.",
        error_type="APPLICATION",
    )
