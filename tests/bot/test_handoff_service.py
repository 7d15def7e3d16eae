from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from bot.handoff import (
    HandoffExpired,
    HandoffMalformed,
    HandoffService,
    HandoffUnknown,
    HandoffUsed,
    ReAuthenticate,
    ResumeWizard,
    deep_link,
)
from bot.handoff.service import token_hash
from bot.state import KeySpace
from tests.bot.conftest import FakeClock


@pytest.fixture
def service(redis_client: aioredis.Redis, clock: FakeClock) -> HandoffService:
    return HandoffService(redis_client, clock=clock)


async def test_issued_token_redeems_once_into_the_account(
    service: HandoffService, clock: FakeClock
) -> None:
    issued = await service.issue("A-SANDBOX1", 1, ResumeWizard("W-42"))
    assert len(issued.token) == 32
    assert issued.expires_at == datetime.fromtimestamp(clock.now, UTC) + timedelta(days=7)
    assert deep_link("SmartFlexBot", issued.token) == (
        f"https://t.me/SmartFlexBot?start={issued.token}"
    )
    grant = await service.redeem(issued.token)
    assert (grant.account_number, grant.property_id, grant.intent) == (
        "A-SANDBOX1",
        1,
        ResumeWizard("W-42"),
    )
    with pytest.raises(HandoffUsed):
        await service.redeem(issued.token)


async def test_reauthenticate_and_no_intent_round_trip(service: HandoffService) -> None:
    reauth = await service.issue("a-sandbox1", None, ReAuthenticate("dev-1"))
    plain = await service.issue("A-SANDBOX1", 3, None)
    grant = await service.redeem(reauth.token)
    assert (grant.account_number, grant.property_id, grant.intent) == (
        "A-SANDBOX1",
        None,
        ReAuthenticate("dev-1"),
    )
    assert (await service.redeem(plain.token)).intent is None


async def test_two_taps_on_one_link_bind_only_once(service: HandoffService) -> None:
    issued = await service.issue("A-SANDBOX1", 1, None)
    results = await asyncio.gather(
        service.redeem(issued.token), service.redeem(issued.token), return_exceptions=True
    )
    assert sorted(type(r).__name__ for r in results) == ["HandoffGrant", "HandoffUsed"]


async def test_link_past_its_expiry_is_refused_and_stays_expired(
    service: HandoffService, clock: FakeClock
) -> None:
    issued = await service.issue("A-SANDBOX1", 1, None)
    clock.advance(timedelta(days=7, seconds=1).total_seconds())
    for _ in range(2):
        with pytest.raises(HandoffExpired):
            await service.redeem(issued.token)


async def test_link_that_redis_expired_is_reported_expired_not_unknown(
    service: HandoffService, redis_client: aioredis.Redis
) -> None:
    issued = await service.issue("A-SANDBOX1", 1, None)
    await redis_client.delete(KeySpace().handoff(token_hash(issued.token)))  # as TTL would
    with pytest.raises(HandoffExpired):
        await service.redeem(issued.token)


async def test_unknown_token_is_refused(service: HandoffService) -> None:
    with pytest.raises(HandoffUnknown):
        await service.redeem(secrets.token_urlsafe(24))


@pytest.mark.parametrize(
    "token", ["", "short", "x" * 33, "has spaces and is thirty-two ch", "ü" * 32]
)
async def test_malformed_tokens_are_refused_without_touching_redis(token: str) -> None:
    unreachable = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.1)
    with pytest.raises(HandoffMalformed):
        await HandoffService(unreachable).redeem(token)


async def test_redis_holds_only_hashes_of_tokens(
    service: HandoffService, redis_client: aioredis.Redis
) -> None:
    issued = await service.issue("A-SANDBOX1", 1, None)
    keys = await redis_client.keys("*")
    assert keys, "nothing was stored"
    for key in keys:
        assert issued.token.encode() not in key
        assert issued.token.encode() not in (await redis_client.dump(key) or b"")
    ttl = await redis_client.ttl(KeySpace().handoff(token_hash(issued.token)))
    assert timedelta(days=7) - timedelta(minutes=1) < timedelta(seconds=ttl) <= timedelta(days=7)


async def test_account_number_is_validated(service: HandoffService) -> None:
    with pytest.raises(ValueError, match="A-"):
        await service.issue("B-123", 1, None)
