"""HTTP surface: `POST /v1/graphql/`, the OAuth pages and the `/sandbox/*` test hooks."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

from ariadne import graphql
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    validate,
)
from graphql.error import GraphQLSyntaxError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from . import devices
from .clock import SandboxClock
from .config import SandboxConfig
from .devices import TEST_CHARGE_OUTCOMES
from .errors import KrakenError
from .faults import Fault
from .graphql_api import RequestContext, build_schema, format_error
from .models import TESLA_GRANTS, Device
from .pages import BAD_GATEWAY_PAGE, consent_page, decision_redirect, error_page, landing_page
from .service import Sandbox

logger = logging.getLogger(__name__)


def _operation_names(body: dict[str, Any]) -> tuple[set[str], list[str]]:
    """Operation name plus top-level field names (what faults match), and the field names."""
    names = {str(body["operationName"])} if body.get("operationName") else set()
    fields: list[str] = []
    document = _parsed(str(body.get("query") or ""))
    if document is None:
        return names, fields
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            if definition.name:
                names.add(definition.name.value)
            fields += [
                sel.name.value
                for sel in definition.selection_set.selections
                if isinstance(sel, FieldNode)
            ]
    return names | set(fields), fields


def _injected_error(code: str, fields: list[str]) -> dict[str, Any]:
    """What Kraken would have answered had the operation failed with `code` on every field."""
    error = KrakenError(code)
    errors = [
        {"message": error.spec.message, "path": [f], "extensions": error.extensions()}
        for f in fields
    ]
    if not errors:
        errors = [{"message": error.spec.message, "extensions": error.extensions()}]
    return {"data": None, "errors": errors}


@lru_cache(maxsize=512)
def _parsed(query: str) -> DocumentNode | None:
    """Clients send the same few documents: each is parsed (and validated) once."""
    try:
        return parse(query)
    except GraphQLSyntaxError:
        return None


@lru_cache(maxsize=512)
def _valid_document(schema: GraphQLSchema, query: str) -> DocumentNode | None:
    """None for a document that does not parse or validate (ariadne then says why)."""
    document = _parsed(query)
    return None if document is None or validate(schema, document) else document


def _already_valid(*_: Any, **__: Any) -> list[GraphQLError]:
    return []


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class SandboxApp:
    """Request handlers bound to one `Sandbox`."""

    def __init__(self, sandbox: Sandbox, schema: GraphQLSchema) -> None:
        self.sandbox = sandbox
        self.schema = schema

    async def graphql(self, request: Request) -> Response:
        body = await _json(request)
        names, fields = _operation_names(body)
        fault = self.sandbox.faults.take(names)
        if fault is not None:
            if fault.latency_ms:
                await asyncio.sleep(fault.latency_ms / 1000)
            if fault.http_status:
                return HTMLResponse(BAD_GATEWAY_PAGE, status_code=fault.http_status)
            if fault.code:
                return JSONResponse(_injected_error(fault.code, fields))
        context = RequestContext(self.sandbox, request.headers.get("authorization"))
        query = body.get("query")
        document = _valid_document(self.schema, query) if isinstance(query, str) else None
        _, result = await graphql(
            self.schema,
            body,
            context_value=context,
            query_document=document,
            query_validator=_already_valid if document is not None else None,
            error_formatter=format_error,
            logger=logger,
        )
        return JSONResponse(result)

    # --- OAuth -------------------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        provider = request.path_params["provider"]
        if request.method == "GET":
            params = dict(request.query_params)
        else:  # a urlencoded form; parsed by hand to avoid python-multipart
            params = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        state = params.get("state", "")
        redirect_uri = params.get("redirect_uri", "")
        if not state or not redirect_uri.startswith(("http://", "https://")):
            return HTMLResponse(error_page("state and an http(s) redirect_uri are required."), 400)
        if request.method == "GET":
            return HTMLResponse(consent_page(provider, state, redirect_uri))
        allow = params.get("decision") == "allow"
        target = decision_redirect(redirect_uri, state, allow, secrets.token_urlsafe(16))
        return RedirectResponse(target, status_code=303)

    async def landing(self, request: Request) -> Response:
        return HTMLResponse(landing_page(str(request.url)))

    # --- test hooks --------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        config = self.sandbox.config
        return JSONResponse(
            {
                "status": "ok",
                "now": self.sandbox.clock.now(),
                "flavour": config.flavour,
                "removed": list(config.removed),
                "removalDate": config.removal_date.isoformat() if config.removal_date else None,
            }
        )

    async def reset(self, request: Request) -> Response:
        self.sandbox.reset()
        return JSONResponse({"status": "reset"})

    async def expire_tokens(self, request: Request) -> Response:
        self.sandbox.tokens.expire_all()
        return JSONResponse({"status": "expired"})

    async def clock(self, request: Request) -> Response:
        body = await _json(request)
        try:
            now = self.sandbox.clock.advance(float(body.get("advanceSeconds", 0)))
        except (TypeError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"now": now})

    async def faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.sandbox.faults.clear()
            return JSONResponse({"faults": []})
        body = await _json(request)
        if not body.get("operation") or not (
            body.get("code") or body.get("http_status") or body.get("latencyMs")
        ):
            return JSONResponse(
                {"error": "operation and one of code / http_status / latencyMs are required"},
                status_code=400,
            )
        fault = Fault(
            operation=str(body["operation"]),
            times=int(body.get("times", 1)),
            code=body.get("code"),
            http_status=body.get("http_status"),
            latency_ms=float(body.get("latencyMs", 0)),
        )
        self.sandbox.faults.add(fault)
        return JSONResponse({"faults": [vars(f) for f in self.sandbox.faults.pending()]})

    async def list_devices(self, request: Request) -> Response:
        engine = self.sandbox.engine
        return JSONResponse(
            {"devices": [_hook_view(engine.settle(d)) for d in engine.devices.values()]}
        )

    async def device_hook(self, request: Request) -> Response:
        """`/sandbox/devices/<id or "latest">/<hook>`; DELETE .../alerts clears the alerts."""
        engine = self.sandbox.engine
        wanted, name = request.path_params["device_id"], request.path_params["hook"]
        if wanted == "latest" and engine.devices:
            wanted = next(reversed(engine.devices))
        device = engine.find_device(wanted)
        if device is None:
            return JSONResponse({"error": f"unknown device {wanted!r}"}, status_code=404)
        if request.method == "DELETE":
            if name != "alerts":
                return JSONResponse({"error": "only .../alerts can be deleted"}, 405)
            device.alerts.clear()
            return JSONResponse(_hook_view(device))
        hook = DEVICE_HOOKS.get(name)
        if hook is None:
            known = ", ".join(DEVICE_HOOKS)
            return JSONResponse({"error": f"unknown hook {name!r}; one of {known}"}, 404)
        try:
            hook(device, engine.system(device), await _json(request), engine.clock.now())
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(_hook_view(device))

    async def scenario(self, request: Request) -> Response:
        body = await _json(request)
        account = str(body.get("accountNumber") or "")
        if not self.sandbox.engine.has_account(account):
            return JSONResponse({"error": f"unknown account {account!r}"}, status_code=400)
        outcomes = [str(o) for o in body.get("testChargeOutcomes", [])]
        unknown = [o for o in outcomes if o not in TEST_CHARGE_OUTCOMES]
        if unknown:
            return JSONResponse({"error": f"unknown test charge outcomes {unknown}"}, 400)
        if body.get("teslaGrant", "OK") not in TESLA_GRANTS:
            return JSONResponse({"error": f"teslaGrant is one of {', '.join(TESLA_GRANTS)}"}, 400)
        scenario = self.sandbox.engine.scenario(account)
        if "teslaVehicles" in body:
            scenario.tesla_vehicles = int(body["teslaVehicles"])
        if "testChargeOutcomes" in body:
            scenario.test_charge_outcomes = deque(outcomes)
        if "vehicleReadyAfterSeconds" in body:
            scenario.vehicle_ready_after_seconds = float(body["vehicleReadyAfterSeconds"])
        if "eligibleDeviceTypes" in body:
            scenario.eligible_device_types = list(body["eligibleDeviceTypes"]) or None
        if "teslaGrant" in body:
            scenario.tesla_grant = str(body["teslaGrant"])
        if "virtualKeyAdded" in body:
            scenario.virtual_key_added = bool(body["virtualKeyAdded"])
        if "registrationFailures" in body:
            scenario.registration_failures = int(body["registrationFailures"])
        if "deviceTaken" in body:
            scenario.device_taken = bool(body["deviceTaken"])
        return JSONResponse(
            {
                "accountNumber": account,
                "teslaVehicles": scenario.tesla_vehicles,
                "testChargeOutcomes": list(scenario.test_charge_outcomes),
                "vehicleReadyAfterSeconds": scenario.vehicle_ready_after_seconds,
                "eligibleDeviceTypes": scenario.eligible_device_types,
                "teslaGrant": scenario.tesla_grant,
                "virtualKeyAdded": scenario.virtual_key_added,
                "registrationFailures": scenario.registration_failures,
                "deviceTaken": scenario.device_taken,
            }
        )


# POST /sandbox/devices/<id>/<hook>: what the outside world does to a device. Each takes the
# device (settled to now), its system (a heat pump's zones), the JSON body and the clock.
DeviceHook = Callable[[Device, list[Device], dict[str, Any], float], None]
DEVICE_HOOKS: dict[str, DeviceHook] = {
    "alerts": lambda d, _s, body, now: _publish(d, body, now),
    "expire-authentication": lambda _d, system, _b, now: devices.expire_authentication(system, now),
    "suspend": lambda _d, system, _b, _n: devices.suspend_from_outside(system, True),
    "unsuspend": lambda _d, system, _b, _n: devices.suspend_from_outside(system, False),
    "unplug": lambda d, _s, _b, _n: devices.plug(d, False),
    "plug": lambda d, _s, _b, _n: devices.plug(d, True),
    "away": lambda d, _s, _b, _n: devices.move(d, False),
    "home": lambda d, _s, _b, _n: devices.move(d, True),
    "battery": lambda d, _s, body, _n: devices.set_battery(d, body),
}


def _publish(device: Device, body: dict[str, Any], now: float) -> None:
    message = body.get("message")
    if not isinstance(message, str) or not message.strip():
        raise ValueError("message (a non-empty string) is required")
    devices.publish_alert(device, message.strip(), now)


def _hook_view(device: Device) -> dict[str, Any]:
    """What the hooks answer: the device as the simulation sees it."""
    return {
        "id": device.id,
        "accountNumber": device.account_number,
        "name": device.name,
        "deviceType": device.device_type,
        "provider": device.provider,
        "current": device.current,
        "isSuspended": device.is_suspended,
        "authenticationExpired": device.auth_expired,
        "pluggedIn": device.plugged_in,
        "atHome": device.at_home,
        "boosting": device.boosting,
        "stateOfCharge": round(device.state_of_charge, 2),
        "stateOfChargeLimit": device.state_of_charge_limit,
        "alerts": [a["message"] for a in devices.alerts_view(device)],
    }


def create_app(config: SandboxConfig | None = None, clock: SandboxClock | None = None) -> Starlette:
    """The ASGI app; `app.state.sandbox` exposes the clock, engine and tokens to tests.

    Raises `SchemaError` (a ValueError) when `config.removed` names what the flavour lacks.
    """
    sandbox = Sandbox(config or SandboxConfig(), clock)
    config = sandbox.config
    schema = build_schema(config.flavour, config.removed, config.removal_date)
    handlers = SandboxApp(sandbox, schema)
    routes = [
        Route("/v1/graphql/", handlers.graphql, methods=["POST"]),
        Route("/oauth/landing", handlers.landing, methods=["GET"]),
        Route("/oauth/{provider}/authorize", handlers.authorize, methods=["GET", "POST"]),
        Route("/sandbox/health", handlers.health, methods=["GET"]),
        Route("/sandbox/reset", handlers.reset, methods=["POST"]),
        Route("/sandbox/tokens/expire", handlers.expire_tokens, methods=["POST"]),
        Route("/sandbox/clock", handlers.clock, methods=["POST"]),
        Route("/sandbox/faults", handlers.faults, methods=["POST", "DELETE"]),
        Route("/sandbox/scenario", handlers.scenario, methods=["POST"]),
        Route("/sandbox/devices", handlers.list_devices, methods=["GET"]),
        Route(
            "/sandbox/devices/{device_id}/{hook}", handlers.device_hook, methods=["POST", "DELETE"]
        ),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = sandbox
    return app
