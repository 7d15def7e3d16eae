from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from bot.handoff import (
    HandoffExpired,
    HandoffGrant,
    HandoffMalformed,
    HandoffService,
    HandoffUnknown,
    HandoffUsed,
    deep_link,
)
from bot.handoff.service import new_token, token_hash
from bot.state import KeySpace
from bot.state.bindings import Binding, ChatBindings
from dialogs.events import ReAuthenticate, Resume
from tests.bot.conftest import FakeClock


@pytest.fixture
def service(redis_client: aioredis.Redis, clock: FakeClock) -> HandoffService:
    return HandoffService(redis_client, clock=clock)


async def test_issued_token_redeems_once_into_the_account(
    service: HandoffService, clock: FakeClock
) -> None:
    issued = await service.issue("A-SANDBOX1", 1, Resume("W-42"))
    assert len(issued.token) == 32
    assert issued.expires_at == datetime.fromtimestamp(clock.now, UTC) + timedelta(days=7)
    assert deep_link("SmartFlexBot", issued.token) == (
        f"https://t.me/SmartFlexBot?start={issued.token}"
    )
    grant = await service.redeem(issued.token)
    assert (grant.account_number, grant.property_id, grant.intent) == (
        "A-SANDBOX1",
        1,
        Resume("W-42"),
    )
    with pytest.raises(HandoffUsed):
        await service.redeem(issued.token)


def test_tokens_never_start_like_a_command_line_option() -> None:
    # Plain token_urlsafe starts one token in 64 with "-": 4000 draws would show one.
    tokens = [new_token() for _ in range(4000)]
    assert all(len(token) == 32 and not token.startswith("-") for token in tokens)


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


@pytest.mark.parametrize("method", ["redeem", "inspect", "revoke"])
@pytest.mark.parametrize(
    "token",
    [
        "",
        "short",
        "x" * 33,
        "has spaces and is thirty-two ch",
        "ü" * 32,
        "https://t.me/SmartFlexBot",
        "https://t.me/SmartFlexBot?start=short",
    ],
)
async def test_malformed_tokens_are_refused_without_touching_redis(token: str, method: str) -> None:
    unreachable = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.1)
    with pytest.raises(HandoffMalformed):
        await getattr(HandoffService(unreachable), method)(token)


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


# ---------------------------------------------------------------- inspect


async def test_inspect_shows_the_grant_and_leaves_the_link_usable(
    service: HandoffService,
) -> None:
    issued = await service.issue("A-SANDBOX1", 2, Resume("W-9"))
    for _ in range(2):
        seen = await service.inspect(issued.token)
        assert (seen.account_number, seen.property_id, seen.intent) == (
            "A-SANDBOX1",
            2,
            Resume("W-9"),
        )
    assert await service.redeem(issued.token) == seen
    with pytest.raises(HandoffUsed):
        await service.inspect(issued.token)


async def test_inspect_refuses_like_redeem(service: HandoffService, clock: FakeClock) -> None:
    with pytest.raises(HandoffUnknown):
        await service.inspect(secrets.token_urlsafe(24))
    issued = await service.issue("A-SANDBOX1", 1, None)
    clock.advance(timedelta(days=7, seconds=1).total_seconds())
    for look in (service.inspect, service.redeem, service.inspect):
        with pytest.raises(HandoffExpired):
            await look(issued.token)


async def test_inspecting_while_tapping_twice_still_binds_only_once(
    service: HandoffService,
) -> None:
    issued = await service.issue("A-SANDBOX1", 1, None)
    results = await asyncio.gather(
        service.inspect(issued.token),
        service.redeem(issued.token),
        service.inspect(issued.token),
        service.redeem(issued.token),
        return_exceptions=True,
    )
    redeemed = [type(r).__name__ for r in results[1::2]]
    assert sorted(redeemed) == ["HandoffGrant", "HandoffUsed"]


# ---------------------------------------------------------------- revoke


@pytest.mark.parametrize(
    "form",
    [
        "{token}",
        "  https://t.me/SmartFlexBot?start={token}\n",
        "t.me/SmartFlexBot?start={token}",
        "tg://resolve?domain=SmartFlexBot&start={token}",
    ],
)
async def test_a_revoked_link_answers_as_used(service: HandoffService, form: str) -> None:
    issued = await service.issue("A-SANDBOX1", 1, None)
    assert await service.revoke(form.format(token=issued.token)) is True
    for look in (service.inspect, service.redeem):
        with pytest.raises(HandoffUsed):
            await look(issued.token)
    assert await service.revoke(issued.token) is False


async def test_only_a_live_link_can_be_revoked(service: HandoffService, clock: FakeClock) -> None:
    used = await service.issue("A-SANDBOX1", 1, None)
    await service.redeem(used.token)
    assert await service.revoke(used.token) is False
    assert await service.revoke(secrets.token_urlsafe(24)) is False
    expired = await service.issue("A-SANDBOX1", 1, None)
    clock.advance(timedelta(days=7, seconds=1).total_seconds())
    assert await service.revoke(expired.token) is False
    with pytest.raises(HandoffExpired):
        await service.redeem(expired.token)


async def test_revoke_racing_a_tap_lets_exactly_one_win(service: HandoffService) -> None:
    issued = await service.issue("A-SANDBOX1", 1, None)
    revoked, redeemed = await asyncio.gather(
        service.revoke(issued.token), service.redeem(issued.token), return_exceptions=True
    )
    assert (revoked is True) != isinstance(redeemed, HandoffGrant)
    assert isinstance(redeemed, HandoffGrant | HandoffUsed)


async def test_revoke_chat_unbinds_and_says_what_it_was_bound_to(
    service: HandoffService, redis_client: aioredis.Redis
) -> None:
    bindings = ChatBindings(redis_client, KeySpace())
    await bindings.bind(4242, Binding("A-SANDBOX1", 1))
    assert await service.revoke_chat(4242) == Binding("A-SANDBOX1", 1)
    assert await bindings.get(4242) is None
    assert await service.revoke_chat(4242) is None
