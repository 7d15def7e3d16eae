"""The GraphQL layer: resolvers bound to the flavour's schema, Kraken-style error formatting.

Resolvers are registered by field name; `build_schema` binds those the schema (after
`--removed` / `--date`) still has, so a dropped field is a GraphQL validation error.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from ariadne import InterfaceType, MutationType, QueryType, ScalarType, make_executable_schema
from graphql import GraphQLError, GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema
from graphql import build_schema as build_sdl

from . import devices, preferences
from .auth import Principal
from .errors import KrakenError
from .flavours import schema_sdl
from .journeys import ELECTRIC_VEHICLES, LIST_STEPS
from .models import Device, Wizard
from .service import Sandbox
from .steps import virtual_key
from .views import device_view, wizard_view

logger = logging.getLogger(__name__)
Resolver = Callable[..., Any]
QUERIES: dict[str, Resolver] = {}
MUTATIONS: dict[str, Resolver] = {}
INTERFACES = (
    "SmartFlexOnboardingStepInterface",
    "SmartFlexListItemInterface",
    "SmartFlexOnboardingErrorInterface",
    "SmartFlexDeviceInterface",
    "SmartFlexDeviceStatusInterface",
    "SmartFlexDeviceAlertInterface",
    "DeviceReAuthenticationInterface",
    "SmartFlexDevicePreferencesInterface",
    "FlexDevicePreferenceSettingInterface",
    "FlexDevicePreferenceScheduleSettingInterface",
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


def _device(info: Info, device_id: object, missing: str, forbidden: str = "KT-CT-1111") -> Device:
    """A device of an account the caller may see, settled to now; `missing` is the field's
    not-found code, `forbidden` its code for another account's device."""
    principal = _principal(info)
    device = _ctx(info).sandbox.engine.find_device(str(device_id))
    if device is None:
        raise KrakenError(missing)
    if not principal.can_access(device.account_number):
        raise KrakenError(forbidden)
    return device


def _device_payload(info: Info, device: Device) -> dict[str, Any]:
    return device_view(_ctx(info).sandbox.engine, device)


def _query(name: str) -> Callable[[Resolver], Resolver]:
    def register(resolver: Resolver) -> Resolver:
        QUERIES[name] = resolver
        return resolver

    return register


def _mutation(name: str) -> Callable[[Resolver], Resolver]:
    def register(resolver: Resolver) -> Resolver:
        MUTATIONS[name] = resolver
        return resolver

    return register


# --- queries -----------------------------------------------------------------------------------


@_query("viewer")
def resolve_viewer(_: None, info: Info) -> dict[str, Any]:
    principal = _principal(info)
    engine = _ctx(info).sandbox.engine
    numbers = [a for a in engine.properties if principal.can_access(a)]
    return {"accounts": [{"number": n} for n in numbers]}


@_query("smartFlexOnboardingWizards")
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


@_query("smartFlexOnboardingWizard")
def resolve_wizard(_: None, info: Info, wizardId: str | None = None) -> Any:
    if wizardId is None:
        raise KrakenError("KT-CT-4371")
    return wizard_view(_ctx(info).sandbox.engine, _wizard(info, wizardId))


@_query("eligibleDeviceTypes")
def resolve_eligible(
    _: None, info: Info, accountNumber: str, propertyId: int | None = None
) -> list[str]:
    return _ctx(info).sandbox.engine.eligible_device_types(_account(info, accountNumber))


@_query("devices")
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


@_query("electricVehicles")
def resolve_electric_vehicles(
    _: None,
    info: Info,
    make: str | None = None,
    supportedProvider: str | None = None,
    isIntegrationLive: bool | None = None,
) -> list[dict[str, Any]]:
    return _ctx(info).sandbox.catalog.electric_vehicles(make, supportedProvider, isIntegrationLive)


@_query("chargePointVariants")
def resolve_charge_points(_: None, info: Info) -> list[dict[str, Any]]:
    return _ctx(info).sandbox.catalog.charge_point_variants()


@_query("providerVirtualKeyDetails")
def resolve_virtual_key(_: None, info: Info, provider: str, deviceType: str) -> dict[str, str]:
    _principal(info)
    if provider not in ("TESLA", "TESLA_V2"):
        raise KrakenError("KT-CT-4375")
    return virtual_key(_ctx(info).sandbox.config)


