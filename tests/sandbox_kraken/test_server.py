"""One journey over a real loopback port, served by uvicorn in a thread."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from sandbox.kraken import SandboxConfig, create_app

from .gql import Driver, label
from .test_more_journeys import TESLA

README = Path(__file__).parents[2] / "sandbox" / "kraken" / "README.md"


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


def _json_stream(text: str) -> list[dict[str, Any]]:
    """Concatenated JSON documents (curl -s adds no newline)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(text.rstrip()):
        document, at = decoder.raw_decode(text, at)
        found.append(document)
        while at < len(text) and text[at].isspace():
            at += 1
    return found


async def test_the_readmes_device_hook_examples_work_as_printed(server_url: str) -> None:
    block = re.search(r"<!-- device-hooks -->\n```sh\n(.*?)```", README.read_text(), re.S)
    assert block, "the README lost its device-hook examples"
    async with httpx.AsyncClient(base_url=server_url) as http:
        await _wait_until_up(http)
        kraken = Driver(http)
        await kraken.login()
        wizard, _ = await kraken.follow(await kraken.start(), TESLA)
        assert wizard["isComplete"]
        script = block.group(1).replace("http://127.0.0.1:8010", server_url)
        done = await asyncio.to_thread(
            subprocess.run,
            ["bash", "-eu", "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        answers = _json_stream(done.stdout)
        assert len(answers) == script.count("curl ")
        published, cleared, expired = answers[1:4]
        assert published["alerts"] == ["Your car did not charge last night: check the cable."]
        assert cleared["alerts"] == [] and expired["authenticationExpired"] is True
        flags = [(a["isSuspended"], a["pluggedIn"], a["atHome"]) for a in answers[4:10]]
        assert flags == [
            (True, True, True),
            (False, True, True),
            (False, False, True),
            (False, True, True),
            (False, True, False),
            (False, True, True),
        ]
        assert answers[10]["stateOfCharge"] == 95
        await kraken.login()  # the example moved the clock on an hour
        (car,) = await kraken.devices()
        assert car["status"]["currentState"] == "AUTHENTICATION_FAILED"
