"""One benchmark run: start the processes, send the batches, collect the raw figures.

Order: customers onboard through the bot process behind the Redis counting proxy (Redis and
Kraken per update, CPU per update, bytes per conversation); the same chats then chat with a
bot process on Redis directly at 1, 16 and 64 updates in flight (latency, CPU); then with 2
and 4 such processes sharing the 64 (scaling); then the echo bot gets the same chat batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis

from bench.driver import Driver, Run
from bench.onboarding import Journey, accounts, chatter, finish_onboarding, onboard, user_id
from bench.redisproxy import read_counts
from bench.stack import Stack, cpu_delta, running
from bot.embedded_redis import EmbeddedRedis
from bot.handoff.service import HandoffService
from bot.state.conversations import ConversationStore
from bot.state.keys import KeySpace
from sandbox.telegram.client import SimClient

WEB = "web"  # the process behind the Redis counting proxy
DIRECT = "web-{}"  # processes on Redis directly, for latency and scaling


@dataclass(frozen=True)
class Options:
    users: int = 64
    levels: tuple[int, ...] = (1, 16, 64)
    processes: tuple[int, ...] = (1, 2, 4)
    rounds: int = 2
    """Messages each chat sends per latency level and per scaling run."""
    journey_in_flight: int = 16
    paced: bool = False
    profile: Path | None = None
    echo: bool = True
    redis_url: str | None = None
    time_scale: float = 0.01


@dataclass
class Sample:
    """One batch of updates sent to one set of processes."""

    run: Run
    cpu: dict[str, float]
    """CPU seconds each process spent during the batch."""
    processes: tuple[str, ...]
    """The bot processes the batch went to."""
    redis: dict[str, object] | None = None
    """The counting proxy's figures for the batch (the proxied process only)."""
    wall: float = 0.0
    """Seconds between the two CPU readings."""
    idle: dict[str, float] = field(default_factory=dict)
    """CPU seconds per second each bot process spends doing nothing (timers, sweeps)."""

    @property
    def updates(self) -> int:
        return len(self.run.latencies)

    def bot_cpu_per_update(self) -> float:
        """The bot processes' CPU per update, less what they would have spent idle."""
        spent = sum(
            max(0.0, self.cpu.get(name, 0.0) - self.idle.get(name, 0.0) * self.wall)
            for name in self.processes
        )
        return spent / self.updates if self.updates else 0.0

    def machine_cpu_per_update(self) -> float:
        return sum(self.cpu.values()) / self.updates if self.updates else 0.0


@dataclass
class Measurements:
    options: Options
    journey: Journey | None = None
    journey_sample: Sample | None = None
    chat_sample: Sample | None = None
    """LIVE chats saying something to the proxied process, one at a time (Redis figures)."""
    kraken_calls: Counter[str] = field(default_factory=Counter)
    kraken_mutations: int = 0
    chat_kraken_calls: Counter[str] = field(default_factory=Counter)
    """Kraken calls the LIVE chats' messages caused (the chat sample)."""
    levels: dict[int, Sample] = field(default_factory=dict)
    scaling: dict[int, Sample] = field(default_factory=dict)
    echo_levels: dict[int, Sample] = field(default_factory=dict)
    log_dir: Path | None = None
    idle: dict[str, float] = field(default_factory=dict)
    """Each bot process's CPU seconds per second with nothing to do."""

    @property
    def redis_bytes(self) -> float:
        if self.journey is None or not self.journey.redis_bytes:
            return 0.0
        return statistics.fmean(self.journey.redis_bytes)


IDLE_SECONDS = 2.0


async def idle_rates(stack: Stack, names: list[str]) -> dict[str, float]:
    """CPU seconds per second the named processes spend with nothing to do."""
    before, started = stack.cpu(), time.perf_counter()
    await asyncio.sleep(IDLE_SECONDS)  # measuring idleness: nothing to await but time
    spent, wall = cpu_delta(before, stack.cpu()), time.perf_counter() - started
    return {name: spent.get(name, 0.0) / wall for name in names}


class Sampler:
    def __init__(
        self,
        stack: Stack,
        processes: tuple[str, ...],
        counted: bool,
        idle: dict[str, float] | None = None,
    ) -> None:
        self._stack, self._processes, self._counted = stack, processes, counted
        self._idle = idle or {}

    @contextlib.asynccontextmanager
    async def batch(self) -> AsyncIterator[Callable[[Run], Awaitable[Sample]]]:
        if self._counted:
            await read_counts(self._stack.control_port, reset=True)
        before, started = self._stack.cpu(), time.perf_counter()

        async def done(run: Run) -> Sample:
            cpu = cpu_delta(before, self._stack.cpu())
            wall = time.perf_counter() - started
            redis = await read_counts(self._stack.control_port) if self._counted else None
            return Sample(run, cpu, self._processes, redis, wall, self._idle)

        yield done


def _merge(runs: list[Run]) -> Run:
    merged = Run()
    for run in runs:
        merged.latencies += run.latencies
        merged.seconds += run.seconds
    return merged


