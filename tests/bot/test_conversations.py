from __future__ import annotations

import json
from datetime import timedelta

import pytest
import redis.asyncio as aioredis

from bench.memory import conversation_bytes
from bot.state import (
    ConversationStore,
    KeySpace,
    StaleWrite,
    UnsupportedVersion,
)
from bot.state.conversations import OpenChats
from tests.bot.conftest import FakeClock

CHAT = 4242
DATA = {"account": "A-SANDBOX1", "state": "choose_device", "steps": [], "locale": "de"}


@pytest.fixture
def store(redis_client: aioredis.Redis, clock: FakeClock) -> ConversationStore:
    return ConversationStore(redis_client, clock=clock)


async def test_round_trip_keeps_data_and_writes_the_envelope(
    store: ConversationStore, redis_client: aioredis.Redis, clock: FakeClock
) -> None:
    assert await store.load(CHAT) is None
    saved = await store.save(CHAT, DATA, expected_rev=0)
    loaded = await store.load(CHAT)
    assert loaded == saved
    assert loaded is not None
    assert (loaded.rev, loaded.version, loaded.data) == (1, 1, DATA)
    raw = json.loads(await redis_client.get("sfa:conv:4242"))
    assert raw == {"v": 1, "rev": 1, "data": DATA, "updated": clock.now}


async def test_ttl_is_set_and_refreshed_on_save(
    store: ConversationStore, redis_client: aioredis.Redis
) -> None:
    await store.save(CHAT, DATA, expected_rev=0)
    thirty_days_ms = 30 * 86400 * 1000
    assert thirty_days_ms - 60_000 < await redis_client.pttl("sfa:conv:4242") <= thirty_days_ms
    await redis_client.pexpire("sfa:conv:4242", 5_000)
    await store.save(CHAT, DATA, expected_rev=1)
    assert await redis_client.pttl("sfa:conv:4242") > thirty_days_ms - 60_000


async def test_stale_writer_is_rejected_and_does_not_clobber(store: ConversationStore) -> None:
    await store.save(CHAT, DATA, expected_rev=0)
    first = await store.load(CHAT)
    second = await store.load(CHAT)
    assert first is not None and second is not None
    await store.save(CHAT, {**first.data, "state": "from_worker_a"}, expected_rev=first.rev)
    with pytest.raises(StaleWrite) as caught:
        await store.save(CHAT, {**second.data, "state": "from_worker_b"}, expected_rev=second.rev)
    assert caught.value.actual_rev == 2
    current = await store.load(CHAT)
    assert current is not None and (current.rev, current.data["state"]) == (2, "from_worker_a")


async def test_creating_an_existing_conversation_is_a_stale_write(store: ConversationStore) -> None:
    await store.save(CHAT, DATA, expected_rev=0)
    with pytest.raises(StaleWrite):
        await store.save(CHAT, DATA, expected_rev=0)


async def test_delete_removes_the_conversation(store: ConversationStore) -> None:
    await store.save(CHAT, DATA, 0)
    await store.delete(CHAT)
    assert await store.load(CHAT) is None


async def test_a_short_ttl_for_strangers_overrides_the_store_s(
    store: ConversationStore, redis_client: aioredis.Redis
) -> None:
    await store.save(CHAT, DATA, 0, ttl=timedelta(hours=1))
    assert 0 < await redis_client.pttl("sfa:conv:4242") <= 3_600_000


async def test_document_from_a_newer_release_is_not_read(redis_client: aioredis.Redis) -> None:
    await ConversationStore(redis_client, schema_version=2).save(CHAT, DATA, 0)
    with pytest.raises(UnsupportedVersion):
        await ConversationStore(redis_client).load(CHAT)


async def test_memory_usage_is_reported_per_conversation(
    store: ConversationStore, redis_client: aioredis.Redis
) -> None:
    assert await conversation_bytes(redis_client, CHAT) == 0
    await store.save(CHAT, DATA, 0)
    small = await conversation_bytes(redis_client, CHAT)
    await store.save(CHAT, {**DATA, "notes": "x" * 2000}, 1)
    assert 0 < small < await conversation_bytes(redis_client, CHAT)


async def test_prefix_is_configurable(redis_client: aioredis.Redis) -> None:
    store = ConversationStore(redis_client, keys=KeySpace("other:"), ttl=timedelta(hours=1))
    await store.save(CHAT, DATA, 0)
    keys = sorted(k.decode() for k in await redis_client.keys("*"))
    assert keys == ["other:conv:4242"]


