"""Inline buttons from the user's side, and answerCallbackQuery's one-shot, deadline rules."""

from __future__ import annotations

import pytest

from sandbox.telegram.client import SimClient, SimRequestError
from tests.sandbox_telegram.conftest import BotApi, FakeClock

USER = 5
TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
MENU = {
    "inline_keyboard": [
        [
            {"text": "Heat pump", "callback_data": "hp"},
            {"text": "EV charger", "callback_data": "ev"},
        ],
        [{"text": "Sign in", "url": "https://auth.example.org/start"}],
    ]
}


@pytest.fixture
async def menu(api: BotApi, sim: SimClient) -> int:
    await sim.send(USER, "/menu")
    sent = await api.ok("sendMessage", chat_id=USER, text="Pick a device", reply_markup=MENU)
    message_id: int = sent["message_id"]
    return message_id


async def last_query_id(api: BotApi) -> str:
    updates = await api.ok("getUpdates")
    query_id: str = updates[-1]["callback_query"]["id"]
    return query_id


async def test_tap_creates_callback_query_with_the_message(
    api: BotApi, sim: SimClient, menu: int
) -> None:
    await sim.tap(USER, "EV charger")
    updates = await api.ok("getUpdates")
    query = updates[-1]["callback_query"]
    assert (query["data"], query["from"]["id"]) == ("ev", USER)
    assert query["message"]["message_id"] == menu and query["message"]["text"] == "Pick a device"


async def test_tap_by_data_picks_the_newest_message(api: BotApi, sim: SimClient, menu: int) -> None:
    newer = await api.ok("sendMessage", chat_id=USER, text="Again", reply_markup=MENU)
    assert (await sim.tap(USER, data="hp"))["message_id"] == newer["message_id"]
    assert (await sim.tap(USER, data="hp", message_id=menu))["message_id"] == menu


async def test_tapping_missing_or_url_buttons_is_an_error(sim: SimClient, menu: int) -> None:
    with pytest.raises(SimRequestError, match="no button 'Nope'"):
        await sim.tap(USER, "Nope")
    with pytest.raises(SimRequestError, match="has no callback_data"):
        await sim.tap(USER, "Sign in")


async def test_open_url_is_recorded(sim: SimClient, menu: int) -> None:
    assert await sim.open_url(USER, "Sign in") == "https://auth.example.org/start"
    assert "    > opened https://auth.example.org/start" in await sim.transcript_text(USER)


async def test_answer_is_shown_once(api: BotApi, sim: SimClient, menu: int) -> None:
    await sim.tap(USER, "Heat pump")
    query_id = await last_query_id(api)
    assert await api.ok(
        "answerCallbackQuery", callback_query_id=query_id, text="Saved", show_alert=True
    )
    assert await api.refused("answerCallbackQuery", callback_query_id=query_id) == (400, TOO_OLD)
    text = await sim.transcript_text(USER)
    assert "    > tapped [Heat pump]\n    < alert: Saved" in text
    events = (await sim.chat(USER))["events"]
    assert events[-1] == {
        "kind": "answer",
        "message_id": menu,
        "date": events[-1]["date"],
        "text": "Saved",
        "show_alert": True,
        "url": None,
    }


async def test_unknown_query_id_is_too_old(api: BotApi) -> None:
    assert await api.refused("answerCallbackQuery", callback_query_id="12345") == (400, TOO_OLD)


async def test_answer_after_deadline_is_too_old(
    api: BotApi, sim: SimClient, clock: FakeClock, menu: int
) -> None:
    await sim.tap(USER, "Heat pump")
    late = await last_query_id(api)
    clock.advance(15.5)
    assert await api.refused("answerCallbackQuery", callback_query_id=late) == (400, TOO_OLD)
    await sim.configure(callback_answer_deadline_s=60)
    await sim.tap(USER, "Heat pump")
    in_time = await last_query_id(api)
    clock.advance(59)
    assert await api.ok("answerCallbackQuery", callback_query_id=in_time) is True


async def test_answer_url_must_be_a_telegram_link(api: BotApi, sim: SimClient, menu: int) -> None:
    await sim.tap(USER, "Heat pump")
    query_id = await last_query_id(api)
    assert await api.refused(
        "answerCallbackQuery", callback_query_id=query_id, url="https://evil.example"
    ) == (400, "Bad Request: URL_INVALID")
    assert await api.ok(
        "answerCallbackQuery",
        callback_query_id=query_id,
        url="https://t.me/smartflex_demo_bot?start=x",
    )
