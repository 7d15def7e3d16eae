"""One journey over a real loopback port, served by uvicorn in a thread."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from sandbox.kraken import SandboxConfig, create_app

from .gql import Driver, label


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server_url() -> Iterator[str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(SandboxConfig(public_url=url, time_scale=0.0))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def _wait_until_up(http: httpx.AsyncClient) -> None:
    async with asyncio.timeout(10):
        while True:
            try:
                if (await http.get("/sandbox/health")).status_code == 200:
                    return
            except httpx.TransportError:
                await asyncio.sleep(0.05)


async def test_heat_pump_journey_over_loopback(server_url: str) -> None:
    async with httpx.AsyncClient(base_url=server_url) as http:
        await _wait_until_up(http)
        kraken = Driver(http)
        await kraken.login()
        wizard, seen = await kraken.follow(
            await kraken.start(),
            {"SelectDeviceType": label("Heat pump"), "SelectHeatPumpMake": label("Octopus Energy")},
        )
        assert wizard["isComplete"] and seen[-1] == "WaitForLiveIntegration"
        landing = (await http.get("/oauth/landing?code=x&state=y")).text
        assert "code=x" in landing
