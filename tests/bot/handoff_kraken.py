"""The Kraken sandbox in-process, for the hand-off tests that check accounts with Kraken."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from kraken.client import KrakenClient
from kraken.credentials import ApiKeyCredentials
from kraken.retry import RetryPolicy
from sandbox.kraken import Sandbox, SandboxConfig, create_app
from sandbox.kraken.config import DEFAULT_API_KEY
from sandbox.kraken.faults import Fault

KRAKEN_BASE = "http://kraken.test"
ACCOUNT = "A-SANDBOX1"


@dataclass
class SandboxKraken:
    sandbox: Sandbox
    client: KrakenClient

    def fail_checks(self, http_status: int = 503, times: int = 10) -> None:
        """Kraken answers the account check with a server error (more times than retried)."""
        self.sandbox.faults.add(Fault("EligibleDeviceTypes", times=times, http_status=http_status))


@asynccontextmanager
async def sandbox_kraken(api_key: str = DEFAULT_API_KEY) -> AsyncIterator[SandboxKraken]:
    """A client on a fresh sandbox (account A-SANDBOX1, property 1); no retries, no sleeps."""
    app = create_app(SandboxConfig(public_url=KRAKEN_BASE, commit_seconds=0))
    credentials = ApiKeyCredentials(api_key=SecretStr(api_key))
    async with KrakenClient(
        f"{KRAKEN_BASE}/v1/graphql/",
        credentials,
        transport=httpx.ASGITransport(app=app),
        retry=RetryPolicy(max_attempts=1),
    ) as client:
        yield SandboxKraken(app.state.sandbox, client)
