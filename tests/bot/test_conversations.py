from __future__ import annotations

import json
from datetime import timedelta

import pytest
import redis.asyncio as aioredis

from bot.state import (
    ConversationStore,
    KeySpace,
    StaleWrite,
    UnsupportedVersion,
    conversation_bytes,
)
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
    assert raw == {"v": 1, "rev": 1, "data": DATA, "updated": clock.now, "idx": raw["idx"]}


async def test_accepts_json_text_from_the_dialogs_layer(store: ConversationStore) -> None:
    await store.save(CHAT, json.dumps(DATA), expected_rev=0)
    loaded = await store.load(CHAT)
    assert loaded is not None and loaded.data == DATA


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


async def test_indexes_follow_the_chat_and_vanish_on_delete(store: ConversationStore) -> None:
    await store.save(CHAT, DATA, 0, account_number="A-ONE", wizard_id="W1")
    await store.save(99, DATA, 0, account_number="A-ONE")
    assert await store.chats_for_account("A-ONE") == {CHAT, 99}
    assert await store.chat_for_wizard("W1") == CHAT

    await store.save(CHAT, DATA, 1, account_number="A-TWO", wizard_id="W2")
    assert await store.chats_for_account("A-ONE") == {99}
    assert await store.chats_for_account("A-TWO") == {CHAT}
    assert await store.chat_for_wizard("W1") is None
    assert await store.chat_for_wizard("W2") == CHAT

    await store.delete(CHAT)
    assert await store.load(CHAT) is None
    assert await store.chats_for_account("A-TWO") == set()
    assert await store.chat_for_wizard("W2") is None


async def test_leaving_a_wizard_another_chat_took_over_keeps_its_entry(
    store: ConversationStore,
) -> None:
    await store.save(1, DATA, 0, wizard_id="W1")
    await store.save(2, DATA, 0, wizard_id="W1")
    await store.save(1, DATA, 1, wizard_id="W9")
    assert await store.chat_for_wizard("W1") == 2


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
    await store.save(CHAT, DATA, 0, account_number="A-ONE")
    keys = sorted(k.decode() for k in await redis_client.keys("*"))
    assert keys == ["other:account:A-ONE:chats", "other:conv:4242"]
