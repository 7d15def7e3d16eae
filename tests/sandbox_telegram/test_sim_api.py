"""The /sim control API: transcripts, outbox, reset/state, change notifications, several bots."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from sandbox.telegram import BotIdentity, EmulatorConfig, create_app
from sandbox.telegram.client import SimClient, SimRequestError
from tests.sandbox_telegram.conftest import TOKEN, BotApi, bound_socket, server_for

MENU = {
    "inline_keyboard": [
        [
            {"text": "Heat pump", "callback_data": "hp"},
            {"text": "EV charger", "callback_data": "ev"},
        ],
        [{"text": "Sign in", "url": "https://auth.example.org"}],
    ]
}


async def test_text_transcript(api: BotApi, sim: SimClient) -> None:
    await sim.send(9, "/start")
    await api.ok("sendMessage", chat_id=9, text="Pick a device\nany one", reply_markup=MENU)
    await sim.tap(9, "Heat pump")
    assert await sim.transcript_text(9) == (
        "[1] user: /start\n"
        "[2] bot: Pick a device\n"
        "    any one\n"
        "    [Heat pump] [EV charger]\n"
        "    [Sign in ↗]\n"
        "    > tapped [Heat pump]"
    )


async def test_json_transcript(api: BotApi, sim: SimClient) -> None:
    await sim.send(9, "/start")
    await api.ok("sendMessage", chat_id=9, text="<i>Pick</i>", parse_mode="HTML", reply_markup=MENU)
    [user, bot] = await sim.transcript(9)
    assert (user.sender, user.text, bot.sender, bot.text) == ("user", "/start", "bot", "Pick")
    assert bot.labels == ["Heat pump", "EV charger", "Sign in"]
    assert bot.buttons[1][0].url == "https://auth.example.org"
    assert bot.entities == [{"type": "italic", "offset": 0, "length": 4}]
    assert not bot.edited and bot.photo is None


async def test_outbox_records_calls_in_order_and_filters(api: BotApi, sim: SimClient) -> None:
    await sim.send(9, "/start")
    await api.ok("getMe")
    await api.ok("sendMessage", chat_id=9, text="one")
    await api.refused("sendMessage", chat_id=9, text="")
    entries = await sim.outbox()
    assert [e["method"] for e in entries] == ["getMe", "sendMessage", "sendMessage"]
    assert entries[1]["params"] == {"chat_id": 9, "text": "one"}
    assert entries[2]["response"]["description"] == "Bad Request: message text is empty"
    later = await sim.outbox("sendmessage", since=entries[1]["seq"])
    assert [e["seq"] for e in later] == [entries[2]["seq"]]
    assert TOKEN not in json.dumps(entries)


async def test_reset_forgets_conversations_but_not_the_webhook(api: BotApi, sim: SimClient) -> None:
    await sim.send(9, "/start")
    await api.ok("setWebhook", url="http://127.0.0.1:9/hook")
    await sim.reset()
    state = await sim.state()
    [bot] = state["bots"]
    assert (bot["chats"], bot["pending_update_count"], state["outbox_count"]) == (0, 0, 0)
    assert bot["webhook"]["url"] == "http://127.0.0.1:9/hook"
    assert await api.refused("sendMessage", chat_id=9, text="x") == (
        400,
        "Bad Request: chat not found",
    )


async def test_sim_errors_are_explained(sim: SimClient) -> None:
    with pytest.raises(SimRequestError, match="has no chat"):
        await sim.tap(404, "Anything")
    with pytest.raises(SimRequestError, match="text is required"):
        await sim.send(1, "")


async def test_wait_for_wakes_on_change(api: BotApi, sim: SimClient) -> None:
    await sim.send(9, "/start")

    async def reply_soon() -> None:
        await api.ok("sendMessage", chat_id=9, text="Connected")

    waiting = asyncio.create_task(sim.wait_for_text(9, "bot: Connected"))
    await asyncio.sleep(0)
    await reply_soon()
    assert "Connected" in await asyncio.wait_for(waiting, 5)


async def test_wait_for_times_out_with_transcript(sim: SimClient) -> None:
    await sim.send(9, "/start")
    with pytest.raises(TimeoutError, match=r"\[1\] user: /start"):
        await sim.wait_for_text(9, "never", timeout=0.05)


async def test_several_bots_keep_separate_chats() -> None:
    other = BotIdentity.parse("777:OTHER")
    app = create_app(EmulatorConfig(bots=(BotIdentity.parse(TOKEN), other)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tg") as http:
        first, second = BotApi(http), BotApi(http, token=other.token)
        assert (await second.ok("getMe"))["username"] == "test777_bot"
        async with SimClient(transport=transport, bot="test777_bot") as sim:
            await sim.send(1, "to the other bot")
        assert await first.ok("getUpdates") == []
        [update] = await second.ok("getUpdates")
        assert update["message"]["text"] == "to the other bot"


@pytest.fixture
def served_with_events() -> Iterator[str]:
    sock = bound_socket()
    server: uvicorn.Server = server_for(create_app())
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    server.force_exit = True  # the event stream never ends by itself
    thread.join(timeout=10)
    sock.close()


async def test_event_stream_announces_chat_changes(served_with_events: str) -> None:
    async with (
        httpx.AsyncClient(base_url=served_with_events, timeout=10) as http,
        SimClient(served_with_events) as sim,
        http.stream("GET", "/sim/events") as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        assert await anext(lines) == "retry: 1000"
        await sim.send(12, "hello")
        async for line in lines:
            if line.startswith("data: "):
                [change] = json.loads(line.removeprefix("data: "))
                assert (change["bot"], change["user_id"]) == ("smartflex_demo_bot", 12)
                break


async def test_page_and_assets_are_served(api: BotApi) -> None:
    page = await api.http.get("/")
    assert page.status_code == 200 and '<script src="/static/app.js">' in page.text
    for asset in ("/static/app.js", "/static/style.css"):
        assert (await api.http.get(asset)).status_code == 200
