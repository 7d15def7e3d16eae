"""When the outside world misbehaves: Kraken faults, Telegram flood control, bad links.

Faults are injected through the sandboxes' own hooks and cleared after each test, so the
shared deployment stays healthy for the next one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot.handoff.service import token_hash
from bot.state.keys import KeySpace
from tests.e2e.conftest import FIRST_SCREEN
from tests.e2e.harness import User, eventually
from tests.e2e.stack import World

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("clean_faults")]

SELECT = "selectFromListForSmartFlexOnboarding"
HEAT_PUMP_MAKES = "Who made your heat pump?"


async def completed_steps(user: User) -> list[str]:
    wizard = await user.sandbox.only_wizard(user.account)
    return [step["__typename"] for step in wizard["completedSteps"]]


async def selections_sent(world: World) -> float:
    """Every SelectFromList attempt the bot sent, failed ones included."""
    return await world.metric("kraken_calls_total", operation="SelectFromList")


async def test_a_brief_kraken_outage_is_retried_without_the_user_noticing(
    linked: User, world: World
) -> None:
    before = await selections_sent(world)
    await linked.sandbox.fault(SELECT, times=1, http_status=502)
    await linked.tap("Heat pump", expect=HEAT_PUMP_MAKES)
    assert await selections_sent(world) == before + 2
    assert await linked.count_bot_messages("couldn't reach") == 0
    assert await completed_steps(linked) == ["SelectDeviceType"]


async def test_a_long_kraken_outage_says_try_later_then_the_retry_works(linked: User) -> None:
    await linked.sandbox.fault(SELECT, times=50, http_status=502)
    failed = await linked.tap("Heat pump", expect="couldn't reach the energy system")
    assert "try again in a minute" in failed.text
    await linked.sandbox.clear_faults()
    await linked.tap("Try again", expect=FIRST_SCREEN)
    await linked.tap("Heat pump", expect=HEAT_PUMP_MAKES)
    assert await completed_steps(linked) == ["SelectDeviceType"]


async def test_a_busy_wizard_is_retried(linked: User, world: World) -> None:
    before = await selections_sent(world)
    await linked.sandbox.fault(SELECT, times=1, code="KT-CT-4372")
    await linked.tap("Heat pump", expect=HEAT_PUMP_MAKES)
    assert await selections_sent(world) == before + 2
    assert await completed_steps(linked) == ["SelectDeviceType"]


async def test_an_expired_kraken_token_mid_journey_is_renewed(linked: User, world: World) -> None:
    expiries = await world.metric("kraken_errors_total", code="KT-CT-1124")
    await linked.tap("Heat pump", expect=HEAT_PUMP_MAKES)
    await linked.sandbox.expire_tokens()
    await linked.tap("Daikin", expect="Sign in to your device's account")
    assert await world.metric("kraken_errors_total", code="KT-CT-1124") > expiries
    assert await completed_steps(linked) == ["SelectDeviceType", "SelectHeatPumpMake"]


@pytest.mark.parametrize("method", ["editMessageText", "sendMessage"])
async def test_telegram_flood_control_is_waited_out(linked: User, method: str) -> None:
    """One 429 with retry_after: the message still arrives (the one the user waits for)."""
    await linked.sim.fault(method, error_code=429, retry_after=1)
    if method == "sendMessage":
        shown = await linked.type("/help", expect="How this works")
    else:
        shown = await linked.tap("Heat pump", expect=HEAT_PUMP_MAKES)
    refused = [
        call
        for call in await linked.sim.outbox(method)
        if call["response"].get("error_code") == 429
        and str(call["params"].get("chat_id")) == str(linked.user_id)
    ]
    assert refused, "the fault never fired"
    assert shown.sender == "bot"


# ---------------------------------------------------------------------------- hand-off links


@pytest.fixture
async def redis(world: World) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(world.redis_url)
    try:
        yield client
    finally:
        await client.aclose()


async def assert_not_linked(user: User) -> None:
    await user.type("/status", expect="isn't linked to an account")
    assert await user.sandbox.wizards(user.account) == []


@pytest.mark.parametrize(
    ("token", "told"),
    [
        ("not-a-token", "doesn't look right"),
        ("A" * 32, "I don't recognise that link"),
    ],
    ids=["malformed", "forged"],
)
async def test_a_bad_link_binds_nothing(user: User, world: World, token: str, told: str) -> None:
    await user.start(token, expect=told)
    await assert_not_linked(user)
    await user.start(await world.issue_handoff(user.account), expect=FIRST_SCREEN)


async def test_a_used_link_cannot_be_replayed(user: User, world: World) -> None:
    token = await world.issue_handoff(user.account)
    await user.start(token, expect=FIRST_SCREEN)
    other = User(user.sim, world.next_user_id(), user.account, user.sandbox)
    await other.start(token, expect="already been used")
    await other.type("/status", expect="isn't linked to an account")
    assert len(await user.sandbox.wizards(user.account)) == 1


async def test_an_expired_link_binds_nothing(
    user: User, world: World, redis: aioredis.Redis
) -> None:
    """Issued by support's CLI with a one-second lifetime (HANDOFF_TTL), then left to expire."""
    token = await world.issue_handoff_with_cli(user.account, HANDOFF_TTL="PT1S")
    # The record may already be gone here on a loaded machine (the CLI process exits after
    # writing it); "expired", not "unknown", is what shows the link was issued.
    record = KeySpace(world.redis_prefix).handoff(token_hash(token))

    async def expired() -> bool:
        return not await redis.exists(record)

    await eventually(expired)
    await user.start(token, expect="That link has expired")
    await assert_not_linked(user)
    await user.start(await world.issue_handoff(user.account), expect=FIRST_SCREEN)
