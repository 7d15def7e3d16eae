"""Liveness, readiness and metrics of the web app, and the webhook's body limit, against the
real runtime (real Redis, the Kraken client on the in-process sandbox)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, MutableMapping, Sequence
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from starlette.applications import Starlette

from bot.notifier import supervised, supervisor_for
from bot.redis_conn import RedisConnection
from bot.runtime import Runtime
from bot.web import MAX_UPDATE_BYTES, SECRET_HEADER, WEBHOOK_PATH, CachedCheck, create_web_app
from harness.deployment import InProcessDeployment
from scripts.processes import free_port
from tests.bot.conftest import FakeClock

SECRET = "webhook-secret-for-tests"
PATIENCE = 10.0


def pings(runtime: Runtime) -> float:
    """Kraken `Ping` operations the client has sent."""
    sample = runtime.metrics.registry.get_sample_value("kraken_calls_total", {"operation": "Ping"})
    return sample or 0.0


async def get(app: Starlette, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
        return await client.get(path)


async def gauges(app: Starlette) -> dict[str, float]:
    text = (await get(app, "/metrics")).text
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("notifier_") and not sample.name.startswith("notifier_lag")
    }


# ---------------------------------------------------------------------------- liveness


async def test_healthz_never_calls_kraken(deployment: InProcessDeployment) -> None:
    app = create_web_app(deployment.runtime, webhook=False)
    before = pings(deployment.runtime)
    answers = await asyncio.gather(*(get(app, "/healthz") for _ in range(5)))
    assert [a.status_code for a in answers] == [200] * 5
    body = answers[0].json()
    assert body["ok"] is True
    assert body["notifier"] == {"alive": 0, "oldest_due_job_seconds": 0.0}
    # What this Kraken instance supports, as detected at start-up (no secret in it).
    assert body["kraken"]["onboarding"] is True and body["kraken"]["source"]
    assert "sandbox-api-key" not in answers[0].text
    assert pings(deployment.runtime) == before


async def test_healthz_follows_this_processs_notifier(deployment: InProcessDeployment) -> None:
    runtime = deployment.runtime
    notifier = supervisor_for(runtime)
    app = create_web_app(runtime, webhook=False, notifier=notifier)
    down = await get(app, "/healthz")
    assert down.status_code == 503
    assert down.json()["notifier"]["in_process"] == "down"
    assert (await gauges(app))["notifier_up"] == 0.0

    async with supervised(notifier):
        await asyncio.wait_for(notifier.wait_up(), PATIENCE)
        up = await get(app, "/healthz")
        assert up.status_code == 200
        assert up.json()["notifier"] == {
            "in_process": "running",
            "alive": 1,
            "oldest_due_job_seconds": 0.0,
        }
        assert await gauges(app) == {
            "notifier_alive_workers": 1.0,
            "notifier_oldest_due_job_seconds": 0.0,
            "notifier_up": 1.0,
        }


async def test_a_process_without_a_notifier_exports_no_notifier_up(
    deployment: InProcessDeployment,
) -> None:
    assert "notifier_up" not in await gauges(create_web_app(deployment.runtime, webhook=False))


@pytest.fixture
async def redis_gone(deployment: InProcessDeployment) -> AsyncIterator[Runtime]:
    """The runtime, its Redis replaced by an address where nothing listens."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    dead = RedisConnection(aioredis.Redis.from_url(url), url)
    try:
        yield dataclasses.replace(deployment.runtime, redis=dead)
    finally:
        await dead.client.aclose()


async def test_redis_down_does_not_fail_liveness_but_fails_readiness(
    redis_gone: Runtime,
) -> None:
    app = create_web_app(redis_gone, webhook=False)
    health = await get(app, "/healthz")
    assert health.status_code == 200
    assert health.json()["notifier"] == {
        "alive": None,
        "oldest_due_job_seconds": None,
        "error": "ConnectionError",
    }
    ready = await get(app, "/readyz")
    assert ready.status_code == 503
    assert ready.json()["redis"] == "error: ConnectionError"
    figures = await gauges(app)
    assert figures["notifier_alive_workers"] != figures["notifier_alive_workers"]  # NaN


# ---------------------------------------------------------------------------- readiness


async def test_readyz_asks_kraken_once_however_many_ask_it(
    deployment: InProcessDeployment,
) -> None:
    app = create_web_app(deployment.runtime, webhook=False)
    before = pings(deployment.runtime)
    answers = await asyncio.gather(*(get(app, "/readyz") for _ in range(5)))
    answers.append(await get(app, "/readyz"))
    assert [a.status_code for a in answers] == [200] * 6
    assert answers[0].json() == {
        "ok": True,
        "redis": "ok",
        "kraken": "ok",
        "notifier": {"alive": 0, "oldest_due_job_seconds": 0.0, "stalled": False},
    }
    assert pings(deployment.runtime) == before + 1


