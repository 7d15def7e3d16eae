"""Webhook delivery: secret header, per-chat order, retries with recorded errors, drop_pending."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.telegram import EmulatorConfig
from sandbox.telegram.client import SimClient
from tests.sandbox_telegram.conftest import BotApi, FakeClock

HOOK = "http://bot.internal/hook"


class Receiver:
    """A bot's webhook endpoint that can be told to fail, and records what reached it."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], str | None]] = []
        self.failures_left = 0
        self.changed = asyncio.Condition()
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        if self.failures_left:
            self.failures_left -= 1
            return Response(status_code=500)
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        self.received.append((await request.json(), secret))
        async with self.changed:
            self.changed.notify_all()
        return Response(status_code=200)

    async def wait_for(self, count: int) -> list[tuple[dict[str, Any], str | None]]:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: len(self.received) >= count), 5)
        return self.received

    def texts(self) -> list[str]:
        return [update["message"]["text"] for update, _ in self.received]


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def config(clock: FakeClock, receiver: Receiver) -> EmulatorConfig:
    return EmulatorConfig(
        clock=clock,
        webhook_transport=httpx.ASGITransport(app=receiver.app),
        webhook_retry_delays=(0.01,),
    )


async def test_updates_are_posted_with_the_secret(
    api: BotApi, sim: SimClient, receiver: Receiver
) -> None:
    await api.ok("setWebhook", url=HOOK, secret_token="s3cret-Token_1")
    await sim.send(1, "one")
    await sim.send(2, "two")
    await sim.send(1, "three")
    received = await receiver.wait_for(3)
    assert {secret for _, secret in received} == {"s3cret-Token_1"}
    per_chat = [u["message"]["text"] for u, _ in received if u["message"]["chat"]["id"] == 1]
    assert per_chat == ["one", "three"]


async def test_failed_delivery_is_retried_and_reported(
    api: BotApi, sim: SimClient, receiver: Receiver, clock: FakeClock
) -> None:
    receiver.failures_left = 2
    await api.ok("setWebhook", url=HOOK)
    await sim.send(1, "first")
    await sim.send(1, "second")
    await receiver.wait_for(2)
    assert receiver.texts() == ["first", "second"]
    info = await api.ok("getWebhookInfo")
    assert info["url"] == HOOK and info["pending_update_count"] == 0
    assert (
        info["last_error_message"] == "Wrong response from the webhook: 500 Internal Server Error"
    )
    assert info["last_error_date"] == int(clock())


async def test_unreachable_webhook_keeps_updates_pending(
    api: BotApi, sim: SimClient, receiver: Receiver
) -> None:
    receiver.failures_left = 10**6
    await api.ok("setWebhook", url=HOOK, max_connections=1)
    await sim.send(1, "waiting")

    async def has_error() -> bool:
        return "last_error_message" in await api.ok("getWebhookInfo")

    await sim.wait_for(has_error, 5)
    assert (await api.ok("getWebhookInfo"))["pending_update_count"] == 1
    await api.ok("deleteWebhook", drop_pending_updates=True)
    assert await api.ok("getWebhookInfo") == {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": 0,
    }


async def test_delete_webhook_hands_pending_updates_to_polling(
    api: BotApi, sim: SimClient, receiver: Receiver
) -> None:
    receiver.failures_left = 10**6
    await api.ok("setWebhook", url=HOOK, allowed_updates=["message"])
    await sim.send(1, "keep me")
    await api.ok("deleteWebhook")
    assert [u["message"]["text"] for u in await api.ok("getUpdates")] == ["keep me"]


async def test_webhook_settings_are_validated(api: BotApi) -> None:
    assert (await api.refused("setWebhook", url="ftp://x"))[0] == 400
    assert await api.refused("setWebhook", url=HOOK, secret_token="has space") == (
        400,
        "Bad Request: secret token contains unallowed characters",
    )
