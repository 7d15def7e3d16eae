"""The update ledger and the per-chat rate, against real Redis and two "workers"."""

from __future__ import annotations

import time
from datetime import timedelta

import redis.asyncio as aioredis

from bot.state import ConversationStore, KeySpace, UpdateLedger
from bot.state.inbound import MAX_TRIES, ChatRate, ClaimResult

RAW = '{"update_id": 500}'


async def test_an_update_is_done_only_when_its_turn_has_finished(
    redis_client: aioredis.Redis, other_worker: aioredis.Redis
) -> None:
    worker_a = UpdateLedger(redis_client, bot_id=111)
    worker_b = UpdateLedger(other_worker, bot_id=111)
    claim = await worker_a.claim(500, RAW)
    assert claim.result is ClaimResult.CLAIMED and not claim.replayed
    # Telegram's retry hits the other worker while the first is still on it: dropped there.
    assert (await worker_b.claim(500, RAW)).result is ClaimResult.RUNNING
    await worker_a.finish(claim)
    assert (await worker_b.claim(500, RAW)).result is ClaimResult.DONE
    assert (await worker_a.claim(501, RAW)).result is ClaimResult.CLAIMED


async def test_an_update_whose_worker_died_is_handled_again_as_a_replay(
    redis_client: aioredis.Redis, other_worker: aioredis.Redis
) -> None:
    dying = UpdateLedger(redis_client, bot_id=111)
    survivor = UpdateLedger(other_worker, bot_id=111)
    await dying.claim(600, '{"update_id": 600}')
    assert await survivor.orphans(older_than=timedelta(0)) == []  # still leased
    await redis_client.delete(KeySpace().update_lease(111, 600))  # its lease ran out
    orphans = await survivor.orphans(older_than=timedelta(0))
    assert orphans == [(600, '{"update_id": 600}')]
    again = await survivor.claim(600)
    assert again.result is ClaimResult.CLAIMED and again.replayed
    await survivor.finish(again)
    assert await survivor.orphans(older_than=timedelta(0)) == []
    assert await survivor.pending() == 0


async def test_an_update_being_handled_is_not_an_orphan(redis_client: aioredis.Redis) -> None:
    ledger = UpdateLedger(redis_client, bot_id=111)
    claim = await ledger.claim(700, RAW)
    assert await ledger.orphans(older_than=timedelta(0)) == []
    assert await ledger.renew(claim)
    await ledger.finish(claim)
    assert not await ledger.renew(claim)


async def test_a_webhook_update_whose_process_dies_before_handling_it_is_found_again(
    redis_client: aioredis.Redis,
) -> None:
    """Received (kept and claimed before Telegram is answered), then the process died: once
    the claim's lease has lapsed, the sweeper finds the update with its body as sent."""
    ledger = UpdateLedger(redis_client, bot_id=111)
    claim = await ledger.receive(800, '{"update_id": 800}', chat_id=None)
    assert claim.result is ClaimResult.CLAIMED
    assert await ledger.orphans(older_than=timedelta(0)) == []  # still leased
    await redis_client.delete(KeySpace().update_lease(111, 800))  # the process died
    assert await ledger.orphans(older_than=timedelta(0)) == [(800, '{"update_id": 800}')]


async def test_an_update_that_keeps_killing_its_worker_is_given_up(
    redis_client: aioredis.Redis,
) -> None:
    ledger = UpdateLedger(redis_client, bot_id=111)
    lease = KeySpace().update_lease(111, 900)
    tries = []
    for _ in range(MAX_TRIES + 1):
        claim = await ledger.claim(900, RAW)
        tries.append(claim.tries)
        await redis_client.delete(lease)  # the worker died
    assert tries == list(range(1, MAX_TRIES + 2))  # the processor gives up past MAX_TRIES


