"""Alerts that arrive by themselves, over separate processes with two notifiers (the bot's own
and a worker) looking at the devices every second: what happens to a device outside the chat
reaches the customer once, an expired sign-in is mended from the alert's button, and news
that comes while Redis is down is told once Redis is back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.telegram.client import SimClient
from scripts.processes import ManagedProcess, free_port
from tests.e2e.conftest import deployment
from tests.e2e.harness import User, eventually
from tests.e2e.kraken_sandbox import DEVICES_QUERY, KrakenSandbox
from tests.e2e.stack import World
from tests.e2e.test_journeys import CONNECTED, TEST_CHECKLIST, finish_test_charge
from tests.e2e.test_redis_outage import (
    RECOVERY,
    customer,
    redis_answers,
    redis_process,
    running,
    warnings_in,
)

pytestmark = pytest.mark.e2e

# Every notifier looks at each LIVE chat's devices this often (seconds, give or take 20 %).
ALERTS_EVERY = "1"


def watching_bots(world: World) -> tuple[ManagedProcess, ManagedProcess]:
    """The bot (polling, with its notifier) and a second notifier, both looking every second."""
    env = {"ALERTS_EVERY": ALERTS_EVERY}
    return (
        world.bot_process("bot", "run", port=world.bot_port, env=env),
        world.bot_process("worker", "worker", env=env),
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, e2e_redis_url: str) -> Iterator[World]:
    with deployment(tmp_path_factory.mktemp("e2e-alerts"), e2e_redis_url) as watching:
        for bot in watching_bots(watching):
            watching.start(bot)
        yield watching


@pytest.fixture(scope="module")
def outage_world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[World, ManagedProcess]]:
    """A deployment with its own redis-server (persistent, as in production) to kill."""
    log_dir = tmp_path_factory.mktemp("e2e-alerts-outage")
    port = free_port()
    with deployment(log_dir, f"redis://127.0.0.1:{port}/0") as world:
        yield world, world.start(redis_process(log_dir, port))


async def tesla_is_live(user: User) -> None:
    await user.choose("Electric car or charger", "Tesla", "Model 3", "No smart charger")
    await user.oauth_allow(expect="I've added the key")
    await user.tap("I've added the key", expect=TEST_CHECKLIST)
    await finish_test_charge(user)


async def outside(user: User, hook: str, body: dict[str, Any] | None = None) -> None:
    """What happens to the customer's car outside the chat (a sandbox hook)."""
    data = await user.sandbox.graphql(DEVICES_QUERY, {"accountNumber": user.account})
    (device,) = data["devices"]
    await user.sandbox.hook(f"devices/{device['id']}/{hook}", body)


async def sandbox_device(user: User) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=user.sandbox.base_url, timeout=10.0) as http:
        answer = await http.get("/sandbox/devices")
    answer.raise_for_status()
    (mine,) = [d for d in answer.json()["devices"] if d["accountNumber"] == user.account]
    return dict(mine)


async def test_an_alert_published_in_kraken_reaches_the_chat_exactly_once(linked: User) -> None:
    await tesla_is_live(linked)
    live = await linked.screen()

    await outside(linked, "alerts", {"message": "Charger offline since 14:02"})
    first = await linked.wait_new_message("Charger offline since 14:02", after=live.id)
    assert "News about your devices" in first.text
    # Later looks, by either notifier, have run once the next alerts arrive: none retold it.
    for n in (2, 3):
        await outside(linked, "alerts", {"message": f"Alert number {n}"})
        await linked.wait_new_message(f"Alert number {n}", after=first.id)
    assert await linked.count_bot_messages("Charger offline since 14:02") == 1
    assert await linked.count_bot_messages("Alert number 2") == 1


async def test_an_expired_sign_in_is_mended_from_the_alerts_button(linked: User) -> None:
    await tesla_is_live(linked)
    live = await linked.screen()

    await outside(linked, "expire-authentication")
    alert = await linked.wait_new_message("lost access", after=live.id)
    assert any("Sign in again" in label for label in alert.labels)
    assert await linked.count_bot_messages("lost access") == 1
    signing_in = await linked.tap("Sign in again")
    assert any("Sign in" in label for label in signing_in.labels)
    await linked.oauth_allow()
    await linked.wait_new_message(CONNECTED, after=alert.id)
    assert (await sandbox_device(linked))["authenticationExpired"] is False


async def test_news_that_came_while_redis_was_down_is_told_once_it_is_back(
    outage_world: tuple[World, ManagedProcess],
) -> None:
    world, redis_server = outage_world
    await redis_answers(world)
    bot, worker = watching_bots(world)
    with running(world, bot, worker):
        async with SimClient(world.telegram_url) as sim:
            user = await customer(world, sim, KrakenSandbox(world.kraken_url))
            await tesla_is_live(user)
            live = await user.screen()

            redis_server.kill()

            async def both_noticed() -> bool:
                return bool(warnings_in(bot)) and bool(warnings_in(worker))

            await eventually(both_noticed, timeout=RECOVERY)
            await outside(user, "alerts", {"message": "Published while Redis was down"})
            redis_server.start()
            await redis_answers(world)

            told = await user.wait_new_message("while Redis was down", live.id, RECOVERY)
            await outside(user, "alerts", {"message": "And one after"})
            await user.wait_new_message("And one after", after=told.id, timeout=RECOVERY)
            assert await user.count_bot_messages("while Redis was down") == 1
