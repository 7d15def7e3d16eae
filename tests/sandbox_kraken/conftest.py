"""In-process sandbox over httpx.ASGITransport, with a clock that only moves when told."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from sandbox.kraken import SandboxClock, SandboxConfig, create_app
from sandbox.kraken.service import Sandbox

from .gql import Driver

BASE_URL = "http://kraken.sandbox.test"


@pytest.fixture
def flavour() -> str:
    """The instance emulated; a test parametrized on `flavour` overrides it."""
    return "eu"


@pytest.fixture
def removed() -> tuple[str, ...]:
    """Fields the instance has dropped (`--removed`); parametrize to override."""
    return ()


@pytest.fixture
def removal_date() -> dt.date | None:
    """`--date`; parametrize to override."""
    return None


@pytest.fixture
def config(flavour: str, removed: tuple[str, ...], removal_date: dt.date | None) -> SandboxConfig:
    return SandboxConfig(
        public_url=BASE_URL,
        commit_seconds=0.0,
        accounts=("A-SANDBOX1", "A-OTHER"),
        flavour=flavour,
        removed=removed,
        removal_date=removal_date,
    )


@pytest.fixture
def app(config: SandboxConfig) -> Starlette:
    return create_app(config, SandboxClock(start=1_700_000_000.0))


@pytest.fixture
def sandbox(app: Starlette) -> Sandbox:
    instance: Sandbox = app.state.sandbox
    return instance


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


@pytest.fixture
async def anon(http: httpx.AsyncClient) -> Driver:
    return Driver(http)


@pytest.fixture
async def kraken(http: httpx.AsyncClient) -> Driver:
    driver = Driver(http)
    await driver.login()
    return driver
