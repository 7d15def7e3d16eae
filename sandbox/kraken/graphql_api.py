"""The GraphQL layer: ariadne bindings over schema.graphql, Kraken-style error formatting."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ariadne import (
    InterfaceType,
    MutationType,
    QueryType,
    ScalarType,
    load_schema_from_path,
    make_executable_schema,
)
from graphql import GraphQLError, GraphQLResolveInfo, GraphQLSchema

from .auth import Principal
from .errors import KrakenError
from .models import Wizard
from .service import Sandbox
from .steps import virtual_key
from .views import device_view, wizard_view

logger = logging.getLogger(__name__)
SCHEMA_PATH = Path(__file__).with_name("schema.graphql")
INTERFACES = (
    "SmartFlexOnboardingStepInterface",
    "SmartFlexListItemInterface",
    "SmartFlexOnboardingErrorInterface",
    "SmartFlexDeviceInterface",
    "SmartFlexDeviceStatusInterface",
)


@dataclass
class RequestContext:
    sandbox: Sandbox
    authorization: str | None


Info = GraphQLResolveInfo[RequestContext]


def _ctx(info: Info) -> RequestContext:
    return info.context


def _principal(info: Info) -> Principal:
    ctx = _ctx(info)
    return ctx.sandbox.tokens.authenticate(ctx.authorization)


def _account(info: Info, account_number: str) -> str:
    """The account, if the caller may see it; Kraken answers 'Unauthorized.' otherwise."""
    principal = _principal(info)
    engine = _ctx(info).sandbox.engine
    if not engine.has_account(account_number) or not principal.can_access(account_number):
        raise KrakenError("KT-CT-1111")
    return account_number


def _wizard(info: Info, wizard_id: str) -> Wizard:
    principal = _principal(info)
    wizard = _ctx(info).sandbox.engine.wizard(wizard_id)
    if not principal.can_access(wizard.account_number):
        raise KrakenError("KT-CT-4371")
    return wizard


def _payload(info: Info, wizard: Wizard) -> dict[str, Any]:
    return {"wizard": wizard_view(_ctx(info).sandbox.engine, wizard), "possibleErrors": []}


query = QueryType()
mutation = MutationType()


# --- queries -----------------------------------------------------------------------------------


@query.field("viewer")
def resolve_viewer(_: None, info: Info) -> dict[str, Any]:
    principal = _principal(info)
    engine = _ctx(info).sandbox.engine
    numbers = [a for a in engine.properties if principal.can_access(a)]
    return {"accounts": [{"number": n} for n in numbers]}


@query.field("smartFlexOnboardingWizards")
def resolve_wizards(
    _: None,
    info: Info,
    accountNumber: str,
    propertyId: int | None = None,
    wizardId: str | None = None,
    includeCancelled: bool | None = None,
    includeCompleted: bool | None = None,
    isResumable: bool | None = None,
) -> list[dict[str, Any]]:
    engine = _ctx(info).sandbox.engine
    wizards = engine.wizards_of(
        _account(info, accountNumber),
        propertyId,
        wizardId,
        bool(includeCancelled),
        bool(includeCompleted),
        isResumable,
    )
    return [wizard_view(engine, w) for w in wizards]


@query.field("smartFlexOnboardingWizard")
def resolve_wizard(_: None, info: Info, wizardId: str | None = None) -> Any:
    if wizardId is None:
        raise KrakenError("KT-CT-4371")
    return wizard_view(_ctx(info).sandbox.engine, _wizard(info, wizardId))


@query.field("eligibleDeviceTypes")
def resolve_eligible(
    _: None, info: Info, accountNumber: str, propertyId: int | None = None
) -> list[str]:
    return _ctx(info).sandbox.engine.eligible_device_types(_account(info, accountNumber))


@query.field("devices")
def resolve_devices(
    _: None,
    info: Info,
    accountNumber: str,
    propertyId: str | None = None,
    deviceId: str | None = None,
    integrationDeviceId: str | None = None,
) -> list[dict[str, Any]]:
    engine = _ctx(info).sandbox.engine
    found = engine.devices_of(
        _account(info, accountNumber), propertyId, deviceId, integrationDeviceId
    )
    return [device_view(engine, d) for d in found]


@query.field("electricVehicles")
def resolve_electric_vehicles(
    _: None,
    info: Info,
    make: str | None = None,
    supportedProvider: str | None = None,
    isIntegrationLive: bool | None = None,
) -> list[dict[str, Any]]:
    return _ctx(info).sandbox.catalog.electric_vehicles(make, supportedProvider, isIntegrationLive)


@query.field("chargePointVariants")
def resolve_charge_points(_: None, info: Info) -> list[dict[str, Any]]:
    return _ctx(info).sandbox.catalog.charge_point_variants()


@query.field("providerVirtualKeyDetails")
def resolve_virtual_key(_: None, info: Info, provider: str, deviceType: str) -> dict[str, str]:
    _principal(info)
    if provider not in ("TESLA", "TESLA_V2"):
        raise KrakenError("KT-CT-4375")
    return virtual_key(_ctx(info).sandbox.config)


@query.field("providerAuthDetails")
def resolve_provider_auth(_: None, info: Info, **_args: Any) -> None:
    """Deprecated upstream in favour of the wizard; the sandbox points callers there."""
    raise KrakenError("KT-CT-4375", description="Please use 'startSmartFlexOnboarding' instead.")


# --- mutations ---------------------------------------------------------------------------------


@mutation.field("obtainKrakenToken")
def resolve_obtain_token(_: None, info: Info, input: dict[str, Any]) -> Any:
    return _ctx(info).sandbox.tokens.obtain(input)


@mutation.field("startSmartFlexOnboarding")
def resolve_start(_: None, info: Info, input: dict[str, Any]) -> dict[str, Any]:
    account = _account(info, input["accountNumber"])
    wizard = _ctx(info).sandbox.engine.start(account, input["propertyId"])
    return _payload(info, wizard)


@mutation.field("startReAuthentication")
def resolve_reauth(_: None, info: Info, input: dict[str, Any]) -> dict[str, Any]:
    account = _account(info, input["accountNumber"])
    engine = _ctx(info).sandbox.engine
    wizard = engine.start_reauthentication(account, input["deviceId"], input["propertyId"])
    return _payload(info, wizard)


StepAction = Callable[[Wizard, dict[str, Any]], None]


def _step_mutation(name: str, act: Callable[[Sandbox], StepAction]) -> None:
    """Bind a wizard mutation: authorise, then run `act` under the wizard's lock."""

    async def resolve(_: None, info: Info, input: dict[str, Any]) -> dict[str, Any]:
        sandbox = _ctx(info).sandbox
        wizard = _wizard(info, input["wizardId"])
        action = act(sandbox)
        await sandbox.engine.mutate(wizard.id, lambda w: action(w, input))
        return _payload(info, wizard)

    mutation.set_field(name, resolve)


