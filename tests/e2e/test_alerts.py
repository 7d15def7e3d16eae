"""Alerts that arrive by themselves, over separate processes with two notifiers (the bot's own
and a worker) looking at the devices every second: what happens to a device outside the chat
reaches the customer once, and an expired sign-in is mended from the alert's button."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import deployment
from tests.e2e.harness import User
from tests.e2e.kraken_sandbox import DEVICES_QUERY
from tests.e2e.stack import World
from tests.e2e.test_journeys import CONNECTED, TEST_CHECKLIST, finish_test_charge

pytestmark = pytest.mark.e2e

# Every notifier looks at each LIVE chat's devices this often (seconds, give or take 20 %).
ALERTS_EVERY = "1"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, e2e_redis_url: str) -> Iterator[World]:
    with deployment(tmp_path_factory.mktemp("e2e-alerts"), e2e_redis_url) as watching:
        env = {"ALERTS_EVERY": ALERTS_EVERY}
        watching.start(watching.bot_process("bot", "run", port=watching.bot_port, env=env))
        watching.start(watching.bot_process("worker", "worker", env=env))
        yield watching


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
