"""getUpdates: confirmation by offset, long polling, allowed_updates and the 409 conflicts."""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette

from sandbox.telegram.client import SimClient
from tests.sandbox_telegram.conftest import BotApi, emulator_of


async def test_offset_confirms_earlier_updates(api: BotApi, sim: SimClient) -> None:
    await sim.send(1, "one")
    await sim.send(1, "two")
    first = await api.ok("getUpdates")
    assert [u["message"]["text"] for u in first] == ["one", "two"]
    assert [u["message"]["text"] for u in await api.ok("getUpdates")] == ["one", "two"]
    after = await api.ok("getUpdates", offset=first[0]["update_id"] + 1)
    assert [u["message"]["text"] for u in after] == ["two"]
    assert await api.ok("getUpdates", offset=first[1]["update_id"] + 1) == []


async def test_limit_and_command_entity(api: BotApi, sim: SimClient) -> None:
    await sim.send(1, "/start abc123", first_name="Ann", language_code="de")
    await sim.send(1, "later")
    [update] = await api.ok("getUpdates", limit=1)
    message = update["message"]
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert message["from"] == {"id": 1, "is_bot": False, "first_name": "Ann", "language_code": "de"}


async def test_long_poll_returns_when_an_update_arrives(api: BotApi, sim: SimClient) -> None:
    poll = asyncio.create_task(api.ok("getUpdates", timeout=30))
    await sim.send(3, "wake up")
    updates = await asyncio.wait_for(poll, 5)
    assert [u["message"]["text"] for u in updates] == ["wake up"]


async def test_long_poll_times_out_empty(api: BotApi) -> None:
    assert await api.ok("getUpdates", timeout=0.05) == []


async def wait_until_polling(app: Starlette, polls: int) -> None:
    """Let the event loop run until the emulator has `polls` long polls parked."""
    queue = emulator_of(app).world().queue
    for _ in range(1000):
        if queue.waiting_pollers >= polls:
            return
        await asyncio.sleep(0)
    raise AssertionError("the long poll never started")


async def test_second_poller_terminates_the_first(api: BotApi, app: Starlette) -> None:
    first = asyncio.create_task(api.call("getUpdates", timeout=30))
    await wait_until_polling(app, 1)
    second = asyncio.create_task(api.call("getUpdates", timeout=0))
    status, body = await asyncio.wait_for(first, 5)
    assert (status, body["description"]) == (
        409,
        "Conflict: terminated by other getUpdates request; make sure that only one bot "
        "instance is running",
    )
    assert (await second)[0] == 200


async def test_allowed_updates_filters_new_updates(api: BotApi, sim: SimClient) -> None:
    await sim.send(1, "/menu")
    await api.ok(
        "sendMessage",
        chat_id=1,
        text="Pick",
        reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
    )
    [update] = await api.ok("getUpdates", allowed_updates=["callback_query"])
    await api.ok("getUpdates", offset=update["update_id"] + 1)
    await sim.send(1, "ignored")
    await sim.tap(1, "A")
    updates = await api.ok("getUpdates")
    assert [next(k for k in u if k != "update_id") for u in updates] == ["callback_query"]


async def test_get_updates_refused_while_webhook_is_set(api: BotApi) -> None:
    await api.ok("setWebhook", url="http://127.0.0.1:9/hook")
    assert await api.refused("getUpdates") == (
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
        "delete the webhook first",
    )
    await api.ok("deleteWebhook")
    assert await api.ok("getUpdates") == []
