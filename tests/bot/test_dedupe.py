from __future__ import annotations

import redis.asyncio as aioredis

from bot.state import UpdateDeduper


async def test_first_delivery_passes_and_replays_are_dropped(
    redis_client: aioredis.Redis, other_worker: aioredis.Redis
) -> None:
    worker_a = UpdateDeduper(redis_client, bot_id=111)
    worker_b = UpdateDeduper(other_worker, bot_id=111)
    assert await worker_a.first_time(500) is True
    assert await worker_b.first_time(500) is False  # Telegram's retry hit the other worker
    assert await worker_a.first_time(500) is False
    assert await worker_a.first_time(501) is True


async def test_update_ids_of_different_bots_do_not_collide(redis_client: aioredis.Redis) -> None:
    assert await UpdateDeduper(redis_client, bot_id=111).first_time(1) is True
    assert await UpdateDeduper(redis_client, bot_id=222).first_time(1) is True


async def test_records_expire_after_a_day(redis_client: aioredis.Redis) -> None:
    await UpdateDeduper(redis_client, bot_id=111).first_time(9)
    assert 86_000 < await redis_client.ttl("sfa:upd:111:9") <= 86_400
