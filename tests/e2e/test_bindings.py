"""One account, two Telegram chats: a forwarded hand-off link must not let a stranger drive
the customer's wizard unnoticed, nor two chats drive it over each other."""

from __future__ import annotations

import pytest

from sandbox.telegram.client import SimClient
from tests.e2e.conftest import FIRST_SCREEN
from tests.e2e.harness import User
from tests.e2e.kraken_sandbox import KrakenSandbox
from tests.e2e.stack import World

pytestmark = pytest.mark.e2e

RESUME = "Pick up where I left off"
WELCOME_BACK = "Welcome back"
ELSEWHERE = "being continued in another Telegram chat"
OPENED_ELSEWHERE = "was just opened in another Telegram chat"
TAKEN_OVER = "is now being continued in another Telegram chat"


async def test_a_second_chat_on_the_account_is_announced_and_only_one_chat_drives(
    linked: User, world: World, sim: SimClient, sandbox: KrakenSandbox
) -> None:
    first = linked
    second = User(sim, world.next_user_id(), first.account, sandbox)
    await second.start(await world.issue_handoff(first.account), expect=WELCOME_BACK)

    warned = await first.wait_text(OPENED_ELSEWHERE)
    assert "SF-" in warned.text  # the support reference to quote
    assert await first.count_bot_messages(OPENED_ELSEWHERE) == 1

    # The first chat's old screen lost its buttons (the warning is its live message now),
    # and what it types no longer drives the wizard.
    first_screen = next(m for m in await first.bot_messages() if FIRST_SCREEN in m.text)
    assert first_screen.labels == []
    refused = await first.type("heat", expect=ELSEWHERE)
    assert "Continue here" in refused.labels
    wizard = await sandbox.only_wizard(first.account)
    assert wizard["completedSteps"] == []

    # The second chat drives; then the first takes over with a confirmation tap.
    await second.tap(RESUME, expect=FIRST_SCREEN)
    await first.tap("Continue here", expect=WELCOME_BACK)
    await second.wait_text(TAKEN_OVER)
    await second.type("heat", expect=ELSEWHERE)
    await first.tap(RESUME, expect=FIRST_SCREEN)
    await first.tap("Heat pump", expect="Who made your heat pump?")
    wizard = await sandbox.only_wizard(first.account)
    assert [s["__typename"] for s in wizard["completedSteps"]] == ["SelectDeviceType"]
    assert await first.count_bot_messages(OPENED_ELSEWHERE) == 1  # told once, not per turn
