"""The console in-process: the whole assistant (`harness.deployment`: real PTB Application,
real Redis, the Kraken sandbox and the Telegram emulator over ASGI) with the console's routes
in front, and agents' browsers as httpx clients that keep cookies."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from starlette.applications import Starlette

from bot.console import Console, learn_customer_names
from bot.state.agents import Agents
from harness.deployment import BOT_BASE, InProcessDeployment, in_process_deployment

ACCOUNT = "A-SANDBOX1"
PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
async def deployment(
    redis_url: str, redis_client: aioredis.Redis
) -> AsyncIterator[InProcessDeployment]:
    async with in_process_deployment(redis_url, accounts=(ACCOUNT,)) as built:
        yield built


def console_for(deployment: InProcessDeployment, **settings: Any) -> Console:
    runtime = deployment.runtime
    console = Console(
        redis=runtime.redis.client,
        keys=runtime.keys,
        settings=runtime.settings.model_copy(update=settings),
        handoff=runtime.handoff,
        kraken=runtime.kraken,
        turns=runtime.turns,
        bot_username=lambda: runtime.bot_username,
    )
    learn_customer_names(runtime.application, console.journal)
    return console


Browser = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def browsers(deployment: InProcessDeployment) -> AsyncIterator[Browser]:
    """`browsers(address="127.0.0.1", **settings)`: a new browser (own cookies) on a console
    built with those settings, its requests coming from `address`."""
    opened: list[httpx.AsyncClient] = []

    def open_browser(address: str = "127.0.0.1", **settings: Any) -> httpx.AsyncClient:
        app = Starlette(routes=console_for(deployment, **settings).routes())
        transport = httpx.ASGITransport(app=app, client=(address, 50000))
        client = httpx.AsyncClient(transport=transport, base_url=BOT_BASE)
        opened.append(client)
        return client

    yield open_browser
    for client in opened:
        await client.aclose()


@pytest.fixture
async def agent(deployment: InProcessDeployment) -> str:
    runtime = deployment.runtime
    await Agents(runtime.redis.client, runtime.keys).add("alice", PASSWORD, admin=True)
    return "alice"


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text
    return found.group(1)


async def sign_in(
    browser: httpx.AsyncClient, name: str, password: str = PASSWORD
) -> httpx.Response:
    form = await browser.get("/support/login")
    return await browser.post(
        "/support/login",
        data={"csrf": csrf_of(form), "name": name, "password": password, "tz": "Europe/Berlin"},
    )
