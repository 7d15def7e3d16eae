"""`python -m bench.notifier [--waits 1000] [--time-scale 1] [--workers 1]`: many customers
waiting on Kraken at once, and what the notifier does about it.

Every customer is taken through the webhook to the sign-in button (as `python -m bench` does),
then all sign in as fast as the browser can: each enters the heat pump's WaitForLiveIntegration,
which the sandbox resolves 60 s × time-scale later. The notifier — `python -m bot worker`
processes with the production schedule (WATCH_FIRST_DELAY 3 s, WATCH_MAX_DELAY 60 s, both
× time-scale) — looks until each wait is over and tells the customer. Reported:

- Kraken requests per hour while the waits run (the notifier's, and everyone's), against
  KRAKEN_REQUESTS_PER_HOUR's default;
- lag from Kraken's transition (sign-in + the wait's length) to the customer's message;
- Redis memory the waits hold once all are scheduled (arq's jobs, its queue, the registry);
- the notifier's CPU per look (its processes' /proc time over its wizard reads).

At time-scale 1 the waits are real-time and the schedule is production's, so requests per
hour need no conversion; `--time-scale 10` keeps 10,000 customers waiting at once (a 10-minute
wait) at ten times the run time.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis.asyncio as aioredis

from bench.driver import Driver
from bench.onboarding import accounts, limited, onboard, sign_in, until_live, user_id
from bench.report import percentile
from bench.stack import Stack, cpu_delta, running
from bot.embedded_redis import EmbeddedRedis
from bot.handoff.service import HandoffService
from bot.state.budget import DEFAULT_REQUESTS_PER_HOUR
from bot.state.conversations import ConversationStore
from bot.state.keys import KeySpace
from sandbox.kraken.config import Delays
from sandbox.telegram.client import SimClient

WAIT_SECONDS = Delays().wait_for_live_integration  # the heat pump's wait after sign-in
LOOK_OPERATION = "SmartFlexOnboardingWizards"
# Production's schedule (bot.config defaults), scaled with the sandbox's clock.
FIRST_DELAY, MAX_DELAY = 3.0, 60.0
SIGN_INS_AT_ONCE = 32


@dataclass
class WaitFigures:
    waits: int
    time_scale: float
    signed_in: int = 0
    """Customers the updates took to the sign-in button, who then waited."""
    live: int = 0
    peak_concurrent: int = 0
    wait_phase_s: float = 0.0
    lags: list[float] = field(default_factory=list)
    notifier_calls: int = 0
    notifier_looks: int = 0
    all_calls: int = 0
    redis_bytes: int = 0
    notifier_cpu_s: float = 0.0

    def per_hour(self, calls: int) -> float:
        return calls / self.wait_phase_s * 3600 if self.wait_phase_s else 0.0


def _peak(intervals: Sequence[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    return peak


async def waits_memory(redis: aioredis.Redis, keys: KeySpace) -> int:
    """Bytes Redis holds for the waits: arq's job per wait, its queue, the watch registry."""
    names = [keys.active_watches(), keys.job_queue()]
    names += [k async for k in redis.scan_iter(match=f"arq:job:{keys.prefix}poll:*", count=1000)]
    total = 0
    for name in names:
        total += int(await redis.memory_usage(name, samples=0) or 0)
    return total


