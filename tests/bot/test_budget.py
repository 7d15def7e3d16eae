"""Kraken's request budget in Redis: customers never wait on it, background work defers, every
process spends one bucket, and Kraken's own "Too many requests" backs everyone off."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis

from bot.state.budget import THROTTLE_FIRST, KrakenBudget
from bot.state.keys import KeySpace
from kraken.http import GatedTransport, RequestDeferred, RequestKind, background_requests

KEYS = KeySpace("test-budget:")
THROTTLED_BODY = {
    "errors": [
        {
            "message": "Too many requests.",
            "extensions": {"errorType": "APPLICATION", "errorCode": "KT-CT-1199"},
        }
    ]
}


def budget(redis: aioredis.Redis, per_hour: int = 600, **kwargs: float) -> KrakenBudget:
    """600 an hour: a bucket of 10 (one minute's worth), refilling one every 6 s."""
    return KrakenBudget(redis, KEYS, requests_per_hour=per_hour, **kwargs)  # type: ignore[arg-type]


async def background_grants(b: KrakenBudget, attempts: int) -> int:
    return sum([await b.take(RequestKind.BACKGROUND) == 0 for _ in range(attempts)])


@pytest.fixture
async def second_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """Another process's connection to the same Redis."""
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_background_work_stops_at_the_customers_reserve_and_is_told_when_to_come_back(
    redis_client: aioredis.Redis,
) -> None:
    b = budget(redis_client)
    granted = await background_grants(b, 20)
    assert granted == 7  # 10 in the bucket, 2.5 kept for customers
    delay = await b.take(RequestKind.BACKGROUND)
    assert 0 < delay <= 6.0  # about one refill
    assert await b.take(RequestKind.USER) == 0  # a customer still goes at once


async def test_a_customer_is_never_refused_and_borrows_from_the_background_work(
    redis_client: aioredis.Redis,
) -> None:
    b = budget(redis_client)
    assert [await b.take(RequestKind.USER) for _ in range(25)] == [0] * 25
    state = await b.state()
    assert -b.capacity <= state.tokens < -b.capacity + 1  # borrowed up to a bucket's worth
    delay = await b.take(RequestKind.BACKGROUND)
    # The notifier waits until the debt and the reserve are refilled (one token per 6 s).
    assert delay >= (b.capacity + b.reserve + 1) * 6 - 1


async def test_two_workers_share_one_bucket_and_never_exceed_it(
    redis_client: aioredis.Redis, second_client: aioredis.Redis
) -> None:
    per_hour = 3600  # a bucket of 60, refilling one a second
    one, other = budget(redis_client, per_hour), budget(second_client, per_hour)
    started = time.monotonic()
    counts = await asyncio.gather(
        *(background_grants(worker, 40) for worker in (one, other, one, other))
    )
    elapsed = time.monotonic() - started
    allowed = one.capacity - one.reserve + elapsed * per_hour / 3600
    assert sum(counts) <= allowed
    assert sum(counts) >= one.capacity - one.reserve - 1
    assert all(count > 0 for count in counts)  # both workers were served from the one bucket


async def test_kraken_saying_too_many_requests_backs_off_every_worker(
    redis_client: aioredis.Redis, second_client: aioredis.Redis
) -> None:
    sent: list[httpx.Request] = []

    def kraken(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=THROTTLED_BODY)

    this = budget(redis_client)
    gated = GatedTransport(this, httpx.MockTransport(kraken))
    async with httpx.AsyncClient(transport=gated) as client:
        answer = await client.post("http://kraken/v1/graphql/", json={"query": "{x}"})
    assert answer.json() == THROTTLED_BODY  # the caller still sees Kraken's own error

    elsewhere = budget(second_client, user_wait_cap=0.05)
    with pytest.raises(RequestDeferred) as deferred:
        await elsewhere.before_request(RequestKind.BACKGROUND)
    assert THROTTLE_FIRST.total_seconds() - 1 < deferred.value.delay <= 30
    assert (await elsewhere.state()).tokens < 1  # emptied (refilling from zero)
    # A customer waits it out only up to the cap, then asks Kraken anyway.
    started = time.monotonic()
    await elsewhere.before_request(RequestKind.USER)
    assert time.monotonic() - started < THROTTLE_FIRST.total_seconds()
    # A second refusal doubles the pause; a request that goes through resets it.
    assert await this.throttled() > THROTTLE_FIRST.total_seconds()
    await this.recovered()
    await redis_client.hset(this.key, "blocked", "0")  # type: ignore[misc]
    assert await this.throttled() <= THROTTLE_FIRST.total_seconds()


async def test_a_deferred_background_request_is_never_sent(redis_client: aioredis.Redis) -> None:
    sent: list[httpx.Request] = []

    def kraken(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"data": {"ok": True}})

    b = budget(redis_client)
    async with httpx.AsyncClient(
        transport=GatedTransport(b, httpx.MockTransport(kraken))
    ) as client:
        with background_requests():
            answered = 0
            with pytest.raises(RequestDeferred):
                for _ in range(20):
                    await client.post("http://kraken/v1/graphql/", json={"query": "{x}"})
                    answered += 1
        assert answered == len(sent) == 7
        # Outside the background block the same client is a customer's, and goes through.
        await client.post("http://kraken/v1/graphql/", json={"query": "{x}"})
    assert len(sent) == 8


async def test_customers_requests_are_spent_in_a_batch_beside_their_turns(
    redis_client: aioredis.Redis,
) -> None:
    """A tap's Kraken call costs no Redis round trip of its own: the process counts it and
    spends the batch a moment later (or when it stops), and background work sees it then."""
    b = budget(redis_client)
    for _ in range(8):
        await b.before_request(RequestKind.USER)
    assert (await b.state()).tokens == b.capacity  # not spent yet: no round trip per request
    await b.close()
    assert b.capacity - 8 <= (await b.state()).tokens < b.capacity - 7
    assert await background_grants(b, 5) == 0  # 2 left is under the customers' reserve
