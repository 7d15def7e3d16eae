from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from kraken.client import KrakenClient
from sandbox.kraken import SandboxConfig, create_app
from tests.kraken.fakes import FakeClock, FakeKraken
from tests.kraken.sandbox_driver import Driver, sandbox_client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def kraken(clock: FakeClock) -> FakeKraken:
    return FakeKraken(clock)


# The client against the Kraken sandbox, in process (httpx.ASGITransport).


@pytest.fixture
def transport() -> httpx.ASGITransport:
    return httpx.ASGITransport(app=create_app(SandboxConfig(commit_seconds=0.0)))


@pytest.fixture
async def client(transport: httpx.ASGITransport) -> AsyncIterator[KrakenClient]:
    async with sandbox_client(transport) as kraken:
        yield kraken


@pytest.fixture
async def driver(client: KrakenClient, transport: httpx.ASGITransport) -> AsyncIterator[Driver]:
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as hooks:
        yield Driver(client, hooks)
