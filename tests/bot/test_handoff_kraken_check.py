"""Issuing checks the account (and property) with Kraken: the in-process sandbox answers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot.handoff import (
    HandoffRefused,
    HandoffRequest,
    HandoffService,
    KrakenUnavailable,
    issue_link,
)
from bot.handoff.issuing import refusal
from kraken.errors import KrakenError
from tests.bot.handoff_kraken import ACCOUNT, SandboxKraken, sandbox_kraken


@pytest.fixture
async def kraken() -> AsyncIterator[SandboxKraken]:
    async with sandbox_kraken() as built:
        yield built


@pytest.fixture
def service(redis_client: aioredis.Redis) -> HandoffService:
    return HandoffService(redis_client)


def request(account: str = ACCOUNT, property_id: int | None = 1) -> HandoffRequest:
    return HandoffRequest.model_validate({"accountNumber": account, "propertyId": property_id})


async def test_a_known_account_gets_a_link(kraken: SandboxKraken, service: HandoffService) -> None:
    issued = await issue_link(service, "SmartFlexBot", request(), kraken.client)
    grant = await service.redeem(issued.link.rpartition("=")[2])
    assert (grant.account_number, grant.property_id) == (ACCOUNT, 1)


async def test_without_a_property_the_link_still_opens_on_the_default(
    kraken: SandboxKraken, service: HandoffService
) -> None:
    issued = await issue_link(service, "SmartFlexBot", request(property_id=None), kraken.client)
    grant = await service.redeem(issued.link.rpartition("=")[2])
    assert grant.property_id is None  # the chat uses property 1, as before


async def test_an_account_kraken_does_not_know_is_refused_and_nothing_issued(
    kraken: SandboxKraken, service: HandoffService, redis_client: aioredis.Redis
) -> None:
    with pytest.raises(HandoffRefused) as refused:
        await issue_link(service, "SmartFlexBot", request("A-NOSUCH1"), kraken.client)
    assert str(refused.value) == (
        "Kraken does not know account A-NOSUCH1 (or our API key may not act for it)"
    )
    assert await redis_client.dbsize() == 0


async def test_when_kraken_fails_no_link_is_issued_blindly(
    kraken: SandboxKraken, service: HandoffService, redis_client: aioredis.Redis
) -> None:
    kraken.fail_checks(http_status=503)
    with pytest.raises(KrakenUnavailable, match=r"^Kraken could not be reached .*HTTP 503"):
        await issue_link(service, "SmartFlexBot", request(), kraken.client)
    assert await redis_client.dbsize() == 0


async def test_our_own_refused_api_key_is_not_blamed_on_the_account(
    service: HandoffService, redis_client: aioredis.Redis
) -> None:
    async with sandbox_kraken(api_key="not-the-key") as wrong_key:
        with pytest.raises(KrakenUnavailable, match=r"^Kraken refused our API key"):
            await issue_link(service, "SmartFlexBot", request(), wrong_key.client)
    assert await redis_client.dbsize() == 0


async def test_kraken_saying_the_property_is_not_on_the_account_refuses_the_link(
    kraken: SandboxKraken,
) -> None:
    # The sandbox's read queries ignore propertyId; only starting a wizard checks it. Its
    # answer there is the shape Kraken gives a property it rejects, so the check must read it.
    with pytest.raises(KrakenError) as rejected:
        await kraken.client.start_onboarding(ACCOUNT, 99)
    verdict = refusal(rejected.value, request(property_id=99))
    assert isinstance(verdict, HandoffRefused)
    assert str(verdict) == "property 99 is not on account A-SANDBOX1"