# ---------------------------------------------------------------- a chat opened for a turn

OPENED = {"account_number": "A-OPEN1", "state": "live", "locale": "en"}


async def test_opening_a_chat_reads_its_conversation_account_and_driver_at_once(
    store: ConversationStore, redis_client: aioredis.Redis
) -> None:
    """One round trip tells a turn all it checks before acting: what is stored, whose account
    it is (the binding's when the conversation is gone) and which chat drives that account."""
    keys = store.keys
    await store.save(CHAT, OPENED, expected_rev=0)
    await redis_client.set(keys.account_driver("A-OPEN1"), "777")
    await redis_client.set("extra", "asked for")
    async with store.opened(CHAT, fetch=["extra"]) as chat:
        assert chat.stored is not None and chat.stored.data == OPENED
        assert (chat.account, chat.driver, chat.fetched) == (
            "A-OPEN1",
            777,
            {"extra": b"asked for"},
        )
    await store.delete(CHAT)
    await redis_client.set(keys.binding(CHAT), json.dumps({"account": "A-BOUND", "property": 1}))
    async with store.opened(CHAT) as chat:
        assert (chat.stored, chat.account, chat.driver) == (None, "A-BOUND", None)


async def test_a_staged_save_goes_out_with_the_release_and_only_over_what_was_loaded(
    store: ConversationStore, redis_client: aioredis.Redis
) -> None:
    await store.save(CHAT, OPENED, expected_rev=0)
    async with store.opened(CHAT) as chat:
        chat.stage({**OPENED, "state": "device"}, 60_000, latest=None)
        assert (await store.load(CHAT)).data["state"] == "live"  # type: ignore[union-attr]
    saved = await store.load(CHAT)
    assert saved is not None and (saved.rev, saved.data["state"]) == (2, "device")
    # A holder whose lock lapsed while another process saved: its save is refused, loudly,
    # and the chat is free all the same.
    with pytest.raises(StaleWrite):
        async with store.opened(CHAT) as chat:
            await store.save(CHAT, {**OPENED, "state": "other"}, expected_rev=2)
            chat.stage({**OPENED, "state": "mine"}, 60_000, latest=None)
    assert (await store.load(CHAT)).data["state"] == "other"  # type: ignore[union-attr]
    assert not await store.busy(CHAT)


async def test_an_update_keeps_its_chat_open_across_turns_and_closes_it_with_its_done_mark(
    store: ConversationStore, redis_client: aioredis.Redis
) -> None:
    """The turns of one Telegram update share one load and one save; the release carries the
    update's own write (the ledger's "done") in the same round trip."""
    update = OpenChats(CHAT)
    first = await update.open(store, CHAT, timedelta(seconds=10))
    first.stage(OPENED, 60_000, latest="as the first turn left it")
    second = await update.open(store, CHAT, timedelta(seconds=10))
    assert second is first and second.latest == "as the first turn left it"
    assert await store.busy(CHAT) and await store.load(CHAT) is None  # nothing written yet
    assert await update.close(lambda pipe: pipe.set("update-done", "1"))
    assert (await store.load(CHAT)).data == OPENED  # type: ignore[union-attr]
    assert await redis_client.get("update-done") == b"1" and not await store.busy(CHAT)
    assert not update.holds(CHAT)  # closed: later turns take the lock on their own
    assert not await OpenChats(CHAT).close()  # never opened: the caller writes on its own


async def test_a_conversation_this_process_saved_comes_back_as_built_not_revalidated(
    store: ConversationStore, redis_client: aioredis.Redis, clock: FakeClock
) -> None:
    built = object()  # what the turn made of the conversation
    async with store.opened(CHAT) as chat:
        chat.stage(OPENED, 60_000, latest=built)
    async with store.opened(CHAT) as chat:
        assert chat.latest is built
    clock.now += 1
    other_process = ConversationStore(redis_client, clock=clock)
    await other_process.save(CHAT, {**OPENED, "state": "device"}, expected_rev=1)
    async with store.opened(CHAT) as chat:
        assert chat.latest is None  # someone else's save: read (and validated) afresh
        assert chat.stored is not None and chat.stored.data["state"] == "device"
