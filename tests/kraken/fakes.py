"""A scriptable stand-in for Kraken behind httpx.MockTransport, plus a controllable clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx
from graphql import graphql_sync, parse, validate

from kraken.client import KrakenClient
from kraken.credentials import ApiKeyCredentials
from kraken.retry import RetryPolicy
from kraken.schema import INTROSPECTION_QUERY
from tests.kraken.schemas import FULL_SDL, schema

API_KEY = "test-api-key-0123456789"
URL = "https://kraken.test/v1/graphql/"
TOKEN_LIFETIME = 3600.0

Reply = httpx.Response | dict[str, Any] | Exception
Handler = Callable[[dict[str, Any]], Reply | Awaitable[Reply]]


class FakeClock:
    """Wall clock that only moves when told to (or when the client 'sleeps')."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def data(**fields: Any) -> dict[str, Any]:
    return {"data": fields}


def error(code: str | None, message: str = "Failed.", **extensions: Any) -> dict[str, Any]:
    ext = {"errorCode": code, "errorType": "APPLICATION", **extensions} if code else None
    entry: dict[str, Any] = {"message": message, "path": ["x"]}
    if ext:
        entry["extensions"] = ext
    return {"data": None, "errors": [entry]}


@dataclass
class Call:
    operation: str
    variables: dict[str, Any]
    authorization: str | None


@dataclass
class FakeKraken:
    """Answers obtainKrakenToken itself; every other operation from `handlers` (or `replies`).

    `replies[op]` is a queue of canned answers used before falling back to `handlers[op]`.
    Like a GraphQL server, it serves the schema `sdl` (every variant, unless a test edits it):
    graphql-core answers introspection from it and rejects documents that do not validate
    against it, before any handler runs.
    """

    clock: FakeClock
    sdl: str = FULL_SDL
    handlers: dict[str, Handler] = field(default_factory=dict)
    replies: dict[str, list[Reply]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    issued: int = 0
    token_inputs: list[dict[str, str]] = field(default_factory=list)

    def calls_to(self, operation: str) -> list[Call]:
        return [c for c in self.calls if c.operation == operation]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        operation = body["operationName"]
        variables = body.get("variables") or {}
        self.calls.append(Call(operation, variables, request.headers.get("Authorization")))
        if operation == "ObtainKrakenToken" and not self.replies.get(operation):
            return httpx.Response(200, json=await self._token(variables["input"]))
        queue = self.replies.get(operation)
        reply: Reply
        if queue:
            reply = queue.pop(0)
        elif operation == "IntrospectionQuery" and operation not in self.handlers:
            reply = introspection_answer(self.sdl)
        elif rejected := validation_errors(self.sdl, body["query"]):
            reply = {"errors": rejected}
        else:
            outcome = self.handlers[operation](variables)
            reply = await outcome if asyncio.iscoroutine(outcome) else outcome  # type: ignore[assignment]
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        return httpx.Response(200, json=reply)

    async def _token(self, token_input: dict[str, str]) -> dict[str, Any]:
        self.token_inputs.append(dict(token_input))
        # Yield once, as a real request would: concurrent callers get to run meanwhile.
        await asyncio.sleep(0)
        self.issued += 1
        return data(
            obtainKrakenToken={
                "token": f"jwt-token-{self.issued:04d}",
                "payload": {"exp": int(self.clock() + TOKEN_LIFETIME)},
                "refreshToken": f"refresh-token-{self.issued:04d}",
                "refreshExpiresIn": int(self.clock() + 7 * 86400),
            }
        )


@cache
def introspection_answer(sdl: str) -> dict[str, Any]:
    """What a GraphQL server serving `sdl` answers to the introspection query."""
    result = graphql_sync(schema(sdl), INTROSPECTION_QUERY)
    assert result.errors is None, result.errors
    return {"data": result.data}


@cache
def _validation_errors(sdl: str, document: str) -> tuple[dict[str, Any], ...]:
    return tuple(dict(error.formatted) for error in validate(schema(sdl), parse(document)))


def validation_errors(sdl: str, document: str) -> list[dict[str, Any]]:
    """The errors a GraphQL server serving `sdl` answers to `document` (none: it runs)."""
    return [dict(error) for error in _validation_errors(sdl, document)]  # callers may edit


def make_client(
    kraken: FakeKraken, *, retry: RetryPolicy | None = None, **kwargs: Any
) -> KrakenClient:
    import random

    return KrakenClient(
        URL,
        ApiKeyCredentials(api_key=API_KEY),
        transport=kraken.transport(),
        retry=retry or RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=4.0, max_total=20.0),
        clock=kraken.clock,
        sleep=kraken.clock.sleep,
        rng=random.Random(7),
        **kwargs,
    )


def step(typename: str, step_id: str, **fields: Any) -> dict[str, Any]:
    return {"__typename": typename, "id": step_id, **fields}


def wizard(
    wizard_id: str = "91834212", current: dict[str, Any] | None = None, **fields: Any
) -> dict[str, Any]:
    return {
        "id": wizard_id,
        "currentStep": current,
        "completedSteps": fields.pop("completedSteps", []),
        "deviceType": fields.pop("deviceType", "ELECTRIC_VEHICLES"),
        "displayName": None,
        "resumable": {"isResumable": True, "resumableReasons": []},
        "isComplete": current is None,
        **fields,
    }
