"""The Kraken instance the bot meets: the seeds' EU instance, the UK one, and an EU instance
that has already dropped the deprecated test charge mutation. The customer sees no
difference."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import deployment
from tests.e2e.harness import User
from tests.e2e.stack import World

pytestmark = pytest.mark.e2e

FLAVOURS = {
    "eu": ("--flavour", "eu"),
    "uk": ("--flavour", "uk"),
    "eu-without-startTestCharge": (
        *("--flavour", "eu"),
        *("--removed", "startTestChargeForSmartFlexOnboarding"),
    ),
}


@pytest.fixture(scope="module", params=list(FLAVOURS))
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, e2e_redis_url: str
) -> Iterator[World]:
    kraken_args = FLAVOURS[request.param]
    log_dir = tmp_path_factory.mktemp(f"e2e-{request.param}")
    with deployment(log_dir, e2e_redis_url, kraken_args=kraken_args) as flavoured:
        flavoured.start(flavoured.bot_process("bot", "run", port=flavoured.bot_port))
        yield flavoured


async def test_a_tesla_journey_with_its_test_charge_reaches_live(linked: User) -> None:
    await linked.choose("Electric car or charger", "Tesla", "Model 3", "No smart charger")
    await linked.oauth_allow(expect="I've added the key")
    await linked.tap("I've added the key", expect="test charge")
    running = await linked.tap("start the test", expect="Test charge running")
    connected = await linked.wait_new_message("is connected!", after=running.id)
    assert "Smart control is paused" not in connected.text
    assert await linked.count_bot_messages("went wrong") == 0
    assert await linked.count_bot_messages("needs the app") == 0
    assert await linked.sandbox.device_statuses(linked.account) == ["LIVE"]
