"""Fixtures: an in-process emulator with a controllable clock, and one served over real HTTP."""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from sandbox.telegram import DEFAULT_TOKEN, Emulator, EmulatorConfig, create_app
from sandbox.telegram.client import SimClient

TOKEN = DEFAULT_TOKEN


class FakeClock:
    """Stands in for time.time so tests can age callback queries and refill rate buckets."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class BotApi:
    """Raw Bot API calls, so tests see exactly what Telegram would answer."""

    http: httpx.AsyncClient
    token: str = TOKEN

    async def call(self, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
        response = await self.http.post(f"/bot{self.token}/{method}", json=params)
        body: dict[str, Any] = response.json()
        return response.status_code, body

    async def ok(self, method: str, **params: Any) -> Any:
        status, body = await self.call(method, **params)
        assert (status, body["ok"]) == (200, True), body
        return body["result"]

    async def refused(self, method: str, **params: Any) -> tuple[int, str]:
        status, body = await self.call(method, **params)
        assert body["ok"] is False and body["error_code"] == status, body
        return status, body["description"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config(clock: FakeClock) -> EmulatorConfig:
    return EmulatorConfig(clock=clock, webhook_retry_delays=(0.01,))


@pytest.fixture
async def app(config: EmulatorConfig) -> AsyncIterator[Starlette]:
    application = create_app(config)
    yield application
    await emulator_of(application).close()


def emulator_of(application: Starlette) -> Emulator:
    emulator: Emulator = application.state.emulator
    return emulator


@pytest.fixture
async def api(app: Starlette) -> AsyncIterator[BotApi]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tg") as http:
        yield BotApi(http)


@pytest.fixture
async def sim(app: Starlette) -> AsyncIterator[SimClient]:
    async with SimClient(transport=httpx.ASGITransport(app=app)) as client:
        yield client


def bound_socket() -> socket.socket:
    """A listening loopback socket: clients may connect before the server starts accepting."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


def server_for(application: Starlette) -> uvicorn.Server:
    return uvicorn.Server(
        uvicorn.Config(
            application, log_level="warning", access_log=False, timeout_graceful_shutdown=2
        )
    )


@pytest.fixture
def live_server() -> Iterator[str]:
    """The emulator on a free loopback port, served by uvicorn in a background thread."""
    sock = bound_socket()
    server = server_for(create_app(EmulatorConfig()))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