async def test_update_ids_of_different_bots_do_not_collide(redis_client: aioredis.Redis) -> None:
    assert (await UpdateLedger(redis_client, bot_id=111).claim(1)).result is ClaimResult.CLAIMED
    assert (await UpdateLedger(redis_client, bot_id=222).claim(1)).result is ClaimResult.CLAIMED


async def test_done_records_expire_after_a_day(redis_client: aioredis.Redis) -> None:
    ledger = UpdateLedger(redis_client, bot_id=111)
    await ledger.finish(await ledger.claim(9))
    assert 86_000 < await redis_client.ttl("sfa:upd:111:9") <= 86_400


async def test_a_chat_over_its_rate_is_refused_and_told_once(
    redis_client: aioredis.Redis,
) -> None:
    rate = ChatRate(redis_client, KeySpace("rate-test:"), limit=3, window=timedelta(minutes=5))
    allowed = [await rate.allow(42) for _ in range(5)]
    assert allowed == [True, True, True, False, False]
    assert await rate.allow(43)  # another chat has its own window
    told = [await rate.first_notice(42, "slow", timedelta(minutes=5)) for _ in range(3)]
    assert told == [True, False, False]


async def test_a_claim_counts_its_chat_in_the_rate_and_sees_a_running_turn(
    redis_client: aioredis.Redis,
) -> None:
    """Admission in the claim's round trip: the same window as `allow`, and whether the chat's
    lock is held (a tap during a turn gets a toast, not a turn of its own)."""
    keys = KeySpace("claim-rate:")
    rate = ChatRate(redis_client, keys, limit=2, window=timedelta(minutes=5))
    ledger = UpdateLedger(redis_client, bot_id=111, keys=keys, rate=rate)

    first = await ledger.claim(1, RAW, chat_id=42)
    assert (first.sent_in_window, first.chat_busy) == (1, False)
    async with ConversationStore(redis_client, keys).lock(42):
        second = await ledger.claim(2, RAW, chat_id=42)
    assert (second.sent_in_window, second.chat_busy) == (2, True)
    assert not await rate.allow(42)  # the third update of the window, counted by `allow`
    assert (await ledger.claim(3, RAW, chat_id=42)).sent_in_window == 4
    assert (await ledger.claim(1, RAW, chat_id=42)).result is ClaimResult.RUNNING  # not counted
    assert (await ledger.claim(4, RAW)).sent_in_window is None  # no chat: nothing counted


async def test_the_processor_takes_over_the_webhooks_claim_instead_of_claiming_again(
    redis_client: aioredis.Redis,
) -> None:
    ledger = UpdateLedger(redis_client, bot_id=111)
    claim = await ledger.receive(800, RAW, chat_id=42)
    assert await ledger.received(800) == claim
    assert await ledger.received(800) is None  # taken once; a replay claims afresh
    again = await ledger.receive(800, RAW, chat_id=42)  # Telegram sent it again meanwhile
    assert again.result is ClaimResult.RUNNING
    assert await ledger.received(800) is None  # nothing to take over: the first one runs
    await ledger.finish(claim)
    assert (await ledger.receive(800, RAW, chat_id=42)).result is ClaimResult.DONE


async def test_a_webhook_claim_that_lapsed_in_the_queue_is_not_handled_twice(
    redis_client: aioredis.Redis,
) -> None:
    """An update that waited in the processor's queue longer than its lease may have been
    handed to another process by the sweeper: this one drops it."""
    ledger = UpdateLedger(redis_client, bot_id=111)
    await ledger.receive(801, RAW, chat_id=None)
    ledger.clock = lambda: time.monotonic() + ledger.lease_ms / 1000  # a lease later
    await redis_client.delete(KeySpace().update_lease(111, 801))  # lapsed; a sweeper took it
    elsewhere = await UpdateLedger(redis_client, bot_id=111).claim(801)
    assert elsewhere.result is ClaimResult.CLAIMED and elsewhere.replayed
    late = await ledger.received(801)
    assert late is not None and late.result is ClaimResult.RUNNING
