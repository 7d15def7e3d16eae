"""Hand-off links with an intent, and a wait that runs past the notifier's bound."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from dialogs.events import ReAuthenticate, Resume
from harness.deployment import InProcessDeployment, in_process_deployment
from tests.bot.inproc.conftest import ACCOUNT, USER

SECOND_USER = 2002


async def reach_waiting(d: InProcessDeployment) -> None:
    await d.user_taps(USER, "Heat pump")
    await d.user_taps(USER, "Daikin")
    await d.sign_in(USER, "Sign in")


async def test_a_wait_past_the_bound_stops_with_what_to_do_and_a_reference(
    started: InProcessDeployment,
) -> None:
    d = started
    await reach_waiting(d)
    last_try = d.runtime.watches.policy.max_tries()
    assert await d.notifier_look(USER, attempt=last_try) == "overdue"

    newest = (await d.sim.transcript(USER))[-1]
    assert "taking much longer than usual" in newest.text
    assert "SF-" in newest.text  # the support reference to quote
    active = await d.runtime.redis.client.hgetall(d.runtime.keys.active_watches())  # type: ignore[misc]
    assert active == {}  # nothing keeps polling a wait we gave up on


async def test_a_reauthentication_link_opens_the_providers_sign_in(
    started: InProcessDeployment,
) -> None:
    d = started
    await reach_waiting(d)
    d.advance(d.sandbox.config.delays.wait_for_live_integration)
    assert await d.notifier_look(USER, attempt=2) == "changed"
    (device,) = await d.runtime.kraken.devices(ACCOUNT)

    issued = await d.runtime.handoff.issue(ACCOUNT, 1, ReAuthenticate(device.id))
    await d.user_says(SECOND_USER, f"/start {issued.token}", first_name="Cy")
    newest = (await d.sim.transcript(SECOND_USER))[-1]
    assert any("Sign in" in label for label in newest.labels)
    conv = await d.runtime.turns.peek(SECOND_USER)
    assert conv is not None and conv.state == "signing_in" and conv.account_number == ACCOUNT


async def test_a_resume_link_opens_that_wizard_where_it_stands(
    started: InProcessDeployment,
) -> None:
    d = started
    await d.user_taps(USER, "Heat pump")  # USER's wizard now asks for the make
    conv = await d.runtime.turns.peek(USER)
    assert conv is not None and conv.wizard_id is not None

    issued = await d.runtime.handoff.issue(ACCOUNT, 1, Resume(conv.wizard_id))
    await d.user_says(SECOND_USER, f"/start {issued.token}", first_name="Cy")
    newest = (await d.sim.transcript(SECOND_USER))[-1]
    assert "Daikin" in newest.labels
    resumed = await d.runtime.turns.peek(SECOND_USER)
    assert resumed is not None and resumed.wizard_id == conv.wizard_id


async def test_a_lost_conversation_is_rebuilt_from_kraken_on_the_next_tap(
    started: InProcessDeployment,
) -> None:
    d = started
    await d.user_taps(USER, "Heat pump")
    before = await d.runtime.turns.peek(USER)
    assert before is not None
    await d.runtime.store.delete(USER)  # expired after weeks of silence, or Redis was flushed

    await d.user_taps(USER, "Daikin")  # a button from before the loss
    newest = (await d.sim.transcript(USER))[-1]
    assert "Welcome back" in newest.text
    rebuilt = await d.runtime.turns.peek(USER)
    assert rebuilt is not None and rebuilt.wizard_id == before.wizard_id
    assert rebuilt.account_number == ACCOUNT

    await d.user_taps(USER, "Pick up where I left off")
    assert "Daikin" in (await d.sim.transcript(USER))[-1].labels


async def test_telegram_failing_after_a_sign_in_loses_neither_the_step_nor_the_watch(
    started: InProcessDeployment,
) -> None:
    d = started
    await d.user_taps(USER, "Heat pump")
    await d.user_taps(USER, "Daikin")
    await d.sim.fault("sendMessage", error_code=500, times=20)  # Telegram is down for a while
    page = await d.sign_in(USER, "Sign in")

    assert page.status_code == 200 and "signed in" in page.text  # the browser still hears it
    conv = await d.runtime.turns.peek(USER)
    assert conv is not None and conv.state == "waiting"  # what Kraken did was kept
    active = await d.runtime.redis.client.hgetall(d.runtime.keys.active_watches())  # type: ignore[misc]
    assert active == {f"{USER}|{conv.wizard_id}".encode(): (conv.step_id or "").encode()}


async def test_news_the_notifier_could_not_deliver_is_told_on_a_later_look_once(
    started: InProcessDeployment,
) -> None:
    d = started
    await reach_waiting(d)
    d.advance(d.sandbox.config.delays.wait_for_live_integration)
    await d.sim.fault("sendMessage", error_code=502, times=1)

    retry_in = await d.notifier_look(USER, attempt=2)
    assert retry_in == d.runtime.watches.policy.delay(2)  # looks again later...
    conv = await d.runtime.turns.peek(USER)
    assert conv is not None and conv.state == "waiting"  # ...with the news still untold

    assert await d.notifier_look(USER, attempt=3) == "changed"
    told = [m for m in await d.sim.transcript(USER) if "is connected" in m.text]
    assert len(told) == 1


async def test_with_the_request_budget_spent_the_notifier_waits_and_the_customer_does_not(
    redis_url: str, redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One request an hour: the bucket never has room above the customers' reserve, so every
    notifier look is put off (nothing sent to Kraken) while the customer's taps all go."""
    monkeypatch.setenv("KRAKEN_REQUESTS_PER_HOUR", "1")
    async with in_process_deployment(redis_url, accounts=(ACCOUNT,)) as d:
        token = await d.handoff_token(ACCOUNT)
        await d.user_says(USER, f"/start {token}", first_name="Ann", language_code="en")
        await reach_waiting(d)  # the customer's own requests: none put off
        d.advance(d.sandbox.config.delays.wait_for_live_integration)
        before = len(await d.sim.transcript(USER))

        delay = await d.notifier_look(USER, attempt=2)

        assert isinstance(delay, float) and delay > 0  # comes back when the budget says
        assert (
            d.runtime.metrics.registry.get_sample_value("kraken_budget_deferred_looks_total") == 1
        )
        assert len(await d.sim.transcript(USER)) == before  # nothing told: nothing was asked
        await d.user_taps(USER, "Check now")  # the customer's own request goes at once
        assert "is connected!" in (await d.sim.transcript(USER))[-1].text
