"""Scenario fixtures: the Kraken sandbox in-process, the real client, a user-like tester."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from harness.conversation import DialogTester
from kraken.client import KrakenClient
from kraken.credentials import ApiKeyCredentials
from sandbox.kraken import SandboxClock, SandboxConfig, create_app
from sandbox.kraken.browser import press_consent

from .limits import assert_fits_telegram

SANDBOX_URL = "http://kraken.test"
ACCOUNT = "A-SANDBOX1"
PROPERTY = 1


async def _no_wait(_: float) -> None:
    """The client's retry backoff, without real time passing (the sandbox has its own clock)."""


@dataclass
class Sandbox:
    """The outside world as a user (browser) and a test operator (hooks) see it."""

    http: httpx.AsyncClient

    async def hook(self, path: str, body: dict[str, Any] | None = None) -> None:
        response = await self.http.post(f"/sandbox/{path}", json=body or {})
        response.raise_for_status()

    async def advance(self, seconds: float) -> None:
        await self.hook("clock", {"advanceSeconds": seconds})

    async def fault(self, operation: str, times: int = 1, **kind: Any) -> None:
        await self.hook("faults", {"operation": operation, "times": times, **kind})

    async def consent(self, authorization_url: str, *, allow: bool = True) -> str:
        """Open the provider's page, press Allow/Deny; returns the URL the browser lands on."""
        return await press_consent(self.http, authorization_url, allow=allow)


@pytest.fixture
async def sandbox_app() -> Any:
    return create_app(SandboxConfig(public_url=SANDBOX_URL, commit_seconds=0), SandboxClock())


@pytest.fixture
async def sandbox(sandbox_app: Any) -> AsyncIterator[Sandbox]:
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(transport=transport, base_url=SANDBOX_URL) as http:
        yield Sandbox(http)


@pytest.fixture
async def kraken(sandbox_app: Any) -> AsyncIterator[KrakenClient]:
    client = KrakenClient(
        f"{SANDBOX_URL}/v1/graphql/",
        ApiKeyCredentials(api_key="sandbox-api-key"),
        transport=httpx.ASGITransport(app=sandbox_app),
        sleep=_no_wait,
    )
    async with client:
        yield client


@pytest.fixture
async def user(kraken: KrakenClient, sandbox: Sandbox) -> AsyncIterator[DialogTester]:
    """A user in a chat; every screen they were shown must fit Telegram's limits and the
    stored conversation must stay small."""

    tester = DialogTester(kraken, advance_clock=sandbox.advance)
    yield tester
    for screen in tester.screens:
        assert_fits_telegram(screen)
    for outcome in tester.outcomes:
        assert len(outcome.conversation.to_json()) < 1024