@_query("providerAuthDetails")
def resolve_provider_auth(_: None, info: Info, **_args: Any) -> None:
    """Deprecated upstream in favour of the wizard; the sandbox points callers there."""
    raise KrakenError("KT-CT-4375", description="Please use 'startSmartFlexOnboarding' instead.")


# --- mutations ---------------------------------------------------------------------------------


@_mutation("obtainKrakenToken")
def resolve_obtain_token(_: None, info: Info, input: dict[str, Any]) -> Any:
    return _ctx(info).sandbox.tokens.obtain(input)


@_mutation("startSmartFlexOnboarding")
def resolve_start(_: None, info: Info, input: dict[str, Any]) -> dict[str, Any]:
    account = _account(info, input["accountNumber"])
    wizard = _ctx(info).sandbox.engine.start(account, input["propertyId"])
    return _payload(info, wizard)


@_mutation("startReAuthentication")
def resolve_reauth(_: None, info: Info, input: dict[str, Any]) -> dict[str, Any]:
    account = _account(info, input["accountNumber"])
    engine = _ctx(info).sandbox.engine
    wizard = engine.start_reauthentication(account, input["deviceId"], input["propertyId"])
    return _payload(info, wizard)


StepAction = Callable[[Wizard, dict[str, Any]], None]


def _step_resolver(act: Callable[[Sandbox], StepAction]) -> Resolver:
    """A wizard mutation: authorise, then run `act` under the wizard's lock."""

    async def resolve(_: None, info: Info, input: dict[str, Any]) -> dict[str, Any]:
        sandbox = _ctx(info).sandbox
        wizard = _wizard(info, input["wizardId"])
        action = act(sandbox)
        await sandbox.engine.mutate(wizard.id, lambda w: action(w, input))
        return _payload(info, wizard)

    return resolve


def _step_mutation(name: str, act: Callable[[Sandbox], StepAction]) -> None:
    MUTATIONS[name] = _step_resolver(act)


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


def _legacy_select(field: str) -> Resolver | None:
    """A deprecated `select<Kind>ForSmartFlexOnboarding`: answers a list step of that kind
    only. Bound for every such field the schema has."""
    match = re.fullmatch(r"select(\w+)ForSmartFlexOnboarding", field)
    kind = f"Select{match.group(1)}" if match else ""
    if kind not in LIST_STEPS:
        return None
    kinds = frozenset({kind})
    return _step_resolver(
        lambda s: lambda w, i: s.engine.select_from_list(w, i["stepId"], i["selectedOption"], kinds)
    )


@_mutation("triggerTestCharge")
def resolve_trigger_test_charge(
    _: None, info: Info, input: dict[str, Any] | None = None
) -> dict[str, Any]:
    account = _account(info, (input or {}).get("accountNumber") or "")
    device = _ctx(info).sandbox.engine.trigger_test_charge(account)
    return {"krakenflexDevice": devices.details(device), "possibleErrors": []}


@_mutation("deauthenticateFlexDevice")
def resolve_deauthenticate_flex(
    _: None, info: Info, input: dict[str, Any] | None = None
) -> dict[str, Any]:
    device = _device(info, (input or {}).get("deviceId"), "KT-CT-4350")
    system = _ctx(info).sandbox.engine.system(device)
    return {
        "krakenflexDevice": devices.details(devices.retire(system, device)),
        "possibleErrors": [],
    }


@_mutation("deauthenticateDevice")
def resolve_deauthenticate(
    _: None, info: Info, input: dict[str, Any] | None = None
) -> dict[str, Any]:
    given = input or {}
    account = _account(info, given.get("accountNumber") or "")
    engine = _ctx(info).sandbox.engine
    device = engine.newest_device(account, given.get("deviceType"))
    retired = devices.retire(engine.system(device), device)
    return {"krakenflexDevice": devices.details(retired), "possibleErrors": []}


@_mutation("updateDeviceSmartControl")
def resolve_smart_control(_: None, info: Info, input: dict[str, Any]) -> dict[str, Any]:
    device = _device(info, input["deviceId"], "KT-CT-4313")
    system = _ctx(info).sandbox.engine.system(device)
    return _device_payload(info, devices.smart_control(system, device, input["action"]))


DeviceAction = Callable[[Device, dict[str, Any]], Device]