async def test_readyz_fails_when_no_notifier_takes_an_overdue_job(
    deployment: InProcessDeployment, redis_client: aioredis.Redis
) -> None:
    runtime = deployment.runtime
    due_ms = (await redis_client.time())[0] * 1000 - 180_000
    await redis_client.zadd(runtime.keys.job_queue(), {"poll:W1:S1": due_ms})
    app = create_web_app(runtime, webhook=False)

    ready = await get(app, "/readyz")
    assert ready.status_code == 503
    assert ready.json()["notifier"]["stalled"] is True
    health = await get(app, "/healthz")
    assert health.status_code == 200
    assert health.json()["notifier"]["oldest_due_job_seconds"] == pytest.approx(180, abs=5)
    assert (await gauges(app))["notifier_oldest_due_job_seconds"] == pytest.approx(180, abs=5)


async def test_a_cached_check_is_reused_until_it_is_stale_failures_too(clock: FakeClock) -> None:
    results = iter(["error: KT-CT-1199", "ok"])
    calls = 0

    async def check() -> str:
        nonlocal calls
        calls += 1
        return next(results)

    cached = CachedCheck(check, ttl=10, clock=clock)
    assert await cached() == "error: KT-CT-1199"
    clock.advance(9.9)
    assert await cached() == "error: KT-CT-1199"
    assert calls == 1
    clock.advance(0.1)
    assert await cached() == "ok"
    assert calls == 2


# ---------------------------------------------------------------------------- webhook body


@dataclasses.dataclass
class Sent:
    status: int
    chunks_read: int


async def post_webhook(
    app: Starlette, chunks: Sequence[bytes], headers: dict[str, str] | None = None
) -> Sent:
    """A raw ASGI request whose body arrives in `chunks`, counting what the app reads."""
    read = 0
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal read
        if read >= len(chunks):
            return {"type": "http.disconnect"}
        read += 1
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    headers = {SECRET_HEADER: SECRET, **(headers or {})}
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": WEBHOOK_PATH,
        "raw_path": WEBHOOK_PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("bot.test", 80),
    }
    await app(scope, receive, send)
    return Sent(status, read)


@pytest.fixture
def webhook_app(deployment: InProcessDeployment) -> Starlette:
    runtime = deployment.runtime
    settings = runtime.settings.model_copy(update={"webhook_secret": SecretStr(SECRET)})
    return create_web_app(dataclasses.replace(runtime, settings=settings), webhook=True)


async def test_an_oversized_content_length_is_refused_unread(webhook_app: Starlette) -> None:
    chunks = [b"x" * MAX_UPDATE_BYTES] * 3
    sent = await post_webhook(webhook_app, chunks, {"content-length": str(3 * MAX_UPDATE_BYTES)})
    assert sent == Sent(413, 0)


async def test_a_chunked_body_is_read_no_further_than_the_limit(webhook_app: Starlette) -> None:
    chunk = 64 * 1024
    chunks = [b"x" * chunk] * (4 * MAX_UPDATE_BYTES // chunk)
    sent = await post_webhook(webhook_app, chunks, {"transfer-encoding": "chunked"})
    assert sent == Sent(413, MAX_UPDATE_BYTES // chunk + 1)


async def test_an_update_within_the_limit_is_accepted(webhook_app: Starlette) -> None:
    update = {
        "update_id": 5_000_001,
        "message": {
            "message_id": 1,
            "date": 1_800_000_000,
            "chat": {"id": 4242, "type": "private"},
            "from": {"id": 4242, "is_bot": False, "first_name": "Ann"},
            "text": "/help",
        },
    }
    body = json.dumps(update).encode()
    half = len(body) // 2
    sent = await post_webhook(webhook_app, [body[:half], body[half:]])
    assert sent == Sent(200, 2)
    assert (await post_webhook(webhook_app, [b"{not json"])).status == 400


async def test_metrics_show_what_the_kraken_instance_supports(
    deployment: InProcessDeployment,
) -> None:
    app = create_web_app(deployment.runtime, webhook=False)
    text = (await get(app, "/metrics")).text
    assert "kraken_onboarding_supported 1.0" in text
    # The sandbox still serves the deprecated test charge mutation the bot prefers.
    assert 'kraken_deprecated_field_removal_timestamp{field="Mutation.' in text