async def _chat_batches(
    stack: Stack,
    sim: SimClient,
    driver: Driver,
    chats: list[int],
    targets: dict[str, str],
    levels: tuple[int, ...],
    rounds: int,
    idle: dict[str, float],
) -> dict[int, Sample]:
    """A warm-up batch as large as the measured ones at the highest level (so every process
    has grown its connection pools to Redis, Kraken and Telegram), then one measured batch
    per level."""
    urls = list(targets.values())
    await driver.send(await chatter(stack.front, sim, chats, rounds), urls, max(levels))
    samples: dict[int, Sample] = {}
    for level in levels:
        updates = await chatter(stack.front, sim, chats, rounds)
        async with Sampler(stack, tuple(targets), False, idle).batch() as done:
            samples[level] = await done(await driver.send(updates, urls, level))
    return samples


async def _phases(
    found: Measurements,
    stack: Stack,
    sim: SimClient,
    redis: aioredis.Redis,
    chats: list[int],
) -> None:
    options = found.options
    driver = Driver(stack.front, stack.webhook_secret)
    proxied = await stack.start_redis_proxy()
    web = await stack.start_bot(
        WEB, redis_url=proxied, paced=options.paced, profile=options.profile
    )
    await stack.start_worker()
    found.idle.update(await idle_rates(stack, [WEB]))
    stack.front.kraken_calls.clear()

    keys = KeySpace(stack.prefix)
    sampler = Sampler(stack, (WEB,), True, found.idle)
    async with sampler.batch() as done:
        journey = await onboard(
            front=stack.front,
            sim=sim,
            driver=driver,
            handoff=HandoffService(redis, keys=keys),
            bot=web,
            chats=chats,
            in_flight=options.journey_in_flight,
        )
        found.journey_sample = await done(_merge(journey.runs))
    found.journey = journey
    store = ConversationStore(redis, keys=keys)
    await finish_onboarding(journey, front=stack.front, sim=sim, store=store, bot=web, chats=chats)
    found.kraken_calls = Counter(call.operation for call in stack.front.kraken_calls)
    found.kraken_mutations = sum(1 for c in stack.front.kraken_calls if c.mutation)
    await stack.stop("worker")

    updates = await chatter(stack.front, sim, chats, 1)
    calls_before = len(stack.front.kraken_calls)
    async with sampler.batch() as done:
        found.chat_sample = await done(await driver.send(updates, [web], 1))
    found.chat_kraken_calls = Counter(
        call.operation for call in stack.front.kraken_calls[calls_before:]
    )

    names = [DIRECT.format(n) for n in range(1, max(options.processes) + 1)]
    direct = {
        name: await stack.start_bot(name, paced=options.paced, counted=False) for name in names
    }
    found.idle.update(await idle_rates(stack, names))
    top = max(options.levels)
    found.levels = await _chat_batches(
        stack,
        sim,
        driver,
        chats,
        dict(list(direct.items())[:1]),
        options.levels,
        options.rounds,
        found.idle,
    )
    for count in options.processes:
        if count == 1 and top in found.levels:
            found.scaling[1] = found.levels[top]
            continue
        chosen = dict(list(direct.items())[:count])
        batches = await _chat_batches(
            stack, sim, driver, chats, chosen, (top,), options.rounds, found.idle
        )
        found.scaling[count] = batches[top]
    for name in [*direct, WEB]:
        await stack.stop(name)

    if options.echo:
        echo = {"echo": await stack.start_echo()}
        found.idle.update(await idle_rates(stack, ["echo"]))
        found.echo_levels = await _chat_batches(
            stack, sim, driver, chats, echo, options.levels, options.rounds, found.idle
        )


async def measure(options: Options, redis_url: str, log_dir: Path) -> Measurements:
    found = Measurements(options, log_dir=log_dir)
    chats = [user_id(i) for i in range(options.users)]
    stack = Stack(log_dir, redis_url, tuple(accounts(options.users)), options.time_scale)
    redis = aioredis.Redis.from_url(redis_url)
    try:
        async with running(stack), SimClient(stack.telegram_url) as sim:
            try:
                await _phases(found, stack, sim, redis, chats)
            except Exception:
                print(stack.logs(), file=sys.stderr)
                raise
    finally:
        with contextlib.suppress(Exception):
            async for key in redis.scan_iter(match=f"*{stack.prefix}*", count=1000):
                await redis.delete(key)
        await redis.aclose()
    return found


async def measure_with_redis(options: Options, log_dir: Path | None = None) -> Measurements:
    """Against `options.redis_url`, else a throw-away embedded server."""
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        logs = log_dir or Path(scratch) / "logs"
        if options.redis_url:
            return await measure(options, options.redis_url, logs)
        server = EmbeddedRedis(data_dir=Path(scratch) / "redis", persist=False)
        server.start()
        try:
            return await measure(options, server.url, logs)
        finally:
            server.stop()