_step_mutation("cancelSmartFlexOnboarding", lambda s: lambda w, i: s.engine.cancel(w))
_step_mutation(
    "selectFromListForSmartFlexOnboarding",
    lambda s: lambda w, i: s.engine.select_from_list(w, i["stepId"], i["selectedOption"]),
)
_step_mutation(
    "selectVehicleOrChargePointForSmartFlexOnboarding",
    lambda s: (
        lambda w, i: s.engine.select_integration(w, i["stepId"], i.get("selectedIntegration"))
    ),
)
_step_mutation(
    "completeAuthFlowForSmartFlexOnboarding",
    lambda s: lambda w, i: s.engine.complete_auth_flow(w, i["stepId"], i["continuationUri"]),
)
_step_mutation(
    "completeTeslaSetupVirtualKeyForSmartFlexOnboarding",
    lambda s: lambda w, i: s.engine.complete_virtual_key(w, i["stepId"]),
)
_step_mutation(
    "completeUserActionForSmartFlexOnboarding",
    lambda s: lambda w, i: s.engine.complete_user_action(w, i["stepId"]),
)
_step_mutation(
    "completeUserInputRequiredForSmartFlexOnboarding",
    lambda s: lambda w, i: s.engine.complete_user_input(w, i["stepId"], i["userInputs"]),
)
_step_mutation(
    "startTestChargeForSmartFlexOnboarding",
    lambda s: lambda w, i: s.engine.start_test_charge(w, i["stepId"]),
)
_step_mutation(
    "completeRetryForSmartFlexOnboarding",
    lambda s: lambda w, i: s.engine.complete_retry(w, i["stepId"]),
)


@mutation.field("updateDeviceSmartControl")
def resolve_smart_control(_: None, info: Info, input: dict[str, Any]) -> dict[str, Any]:
    engine = _ctx(info).sandbox.engine
    device = engine.device(None, str(input["deviceId"]))
    _account(info, device.account_number)
    return device_view(engine, engine.smart_control(device, input["action"]))


@mutation.field("updateBoostCharge")
def resolve_boost(_: None, info: Info, input: dict[str, Any]) -> dict[str, Any]:
    engine = _ctx(info).sandbox.engine
    device = engine.device(None, str(input["deviceId"]))
    _account(info, device.account_number)
    return device_view(engine, engine.boost(device, input["action"]))


# --- schema ------------------------------------------------------------------------------------


def _typename(obj: dict[str, Any], *_: Any) -> str:
    return str(obj["__typename"])


def build_schema() -> GraphQLSchema:
    interfaces = [InterfaceType(name, _typename) for name in INTERFACES]
    scalars = [ScalarType(name) for name in ("GenericScalar", "JSONString", "Decimal", "DateTime")]
    return make_executable_schema(
        load_schema_from_path(str(SCHEMA_PATH)), query, mutation, *interfaces, *scalars
    )


def format_error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    """Kraken's envelope: message, locations, path and `extensions` on every error."""
    formatted: dict[str, Any] = dict(error.formatted)
    original = error.original_error
    if isinstance(original, KrakenError):
        formatted["extensions"] = original.extensions()
    elif original is not None:
        logger.error("resolver failed at %s", error.path, exc_info=original)
        internal = KrakenError("KT-CT-7899")
        formatted["message"] = internal.spec.message
        formatted["extensions"] = internal.extensions()
    else:
        formatted["extensions"] = {
            "errorType": "VALIDATION",
            "errorCode": None,
            "errorDescription": error.message,
        }
    return formatted
