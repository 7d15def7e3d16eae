"""Operators size and clean the bot's data by prefix; nothing may live forever."""

from __future__ import annotations

from datetime import timedelta

import redis.asyncio as aioredis

from bot.handoff import HandoffService
from bot.state import ChatLock, ConversationStore, KeySpace, UpdateLedger


async def test_every_key_is_under_the_prefix_and_expires(redis_client: aioredis.Redis) -> None:
    keys = KeySpace("tenant7:")
    store = ConversationStore(redis_client, keys=keys)
    await store.save(1, {"state": "x"}, 0)
    async with ChatLock(redis_client, keys, 1, ttl=timedelta(minutes=1)):
        ledger = UpdateLedger(redis_client, bot_id=5, keys=keys)
        await ledger.finish(await ledger.claim(10, '{"update_id": 10}'))
        await ledger.claim(11, '{"update_id": 11}')  # left unfinished: lease, body, inbox
        await HandoffService(redis_client, keys=keys).issue("A-ONE", 1, None)
    stored = [key.decode() async for key in redis_client.scan_iter("*")]
    assert len(stored) >= 7  # conv, account, wizard, lock signal, update, handoff + state
    for key in stored:
        assert key.startswith("tenant7:"), key
        assert await redis_client.pttl(key) > 0, f"{key} never expires"
