"""The whole assistant in-process (real PTB Application, real Redis, the Kraken client against
the sandbox, the emulator for Telegram), and a customer who has opened a hand-off link."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from harness.deployment import InProcessDeployment, in_process_deployment

ACCOUNT = "A-SANDBOX1"
OTHER_ACCOUNT = "A-OTHER2"
USER = 1001


@pytest.fixture
async def deployment(
    redis_url: str, redis_client: aioredis.Redis
) -> AsyncIterator[InProcessDeployment]:
    async with in_process_deployment(redis_url, accounts=(ACCOUNT, OTHER_ACCOUNT)) as built:
        yield built


@pytest.fixture
async def started(deployment: InProcessDeployment) -> InProcessDeployment:
    """USER has opened a hand-off link for ACCOUNT and sees the device-type question."""
    token = await deployment.handoff_token(ACCOUNT)
    await deployment.user_says(USER, f"/start {token}", first_name="Ann", language_code="en")
    return deployment
