"""kill -9 of the bot while a wait is pending, then a restart: nothing lost, nothing twice.

This module's Kraken runs waits at their real length (time scale 1), so the test charge is
certainly still running across the crash; the test moves the sandbox clock to end it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis

from bot.state.keys import KeySpace
from tests.e2e.conftest import deployment
from tests.e2e.harness import User, eventually
from tests.e2e.stack import World

pytestmark = pytest.mark.e2e

CONNECTED = "is connected!"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, e2e_redis_url: str) -> Iterator[World]:
    with deployment(tmp_path_factory.mktemp("e2e-crash"), e2e_redis_url, 1.0) as crashing:
        crashing.start(crashing.bot_process("bot", "run", port=crashing.bot_port))
        yield crashing


async def turn_finished(world: World, chat_id: int) -> None:
    """The user's last turn has saved and released the chat (the screen shows earlier)."""
    redis = aioredis.Redis.from_url(world.redis_url)
    lock = KeySpace(world.redis_prefix).chat_lock(chat_id)
    try:
        await eventually(lambda: _absent(redis, lock))
    finally:
        await redis.aclose()


async def _absent(redis: aioredis.Redis, key: str) -> bool:
    return not await redis.exists(key)


async def test_the_conversation_survives_a_crash_of_the_bot(linked: User, world: World) -> None:
    await linked.choose("Electric car or charger", "Tesla", "Model 3", "No smart charger")
    await linked.oauth_allow(expect="I've added the key")
    await linked.tap("I've added the key", expect="Time for a short test charge")
    running = await linked.tap("start the test", expect="Test charge running")
    await turn_finished(world, linked.user_id)

    crashed = world.group.processes[-1]
    crashed.kill()
    assert crashed.returncode == -9
    world.start(world.bot_process("bot", "run", port=world.bot_port))

    still = await linked.tap("Check now", expect="Still waiting")
    assert "Test charge running" in still.text
    await linked.sandbox.advance(3600)
    await linked.wait_new_message(CONNECTED, after=running.id)
    assert await linked.count_bot_messages(CONNECTED) == 1
    assert await linked.count_bot_messages("Test charge running") == 1
    assert await linked.sandbox.device_statuses(linked.account) == ["LIVE"]
