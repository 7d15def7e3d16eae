"""One GraphQL request over HTTP, turned into `data` or a typed KrakenError.

Kraken answers 200 even for errors; anything else (5xx, an HTML page from a proxy, a dropped
connection) is a transport failure. Whether a failed request may have reached Kraken is
recorded, because a mutation that may have landed must not be replayed blindly.

Every request may also pass a `RequestGate` (the shared request budget, `bot.state.budget`):
`GatedTransport` wraps the client's transport, asks the gate before each request — as a
customer's (`RequestKind.USER`, the default) or as background work (inside
`background_requests()`) — and tells it when Kraken answers KT-CT-1199. A gated background
request that must wait raises `RequestDeferred` before anything is sent.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from enum import StrEnum
from typing import Any, Protocol

import httpx

from kraken.errors import KrakenError, KrakenResponseError, KrakenTransportError

logger = logging.getLogger("kraken.http")

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


THROTTLED_CODE = b"KT-CT-1199"


class RequestKind(StrEnum):
    USER = "user"
    """A customer is waiting on it (a tap, a message, the sign-in callback)."""
    BACKGROUND = "background"
    """Nobody is waiting right now (the notifier's looks): may be deferred."""


request_kind: ContextVar[RequestKind] = ContextVar("request_kind", default=RequestKind.USER)


@contextlib.contextmanager
def background_requests() -> Iterator[None]:
    """Kraken requests made inside are background work for the budget."""
    token = request_kind.set(RequestKind.BACKGROUND)
    try:
        yield
    finally:
        request_kind.reset(token)


class RequestDeferred(Exception):
    """The budget has no room for this background request now: do it `delay` seconds later.
    Not a KrakenError: nothing was sent, and the client must not retry it by itself."""

    def __init__(self, delay: float) -> None:
        super().__init__(f"Kraken request budget: defer {delay:.1f}s")
        self.delay = delay


class RequestGate(Protocol):
    async def before_request(self, kind: RequestKind) -> None:
        """Return when the request may go; raise RequestDeferred to put it off."""

    async def throttled(self) -> float:
        """Kraken answered KT-CT-1199: back everyone off."""

    async def recovered(self) -> None:
        """A request went through after throttling."""


class GatedTransport(httpx.AsyncBaseTransport):
    """The client's transport with the request budget in front of every request."""

    def __init__(self, gate: RequestGate, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self._gate = gate
        self._inner = inner or httpx.AsyncHTTPTransport()
        self._throttled = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._gate.before_request(request_kind.get())
        response = await self._inner.handle_async_request(request)
        if response.status_code == 429 or response.status_code == 200:
            body = await response.aread()
            if response.status_code == 429 or THROTTLED_CODE in body:
                self._throttled = True
                pause = await self._gate.throttled()
                logger.warning("Kraken is throttling us; pausing %.0fs", pause)
            elif self._throttled:
                self._throttled = False
                await self._gate.recovered()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


CallObserver = Callable[[str, str | None, float], None]
"""Told (operation, error code or None, seconds) after every request: the seam for metrics."""


class GraphQLHttp:
    def __init__(
        self, client: httpx.AsyncClient, url: str, observer: CallObserver | None = None
    ) -> None:
        self._client = client
        self._url = url
        self._observer = observer

    async def post(
        self,
        operation: str,
        document: str,
        variables: Mapping[str, Any],
        *,
        token: str | None,
        attempt: int,
    ) -> dict[str, Any]:
        """Send once; return the `data` object or raise."""
        headers = {"Authorization": token} if token is not None else {}
        body = {"operationName": operation, "query": document, "variables": dict(variables)}
        started = time.perf_counter()
        code: str | None = None
        try:
            response = await self._send(body, headers)
            data = _data(response)
        except KrakenError as exc:
            code = exc.code or type(exc).__name__
            raise
        finally:
            elapsed = time.perf_counter() - started
            logger.info(
                "Kraken call",
                extra={
                    "operation": operation,
                    "attempt": attempt,
                    "duration_ms": round(elapsed * 1000, 1),
                    "error_code": code,
                },
            )
            if self._observer is not None:
                self._observer(operation, code, elapsed)
        return data

    async def _send(self, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        try:
            return await self._client.post(self._url, json=body, headers=headers)
        except _NOT_SENT as exc:
            raise KrakenTransportError(
                f"Cannot reach Kraken: {type(exc).__name__}", may_have_landed=False
            ) from exc
        except httpx.HTTPError as exc:
            raise KrakenTransportError(f"Kraken request failed: {type(exc).__name__}") from exc


def _data(response: httpx.Response) -> dict[str, Any]:
    status = response.status_code
    if status == 429:
        raise KrakenTransportError("Kraken is throttling (HTTP 429).", may_have_landed=False)
    if status >= 500:
        raise KrakenTransportError(f"Kraken answered HTTP {status}.")
    try:
        envelope = response.json()
    except ValueError as exc:
        raise KrakenTransportError(f"Kraken answered HTTP {status} without JSON.") from exc
    if not isinstance(envelope, dict):
        raise KrakenResponseError("Kraken answered JSON that is not an object.")
    errors = envelope.get("errors")
    if isinstance(errors, list) and errors:
        raise _first_error(errors)
    if status >= 400:
        raise KrakenResponseError(f"Kraken answered HTTP {status}.")
    data = envelope.get("data")
    if not isinstance(data, dict):
        raise KrakenResponseError("Kraken answered without data or errors.")
    return data


def _first_error(errors: list[Any]) -> KrakenError:
    """The first error that carries a code (it decides what to do), else the first one."""
    entries = [e for e in errors if isinstance(e, Mapping)]
    if not entries:
        return KrakenResponseError("Kraken answered malformed errors.")
    parsed = [KrakenError.from_graphql(entry) for entry in entries]
    return next((e for e in parsed if e.code), parsed[0])
