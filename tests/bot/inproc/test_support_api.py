"""The support API on the bot's own web app (`create_web_app`), with the real runtime: its
Kraken client on the sandbox, its Redis, and a customer in the Telegram emulator."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from bot.state.bindings import ChatBindings
from bot.web import create_web_app
from dialogs.i18n import t
from harness.deployment import BOT_BASE, InProcessDeployment
from tests.bot.inproc.conftest import ACCOUNT, USER

SUPPORT_TOKEN = "support-secret-token"
AUTH = {"Authorization": f"Bearer {SUPPORT_TOKEN}"}


@pytest.fixture
async def support(deployment: InProcessDeployment) -> AsyncIterator[httpx.AsyncClient]:
    """The deployment's web app as it is served when `SUPPORT_API_TOKEN` is set."""
    runtime = deployment.runtime
    settings = runtime.settings.model_copy(update={"support_api_token": SecretStr(SUPPORT_TOKEN)})
    app = create_web_app(dataclasses.replace(runtime, settings=settings), webhook=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BOT_BASE) as client:
        yield client


async def link_token(support: httpx.AsyncClient, account: str) -> httpx.Response:
    body = {"accountNumber": account, "propertyId": 1}
    return await support.post("/support/handoff", json=body, headers=AUTH)


async def test_support_hands_over_then_takes_the_chat_back(
    deployment: InProcessDeployment, support: httpx.AsyncClient
) -> None:
    d = deployment
    refused = await link_token(support, "A-NOSUCH1")
    assert refused.status_code == 422
    assert "A-NOSUCH1" in refused.json()["error"]

    issued = await link_token(support, ACCOUNT)
    assert issued.status_code == 200, issued.text
    await d.user_says(USER, f"/start {issued.json()['link'].rpartition('=')[2]}")
    bindings = ChatBindings(d.runtime.redis.client, d.runtime.keys)
    bound = await bindings.get(USER)
    assert bound is not None and bound.account_number == ACCOUNT

    revoked = await support.post("/support/chat/revoke", json={"chatId": USER}, headers=AUTH)
    assert revoked.json() == {
        "chatId": USER,
        "revoked": True,
        "accountNumber": ACCOUNT,
        "propertyId": 1,
    }
    assert await bindings.get(USER) is None
    assert await d.runtime.turns.peek(USER) is None


async def test_a_link_support_revoked_is_answered_as_used_in_the_chat(
    deployment: InProcessDeployment, support: httpx.AsyncClient
) -> None:
    d = deployment
    link = (await link_token(support, ACCOUNT)).json()["link"]
    revoked = await support.post("/support/handoff/revoke", json={"link": link}, headers=AUTH)
    assert revoked.json() == {"revoked": True}
    await d.user_says(USER, f"/start {link.rpartition('=')[2]}", language_code="en")
    assert (await d.sim.transcript(USER))[-1].text == t("en", "bot.handoff.used")
    assert await ChatBindings(d.runtime.redis.client, d.runtime.keys).get(USER) is None
