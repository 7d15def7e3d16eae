"""After LIVE the notifier keeps looking at the devices: news arrives by itself, once each —
through the real bot, the Telegram emulator and the Kraken sandbox's outside-world hooks."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from arq import Retry
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.alerts import DeviceAlerts, adopt_bound_chats
from bot.state.alerts import AlertLedger
from harness.deployment import KRAKEN_BASE, InProcessDeployment
from kraken.http import RequestDeferred, RequestKind, request_kind
from tests.bot.inproc.conftest import ACCOUNT, USER
from tests.bot.inproc.test_live_message import choose

NEWS = "News about your devices"
SIGN_IN_AGAIN = "Sign in again"


async def outside(d: InProcessDeployment, hook: str, body: dict[str, Any] | None = None) -> None:
    """What happens to the newest device outside the chat (the sandbox's hooks)."""
    answer = await d.browser.post(f"{KRAKEN_BASE}/sandbox/devices/latest/{hook}", json=body or {})
    assert answer.status_code == 200, answer.text


async def bot_texts(d: InProcessDeployment) -> list[str]:
    return [m.text for m in await d.sim.transcript(USER) if m.sender == "bot"]


async def told(d: InProcessDeployment, needle: str) -> int:
    return sum(needle in text for text in await bot_texts(d))


async def tesla_is_live(d: InProcessDeployment) -> None:
    await choose(d, "Electric car or charger", "Tesla", "Model 3", "No smart charger")
    await d.sign_in(USER, "Sign in")
    await d.user_taps(USER, "I've added the key")
    await d.user_taps(USER, "start the test")
    d.advance(3600)
    assert await d.notifier_look(USER) == "changed"
    assert "is connected" in (await bot_texts(d))[-1]


@pytest.fixture
async def live(started: InProcessDeployment) -> InProcessDeployment:
    """USER's Tesla is LIVE, and the first slow look at it found nothing to tell."""
    await tesla_is_live(started)
    assert await started.alerts_look(USER) == "nothing new"  # watched from LIVE on
    return started


async def test_a_new_device_alert_is_told_once_latest_first(live: InProcessDeployment) -> None:
    d = live
    await outside(d, "alerts", {"message": "Charger offline since 14:02"})
    d.advance(60)
    await outside(d, "alerts", {"message": "Cable <unlocked>"})
    assert await d.alerts_look(USER) == "told"
    newest = (await bot_texts(d))[-1]
    assert NEWS in newest and "/alerts off" in newest
    assert newest.index("Cable <unlocked>") < newest.index("Charger offline")

    assert await d.alerts_look(USER) == "nothing new"
    assert await d.alerts_look(USER) == "nothing new"
    assert await told(d, "Charger offline") == 1
    assert d.runtime.metrics.alerts_told.labels(kind="alert")._value.get() == 2


async def test_an_expired_sign_in_is_told_with_a_button_that_leads_back_to_live(
    live: InProcessDeployment,
) -> None:
    d = live
    await outside(d, "expire-authentication")
    assert await d.alerts_look(USER) == "told"
    assert await d.alerts_look(USER) == "nothing new"
    assert await told(d, "lost access") == 1

    await d.user_taps(USER, SIGN_IN_AGAIN)
    page = await d.sign_in(USER, "Sign in")
    assert page.status_code == 200
    d.advance(3600)
    await d.notifier_look(USER)
    assert "is connected" in (await bot_texts(d))[-1]
    devices = await d.runtime.kraken.devices(ACCOUNT, 1)
    assert [x.re_authentication_state for x in devices] == [None]
    assert await d.alerts_look(USER) == "nothing new"  # signing in again is not news


async def test_smart_control_paused_and_resumed_outside_the_chat_is_told(
    live: InProcessDeployment,
) -> None:
    d = live
    await outside(d, "suspend")
    assert await d.alerts_look(USER) == "told"
    assert "paused outside this chat" in (await bot_texts(d))[-1]
    await outside(d, "unsuspend")
    assert await d.alerts_look(USER) == "told"
    assert "turned back on outside this chat" in (await bot_texts(d))[-1]
    assert await d.alerts_look(USER) == "nothing new"


async def test_what_the_customer_changed_in_the_chat_is_not_told_back(
    live: InProcessDeployment,
) -> None:
    d = live
    await d.user_says(USER, "/devices")
    await d.user_taps(USER, "Pause smart control")
    await d.user_taps(USER, "Yes, pause")
    assert await d.alerts_look(USER) == "nothing new"
    await d.user_taps(USER, "Resume smart control")
    assert await d.alerts_look(USER) == "nothing new"
    assert await told(d, "outside this chat") == 0

    await outside(d, "suspend")  # the next change from elsewhere is news again
    assert await d.alerts_look(USER) == "told"


async def test_a_pause_from_the_card_while_a_look_reads_kraken_is_not_told_as_news(
    live: InProcessDeployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = live
    await d.user_says(USER, "/devices")
    await d.user_taps(USER, "Pause smart control")
    read = DeviceAlerts.read_devices

    async def read_then_pause(self: DeviceAlerts, account: str, prop: int | None) -> list[Any]:
        found = await read(self, account, prop)
        await d.user_taps(USER, "Yes, pause")  # the customer's turn while Kraken answered
        return found

    monkeypatch.setattr(DeviceAlerts, "read_devices", read_then_pause)
    assert await d.alerts_look(USER) == "raced"  # its reading predates the pause
    monkeypatch.undo()
    assert "Smart control is paused" in (await bot_texts(d))[-1]
    assert await d.alerts_look(USER) == "nothing new"
    assert await told(d, "outside this chat") == 0


async def test_a_device_removed_elsewhere_is_told_and_the_watch_ends(
    live: InProcessDeployment,
) -> None:
    d = live
    (device,) = await d.runtime.kraken.devices(ACCOUNT, 1)

    await d.runtime.kraken.deauthenticate_device(ACCOUNT, device.id)  # in the app, say
    assert await d.alerts_look(USER) == "told"
    newest = (await bot_texts(d))[-1]
    assert "no longer under smart control" in newest
    assert "Tesla" in newest or "Model 3" in newest
    assert await d.alerts_look(USER) == "stopped"  # nothing left to watch
    assert await d.alerts_look(USER) is None


async def test_alerts_off_stops_the_looks_and_on_brings_the_news_it_kept(
    live: InProcessDeployment,
) -> None:
    d = live
    await d.user_says(USER, "/alerts")
    assert "Device alerts are on" in (await bot_texts(d))[-1]
    await d.user_says(USER, "/alerts off")
    assert "Device alerts are off" in (await bot_texts(d))[-1]
    assert await d.alerts_look(USER) is None  # no look, so no Kraken call
    await d.user_says(USER, "/devices")  # a turn at the card does not turn them back on
    assert await d.alerts_look(USER) is None
    # Kept in Redis, not in the process: another process reads the same.
    assert not await AlertLedger.beside(d.runtime.store).enabled(USER)

    await outside(d, "alerts", {"message": "Charger offline"})
    await d.user_says(USER, "/alerts")
    assert "/alerts on" in (await bot_texts(d))[-1]
    await d.user_says(USER, "/alerts sometimes")
    assert "/alerts on or /alerts off" in (await bot_texts(d))[-1]
    await d.user_says(USER, "/alerts on")
    assert "on again" in (await bot_texts(d))[-1]
    assert await d.alerts_look(USER) == "told"
    assert await told(d, "Charger offline") == 1


async def test_only_the_chat_that_drives_the_account_is_told(live: InProcessDeployment) -> None:
    d = live
    other = USER + 1
    token = await d.handoff_token(ACCOUNT)
    await d.user_says(other, f"/start {token}", first_name="Bo", language_code="en")
    await outside(d, "alerts", {"message": "Charger offline"})
    assert await d.alerts_look(USER) == "stopped"  # the account is driven from the other chat

    await d.user_says(other, "/devices")  # the new driver's devices are watched from here on
    assert await d.alerts_look(other) == "told"
    assert "Charger offline" in (await d.sim.transcript(other))[-1].text
    assert await told(d, "Charger offline") == 0


async def test_news_telegram_refused_is_told_at_the_next_look_once(
    live: InProcessDeployment,
) -> None:
    d = live
    await outside(d, "alerts", {"message": "Charger offline"})
    await d.sim.fault("sendMessage", error_code=502, times=1)
    assert await d.alerts_look(USER) == "undelivered"
    assert await told(d, "Charger offline") == 0
    assert await d.alerts_look(USER) == "told"
    assert await d.alerts_look(USER) == "nothing new"
    assert await told(d, "Charger offline") == 1


async def test_two_workers_looking_at_once_tell_the_news_once(live: InProcessDeployment) -> None:
    d = live
    await outside(d, "alerts", {"message": "Charger offline"})
    outcomes = await asyncio.gather(d.alerts_look(USER), d.alerts_look(USER))
    assert sorted(str(o) for o in outcomes) == ["superseded", "told"]
    assert await told(d, "Charger offline") == 1


async def test_a_look_that_loses_redis_is_retried_and_tells_the_news_then(
    live: InProcessDeployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = live
    await outside(d, "alerts", {"message": "Charger offline"})

    async def gone(self: AlertLedger, chat_id: int) -> None:
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(AlertLedger, "told", gone)
    with pytest.raises(Retry):  # arq runs the same look again after the wait policy's delay
        await d.alerts_look(USER)
    monkeypatch.undo()
    assert await told(d, "Charger offline") == 0
    assert await d.alerts_look(USER) == "told"
    assert await told(d, "Charger offline") == 1


async def test_a_look_is_background_work_the_request_budget_may_put_off(
    live: InProcessDeployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = live
    kinds: list[RequestKind] = []

    async def no_room(self: DeviceAlerts, account: str, prop: int | None) -> list[Any]:
        kinds.append(request_kind.get())
        raise RequestDeferred(120.0)

    monkeypatch.setattr(DeviceAlerts, "read_devices", no_room)
    assert await d.alerts_look(USER) == "deferred"
    assert kinds == [RequestKind.BACKGROUND]
    token = await d.runtime.watches.device_watch_token(USER)
    assert token is not None
    job = d.runtime.keys.device_watch_job(USER, token)
    due_ms = await d.runtime.redis.client.zscore(d.runtime.keys.job_queue(), job)
    assert due_ms is not None
    assert 100 < due_ms / 1000 - time.time() <= 120  # when the budget said, not in 30 minutes
    monkeypatch.undo()
    assert await d.alerts_look(USER) == "nothing new"


async def test_a_restarted_worker_re_arms_the_looks_lost_from_the_queue(
    started: InProcessDeployment,
) -> None:
    d = started
    await tesla_is_live(d)
    runtime = d.runtime
    token = await runtime.watches.device_watch_token(USER)
    assert token is not None
    job = runtime.keys.device_watch_job(USER, token)
    queue = runtime.keys.job_queue()
    assert await runtime.redis.client.zscore(queue, job) is not None

    # Lost, as after a Redis restart from a snapshot older than the job:
    await runtime.redis.client.zrem(queue, job)
    await runtime.redis.client.delete(f"arq:job:{job}")
    assert await runtime.watches.rearm() >= 1
    assert await runtime.redis.client.zscore(queue, job) is not None
    assert await runtime.watches.rearm() >= 1  # again: still the one job
    queued = await runtime.redis.client.zrange(queue, 0, -1)
    assert [j for j in queued if b":alerts:look:" in j] == [job.encode()]


async def test_chats_bound_before_alerts_existed_are_adopted_once(
    live: InProcessDeployment,
) -> None:
    d = live
    runtime = d.runtime
    await runtime.watches.forget_devices(USER)  # as in a deployment from before alerts
    await runtime.redis.client.delete(runtime.keys.alerts_adopted())
    assert await d.alerts_look(USER) is None

    assert await adopt_bound_chats(runtime.turns) == 1
    assert await d.alerts_look(USER) == "nothing new"
    await runtime.watches.forget_devices(USER)
    assert await adopt_bound_chats(runtime.turns) == 0  # once per deployment


async def test_a_bound_chat_without_a_live_device_is_looked_at_once_then_left_alone(
    started: InProcessDeployment,
) -> None:
    d = started  # bound, choosing what to connect: nothing is under smart control
    await d.runtime.redis.client.delete(d.runtime.keys.alerts_adopted())
    assert await adopt_bound_chats(d.runtime.turns) == 1
    assert await d.alerts_look(USER) == "stopped"
    assert await d.alerts_look(USER) is None
