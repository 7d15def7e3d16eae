"""Flood control (off unless asked) and injected failures, as a bot's retry logic sees them."""

from __future__ import annotations

import asyncio

import pytest

from sandbox.telegram.client import SimClient, SimRequestError
from tests.sandbox_telegram.conftest import BotApi, FakeClock


async def open_chats(sim: SimClient, count: int) -> None:
    for user_id in range(1, count + 1):
        await sim.send(user_id, "hi")


async def test_rate_limits_are_off_by_default(api: BotApi, sim: SimClient) -> None:
    await open_chats(sim, 1)
    for _ in range(40):
        await api.ok("sendMessage", chat_id=1, text="spam")


async def test_one_chat_is_limited_to_about_one_per_second(
    api: BotApi, sim: SimClient, clock: FakeClock
) -> None:
    await open_chats(sim, 1)
    await sim.configure(rate_limits=True)
    for _ in range(3):
        await api.ok("sendMessage", chat_id=1, text="burst")
    status, body = await api.call("sendMessage", chat_id=1, text="too much")
    assert (status, body) == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        },
    )
    clock.advance(1)
    await api.ok("sendMessage", chat_id=1, text="after waiting")


async def test_a_bot_is_limited_to_thirty_messages_per_second(
    api: BotApi, sim: SimClient, clock: FakeClock
) -> None:
    await open_chats(sim, 31)
    await sim.configure(rate_limits=True)
    for user_id in range(1, 31):
        await api.ok("sendMessage", chat_id=user_id, text="news")
    status, body = await api.call("sendMessage", chat_id=31, text="one more")
    assert (status, body["parameters"]) == (429, {"retry_after": 1})
    clock.advance(0.1)
    await api.ok("sendMessage", chat_id=31, text="one more")


async def test_injected_429_then_success(api: BotApi, sim: SimClient) -> None:
    await open_chats(sim, 1)
    await sim.fault("sendMessage", error_code=429, retry_after=7, times=2)
    for _ in range(2):
        assert await api.refused("sendMessage", chat_id=1, text="x") == (
            429,
            "Too Many Requests: retry after 7",
        )
    await api.ok("sendMessage", chat_id=1, text="x")
    assert [m.text for m in await sim.transcript(1)] == ["hi", "x"]
    refusals = [e["response"]["ok"] for e in await sim.outbox("sendMessage")]
    assert refusals == [False, False, True]


async def test_injected_server_errors(api: BotApi, sim: SimClient) -> None:
    await sim.fault("getMe", error_code=502)
    await sim.fault("getMe", error_code=500)
    assert await api.refused("getMe") == (502, "Bad Gateway")
    assert await api.refused("getMe") == (500, "Internal Server Error")
    assert (await api.ok("getMe"))["is_bot"] is True


async def test_slow_answer_takes_effect_but_answers_late(api: BotApi, sim: SimClient) -> None:
    await open_chats(sim, 1)
    await sim.fault("sendMessage", timeout_s=30)
    late = asyncio.create_task(api.call("sendMessage", chat_id=1, text="slow"))
    await sim.wait_for_text(1, "bot: slow")
    assert not late.done()
    late.cancel()


async def test_fault_requests_are_validated(sim: SimClient) -> None:
    state = await sim.state()
    assert state["faults"] == []
    with pytest.raises(SimRequestError, match="error_code must be 429, 500 or 502"):
        await sim.fault("getMe", error_code=418)
