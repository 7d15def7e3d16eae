"""The journal records what the console shows — and nothing it must not: quiet turns leave no
entry, typed text and tap data are never kept, the funnel reads onboardings from it."""

from __future__ import annotations

import redis.asyncio as aioredis

from bot.console.views import LIVE_STEP, funnel, handoff_row, span
from bot.state.journal import FunnelEvent, Journal, LinkLog
from bot.state.keys import KeySpace
from bot.state.lock import ChatLock
from dialogs.callback_data import Action, encode
from dialogs.conversation import Conversation
from dialogs.events import Begin, Event, Help, Tap, Text
from dialogs.machine import State
from tests.bot.conftest import FakeClock

CHAT = 42


def conv(step: str | None, state: State = State.CHOOSING, **more: object) -> Conversation:
    return Conversation(
        account_number="A-ONE",
        property_id=1,
        wizard_id="W-1",
        step_id="s",
        step_type=step,
        state=state,
        **more,
    )


async def turn(journal: Journal, event: Event, c: Conversation) -> None:
    """A turn recorded as Turns records it: with the release of the chat's lock."""
    async with ChatLock(journal.redis, journal.keys, CHAT) as lock:
        journal.turn_on_release(lock, CHAT, event, c, notify=False)


async def test_a_turn_is_kept_without_what_the_customer_typed(
    redis_client: aioredis.Redis,
) -> None:
    clock = FakeClock()
    keys = KeySpace("t:")
    journal = Journal(redis_client, keys)
    links = LinkLog(redis_client, keys, clock)
    link_id = await links.issued("ab" * 32, "A-ONE", 1, None, "alice", int(clock() * 1000) + 10**6)

    await turn(journal, Begin("A-ONE", 1), conv("SelectDeviceType"))
    clock.advance(30)
    tap = Tap(encode("s", Action.CHOOSE, "abcdef12"))
    await turn(journal, tap, conv("SelectVehicleMake"))
    await turn(journal, Help(), conv("SelectVehicleMake"))  # changes nothing
    clock.advance(5)
    secret = Text("https://example.test/landing?code=SECRET-CODE")
    await turn(journal, secret, conv("SelectVehicleMake", last_error="KT-CT-4321"))

    timeline = await journal.timeline(CHAT)
    assert [entry.kind for entry in timeline] == ["answer", "tap:choose", "begin"]
    assert timeline[0].error == "KT-CT-4321" and timeline[2].opened_link == link_id
    raw = str(await redis_client.xrange(keys.journal_chat(CHAT)))
    assert "SECRET" not in raw and "abcdef12" not in raw
    now = await journal.now(CHAT)
    assert now["step"] == "SelectVehicleMake" and now["err"] == "KT-CT-4321"
    assert abs(int(now["since"]) - timeline[1].at_ms) < 1000  # the step changed at the tap
    record = await links.get(link_id)
    assert record is not None and record.chat_id == CHAT and record.issued_by == "alice"
    events = [(event.kind, event.step) async for event in journal.funnel_events(0)]
    assert events == [
        ("start", "SelectDeviceType"),
        ("step", "SelectVehicleMake"),
        ("err", "SelectVehicleMake"),
    ]
    for key in (keys.journal_chat(CHAT), keys.journal_chat_now(CHAT), keys.journal_funnel()):
        assert await redis_client.pttl(key) > 0, key


def test_the_funnel_counts_reached_stopped_time_and_errors() -> None:
    def event(at: int, wizard: str, kind: str, step: str = "", error: str = "") -> FunnelEvent:
        return FunnelEvent(at * 1000, wizard, kind, step, error)

    result = funnel(
        [
            event(0, "W-OLD", "step", "AuthFlow"),  # started before the window: left out
            event(0, "W-1", "start", "SelectDeviceType"),
            event(10, "W-1", "step", "AuthFlow"),
            event(11, "W-1", "err", "AuthFlow", "KT-CT-4321"),
            event(70, "W-1", "step", "WaitForLiveIntegration"),
            event(100, "W-1", "live"),
            event(5, "W-2", "start", "SelectDeviceType"),
            event(35, "W-2", "step", "AuthFlow"),
            event(40, "W-2", "err", "AuthFlow", "KT-CT-4321"),
            event(41, "W-2", "err", "AuthFlow", "KT-CT-1199"),
        ]
    )
    rows = {row.step: row for row in result.rows}
    assert (result.started, result.live) == (2, 1)
    assert [row.step for row in result.rows] == [
        "SelectDeviceType",
        "AuthFlow",
        "WaitForLiveIntegration",
        LIVE_STEP,
    ]
    assert (rows["AuthFlow"].reached, rows["AuthFlow"].stopped) == (2, 1)
    assert rows["SelectDeviceType"].median_seconds == 20  # 10 s and 30 s
    assert rows["WaitForLiveIntegration"].median_seconds == 30
    assert rows["AuthFlow"].errors == (("KT-CT-4321", 2), ("KT-CT-1199", 1))


def test_a_row_reads_as_one_status() -> None:
    from bot.state.journal import LinkRecord

    link = LinkRecord("L", "d", "A-ONE", 1, "", "alice", 0, 10_000)
    opened = LinkRecord("L", "d", "A-ONE", 1, "", "alice", 0, 10_000, chat_id=5, opened_ms=1)
    hour = 3_600_000
    assert handoff_row(link, "live", {}, 1, hour).status == "not_opened"
    assert handoff_row(link, "used", {}, 1, hour).status == "revoked"
    assert handoff_row(link, "expired", {}, 1, hour).status == "expired"
    waiting = handoff_row(opened, "used", {"waiting": "1", "since": "0"}, 2 * hour, hour)
    assert (waiting.status, waiting.stuck) == ("waiting", True)
    assert handoff_row(opened, "used", {"state": "live"}, 1, hour).status == "live"
    assert span(59) == "59 s" and span(3 * 3600 + 300) == "3 h 05 min"
