"""One full journey over real HTTP: the sandbox served by uvicorn on a loopback port."""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import uvicorn

from kraken.client import KrakenClient
from kraken.credentials import ApiKeyCredentials
from kraken.models import DeviceLifecycleStatus
from sandbox.kraken import SandboxConfig, create_app
from tests.kraken.sandbox_driver import ACCOUNT, PROPERTY, Driver, Journey

STARTUP_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def base_url() -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(SandboxConfig(public_url=url, commit_seconds=0.0))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    started = threading.Event()

    def watch() -> None:
        while not server.started and thread.is_alive():
            started.wait(0.01)
        started.set()

    threading.Thread(target=watch, daemon=True).start()
    assert started.wait(STARTUP_TIMEOUT) and server.started, "sandbox did not start"
    yield url
    server.should_exit = True
    thread.join(STARTUP_TIMEOUT)


@pytest.fixture
async def driver(base_url: str) -> AsyncIterator[Driver]:
    credentials = ApiKeyCredentials(api_key="sandbox-api-key")
    async with (
        KrakenClient(f"{base_url}/v1/graphql/", credentials) as client,
        httpx.AsyncClient(base_url=base_url) as hooks,
    ):
        yield Driver(client, hooks)


async def test_heat_pump_journey_over_loopback_http(driver: Driver) -> None:
    journey = Journey({"SelectDeviceType": "Heat pump", "SelectHeatPumpMake": "Daikin"})
    wizard = await driver.client.start_onboarding(ACCOUNT, PROPERTY)
    walk = await driver.walk(wizard, journey)
    assert walk.visited == [
        "SelectDeviceType",
        "SelectHeatPumpMake",
        "AuthFlow",
        "WaitForLiveIntegration",
    ]
    assert walk.wizard.is_complete
    (device,) = await driver.client.devices(ACCOUNT, PROPERTY)
    assert device.status.current is DeviceLifecycleStatus.LIVE
