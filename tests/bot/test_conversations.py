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