async def measure_waits(
    waits: int, time_scale: float, workers: int, redis_url: str, log_dir: Path
) -> WaitFigures:
    found = WaitFigures(waits, time_scale)
    chats = [user_id(i) for i in range(waits)]
    stack = Stack(log_dir, redis_url, tuple(accounts(waits)), time_scale)
    schedule = {
        "WATCH_FIRST_DELAY": str(FIRST_DELAY * time_scale),
        "WATCH_MAX_DELAY": str(MAX_DELAY * time_scale),
        # The budget as a deployment has it (the main bench lifts it): this is what is measured.
        "KRAKEN_REQUESTS_PER_HOUR": str(DEFAULT_REQUESTS_PER_HOUR),
    }
    keys = KeySpace(stack.prefix)
    redis = aioredis.Redis.from_url(redis_url)
    try:
        async with running(stack), SimClient(stack.telegram_url) as sim:
            web = await stack.start_bot("web", settings=schedule)
            names = [f"worker-{n}" for n in range(1, workers + 1)]
            for name in names:
                await stack.start_worker(name, **schedule)
            journey = await onboard(
                front=stack.front,
                sim=sim,
                driver=Driver(stack.front, stack.webhook_secret),
                handoff=HandoffService(redis, keys=keys),
                bot=web,
                chats=chats,
                in_flight=64,
            )
            calls_before = len(stack.front.kraken_calls)
            cpu_before, started = stack.cpu(), time.perf_counter()
            signed_at: dict[int, float] = {}

            async def timed_sign_in(browser: httpx.AsyncClient, chat: int) -> None:
                await sign_in(stack.front, sim, browser, chat, web)
                signed_at[chat] = time.perf_counter()

            async with httpx.AsyncClient(timeout=60.0) as browser:
                chats = journey.at_sign_in
                found.signed_in = len(chats)
                jobs = [functools.partial(timed_sign_in, browser, chat) for chat in chats]
                await limited(jobs, SIGN_INS_AT_ONCE)
            found.redis_bytes = await waits_memory(redis, keys)
            store = ConversationStore(redis, keys=keys)
            found.live = await until_live(store, chats, WAIT_SECONDS * time_scale * 3 + 300)
            found.wait_phase_s = time.perf_counter() - started
            spent = cpu_delta(cpu_before, stack.cpu())
            found.notifier_cpu_s = sum(spent.get(name, 0.0) for name in names)
            calls = stack.front.kraken_calls[calls_before:]
            notifier = [c for c in calls if c.caller in names]
            found.all_calls = len(calls)
            found.notifier_calls = len(notifier)
            found.notifier_looks = sum(1 for c in notifier if c.operation == LOOK_OPERATION)
            wait = WAIT_SECONDS * time_scale
            told = {chat: stack.front.chats[chat].last_answer_at for chat in chats}
            found.lags = [told[chat] - (signed_at[chat] + wait) for chat in signed_at]
            found.peak_concurrent = _peak([(signed_at[c], told[c]) for c in signed_at])
    finally:
        async for key in redis.scan_iter(match=f"*{stack.prefix}*", count=1000):
            await redis.delete(key)
        await redis.aclose()
    return found


def table(f: WaitFigures) -> str:
    looks = max(f.notifier_looks, 1)
    budget = DEFAULT_REQUESTS_PER_HOUR
    verdict = "within" if f.per_hour(f.all_calls) <= budget else "EXCEEDED"
    rows = [
        ("customers waiting (peak at once)", f"{f.signed_in} of {f.waits} ({f.peak_concurrent})"),
        ("told LIVE", f"{f.live} / {f.signed_in}"),
        (
            "lag after Kraken's transition p50 / p95 / max (wall)",
            " / ".join(f"{percentile(f.lags, p):.1f}" for p in (0.5, 0.95)) + f" / "
            f"{max(f.lags, default=0):.1f} s",
        ),
        ("notifier looks per onboarding", f"{f.notifier_looks / max(f.signed_in, 1):.2f}"),
        (
            "Kraken requests per hour, notifier / everyone",
            f"{f.per_hour(f.notifier_calls):,.0f} / {f.per_hour(f.all_calls):,.0f}"
            f" (budget {budget:,}: {verdict})",
        ),
        ("Redis memory for the waits", f"{f.redis_bytes / max(f.signed_in, 1):.0f} B per wait"),
        ("notifier CPU per look", f"{f.notifier_cpu_s / looks * 1000:.1f} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    head = (
        f"python -m bench.notifier: {f.waits} waits of {WAIT_SECONDS * f.time_scale:.0f} s "
        f"(time-scale {f.time_scale}), {f.wait_phase_s:.0f} s from the first sign-in to the "
        "last LIVE"
    )
    return "\n".join([head, *(f"  {name:<{width}}  {value}" for name, value in rows)])


async def _run(
    waits: int, time_scale: float, workers: int, redis_url: str | None, log_dir: Path | None
) -> WaitFigures:
    with tempfile.TemporaryDirectory(prefix="bench-notifier-") as scratch:
        logs = log_dir or Path(scratch) / "logs"
        if redis_url:
            return await measure_waits(waits, time_scale, workers, redis_url, logs)
        server = EmbeddedRedis(data_dir=Path(scratch) / "redis", persist=False)
        server.start()
        try:
            return await measure_waits(waits, time_scale, workers, server.url, logs)
        finally:
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.notifier", description=__doc__)
    parser.add_argument("--waits", type=int, default=1000)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--logs", type=Path, default=None, help="keep the processes' logs here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    figures = asyncio.run(
        _run(args.waits, args.time_scale, args.workers, args.redis_url, args.logs)
    )
    print(table(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