def _device_mutation(name: str, null_input: str, act: DeviceAction) -> None:
    """A mutation on one device answering the device. The reference lists no not-found code
    for these: an unknown id is refused as Unauthorized."""

    def resolve(_: None, info: Info, input: dict[str, Any] | None = None) -> dict[str, Any]:
        if input is None:
            raise KrakenError(null_input)
        device = _device(info, input["deviceId"], "KT-CT-1111")
        return _device_payload(info, act(device, input))

    MUTATIONS[name] = resolve


_device_mutation("updateBoostCharge", "KT-CT-4357", lambda d, i: devices.boost(d, i["action"]))
_device_mutation(
    "setDevicePreferences", "KT-CT-4321", lambda d, i: preferences.set_device_preferences(d, i)
)
_device_mutation(
    "updateIsChargingDurationCapped",
    "KT-CT-4390",
    lambda d, i: devices.cap_charging_duration(d, i["enabled"]),
)
_device_mutation(
    "updateDeviceGridExport", "KT-CT-4386", lambda d, i: devices.export_to_grid(d, i["enabled"])
)


@_mutation("setVehicleChargePreferences")
def resolve_set_vehicle_preferences(
    _: None, info: Info, input: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The account's newest EV or charger (the legacy mutation names no device)."""
    given = input or {}
    account = _account(info, given.get("accountNumber") or "")
    device = _ctx(info).sandbox.engine.newest_device(account, ELECTRIC_VEHICLES)
    if device.auth_expired:
        raise KrakenError("KT-CT-4353")
    preferences.set_vehicle_preferences(device, given)
    details = devices.details(device)
    return {
        "krakenflexDevice": {k: details[k] for k in ("krakenflexDeviceId", "provider")},
        "possibleErrors": [],
    }


def _heat_pump_payload(device: Device) -> dict[str, Any]:
    return {"heatPumpDevice": devices.heat_pump_view(device), "possibleErrors": []}


@_mutation("setClimateControlState")
def resolve_climate(_: None, info: Info, input: dict[str, Any] | None = None) -> dict[str, Any]:
    given = input or {}
    device = _device(info, given.get("deviceId"), "KT-CT-4301", "KT-CT-4301")
    return _heat_pump_payload(devices.climate_control(device, bool(given.get("enabled"))))


@_mutation("setHotWaterState")
def resolve_hot_water(_: None, info: Info, input: dict[str, Any] | None = None) -> dict[str, Any]:
    given = input or {}
    device = _device(info, given.get("deviceId"), "KT-CT-4301", "KT-CT-4301")
    system = _ctx(info).sandbox.engine.system(device)
    return _heat_pump_payload(devices.hot_water(system, device, bool(given.get("enabled"))))


@_mutation("setRoomTemperature")
def resolve_room_temperature(
    _: None, info: Info, input: dict[str, Any] | None = None
) -> dict[str, Any]:
    given = input or {}
    device = _device(info, given.get("deviceId"), "KT-CT-7223", "KT-CT-7223")
    return _heat_pump_payload(devices.room_temperature(device, float(given["temperature"])))


# --- schema ------------------------------------------------------------------------------------


def _typename(obj: dict[str, Any], *_: Any) -> str:
    return str(obj["__typename"])


def build_schema(
    flavour: str = "eu", removed: tuple[str, ...] = (), date: dt.date | None = None
) -> GraphQLSchema:
    """The executable schema of a flavour (cached: resolvers keep no state of their own)."""
    return _build_schema(flavour, tuple(sorted(removed)), date)


@cache
def _build_schema(flavour: str, removed: tuple[str, ...], date: dt.date | None) -> GraphQLSchema:
    sdl = schema_sdl(flavour, removed, date)
    shape = build_sdl(sdl)
    query, mutation = QueryType(), MutationType()
    for bindable, resolvers, root in ((query, QUERIES, "Query"), (mutation, MUTATIONS, "Mutation")):
        for name in _root_fields(shape, root):
            resolver = resolvers.get(name) or _legacy_select(name)
            if resolver is not None:
                bindable.set_field(name, resolver)
    interfaces = [InterfaceType(n, _typename) for n in INTERFACES if shape.get_type(n)]
    scalars = [
        ScalarType(n) for n in ("GenericScalar", "JSONString", "Decimal", "DateTime", "Time")
    ]
    present = [s for s in scalars if shape.get_type(s.name)]
    return make_executable_schema(sdl, query, mutation, *interfaces, *present)


def _root_fields(schema: GraphQLSchema, root: str) -> set[str]:
    graphql_type = schema.get_type(root)
    return set(graphql_type.fields) if isinstance(graphql_type, GraphQLObjectType) else set()


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
