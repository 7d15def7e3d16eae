"""Async client for Kraken's SmartFlex onboarding API (GraphQL over httpx).

Every wizard method returns the wizard as Kraken left it, so callers render `current_step`
without a second read. Transient failures are retried here; what reaches the caller is a
`KrakenError` whose `category` says what to do next.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from kraken import redaction
from kraken.auth import TokenManager
from kraken.credentials import Credentials
from kraken.errors import (
    RETRYABLE_CODES,
    TOKEN_EXPIRED,
    WIZARD_NOT_FOUND,
    ErrorCategory,
    KrakenError,
    KrakenResponseError,
    KrakenTransportError,
)
from kraken.http import CallObserver, GraphQLHttp
from kraken.models import (
    Device,
    DeviceType,
    Integration,
    VirtualKeyDetails,
    Wizard,
    parse_device,
    parse_model,
    parse_wizard,
)
from kraken.operations import OPERATIONS, Operation
from kraken.retry import Clock, Retrier, RetryPolicy, Sleep

redaction.install()
logger = logging.getLogger("kraken.client")

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)

_REPLAY_SAFE_MUTATIONS = frozenset(
    {
        "ObtainKrakenToken",
        "CancelSmartFlexOnboarding",
        "UpdateDeviceSmartControl",
        "UpdateBoostCharge",
    }
)
"""Mutations whose repetition changes nothing, so a maybe-landed attempt may simply be resent."""


def _may_have_landed(error: KrakenError) -> bool:
    return isinstance(error, KrakenTransportError) and error.may_have_landed


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
    ) -> None:
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout)
        self._http = GraphQLHttp(self._client, url, observer)
        self._retrier = Retrier(retry, sleep=sleep, clock=clock, rng=rng or random.Random())
        self._tokens = TokenManager(
            credentials, self._obtain_token, clock=clock, margin=token_margin
        )

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
        """Run a named operation with auth and retries; return its `data`.

        A non-idempotent mutation that may have landed is not resent here: the error reaches
        the caller (the wizard methods below check the wizard before replaying).
        """
        op = _operation(operation)
        replay_safe = not op.is_mutation or op.name in _REPLAY_SAFE_MUTATIONS

        def retryable(error: KrakenError) -> bool:
            if isinstance(error, KrakenTransportError):
                return replay_safe or not error.may_have_landed
            return error.code in RETRYABLE_CODES

        async def attempt(number: int) -> dict[str, Any]:
            token = await self._tokens.token()
            try:
                return await self._http.post(
                    op.name, op.document, variables, token=token, attempt=number
                )
            except KrakenError as exc:
                if exc.code != TOKEN_EXPIRED:
                    raise
            token = await self._tokens.renew(token)
            return await self._http.post(
                op.name, op.document, variables, token=token, attempt=number
            )

        return await self._retrier.run(attempt, retryable=retryable, operation=op.name)

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
        return [parse_wizard(item) for item in _list(data, "smartFlexOnboardingWizards")]

    async def wizard(self, account_number: str, wizard_id: str) -> Wizard:
        """One wizard of the account, whatever its state; KT-CT-4371 if there is none."""
        found = await self.wizards(
            account_number, wizard_id=wizard_id, include_cancelled=True, include_completed=True
        )
        for wizard in found:
            if wizard.id == wizard_id:
                return wizard
        raise _wizard_not_found(wizard_id)

    async def _reread(self, wizard_id: str) -> Wizard:
        data = await self.execute("SmartFlexOnboardingWizard", {"wizardId": wizard_id})
        wizard = data.get("smartFlexOnboardingWizard")
        if wizard is None:
            raise _wizard_not_found(wizard_id)
        return parse_wizard(wizard)

    # ------------------------------------------------------------ wizards: starting, cancelling

    async def start_onboarding(self, account_number: str, property_id: int) -> Wizard:
        variables = {"accountNumber": account_number, "propertyId": property_id}
        return await self._mutate_wizard(
            "StartSmartFlexOnboarding",
            variables,
            recover=lambda: self._resumable(account_number, property_id),
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
        )

    async def _resumable(self, account_number: str, property_id: int) -> Wizard | None:
        """After a start that may have landed: the wizard it created, if it did."""
        found = await self.wizards(account_number, property_id=property_id, is_resumable=True)
        return found[0] if found else None

    async def cancel(self, wizard_id: str) -> Wizard:
        data = await self.execute("CancelSmartFlexOnboarding", {"wizardId": wizard_id})
        return _payload_wizard(data, "cancelSmartFlexOnboarding")

    # ------------------------------------------------------------ wizards: completing steps

    async def select_from_list(self, wizard_id: str, step_id: str, option_id: str) -> Wizard:
        """Choose an option of a list step; naming an earlier list step goes back to it."""

        def landed(wizard: Wizard) -> bool:
            if wizard.current_step is not None and wizard.current_step.id == step_id:
                return False
            return not any(
                step.id == step_id and getattr(step, "selected_option_id", None) != option_id
                for step in wizard.completed_steps
            )

        return await self._complete_step(
            "SelectFromList", wizard_id, step_id, {"selectedOption": option_id}, landed=landed
        )

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

    async def start_test_charge(self, wizard_id: str, step_id: str) -> Wizard:
        return await self._complete_step("StartTestCharge", wizard_id, step_id)

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
            return wizard if check(wizard) else None

        variables = {"wizardId": wizard_id, "stepId": step_id, **(extra or {})}
        return await self._mutate_wizard(operation, variables, recover=recover)

    async def _mutate_wizard(
        self, operation: str, variables: Mapping[str, Any], *, recover: Recover
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
                return _payload_wizard(await self.execute(operation, variables), field)
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


def _operation(name: str) -> Operation:
    try:
        return OPERATIONS[name]
    except KeyError:
        raise ValueError(f"Unknown Kraken operation {name!r}") from None


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


def _wizard_not_found(wizard_id: str) -> KrakenError:
    return KrakenError(
        "Onboarding wizard ID is invalid.",
        code=WIZARD_NOT_FOUND,
        description=f"Onboarding wizard not found with ID {wizard_id}.",
        error_type="APPLICATION",
    )
