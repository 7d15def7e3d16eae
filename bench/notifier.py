"""`python -m bench.notifier [--waits 1000] [--wait live-integration|test-charge]
[--time-scale 1] [--workers 1] [--deadline S]`: many customers waiting on Kraken at once, and
what the notifier does about it.

Every customer is taken through the webhook to the sign-in button (as `python -m bench` does),
then all sign in as fast as the browser can. `live-integration` (a heat pump): each enters a
WaitForLiveIntegration, which the sandbox resolves 60 s × time-scale later. `test-charge` (a
Tesla): each then adds the virtual key and starts the test charge, which the sandbox ends
7 min × time-scale later, followed by a 30 s × time-scale WaitForTransition before LIVE. The
notifier — `python -m bot worker` processes with the production schedule (WATCH_FIRST_DELAY
3 s, WATCH_MAX_DELAY 60 s, TEST_CHARGE_SECONDS 420 s) and the default Kraken request budget
(KRAKEN_REQUESTS_PER_HOUR 10,000), all scaled with the sandbox's clock — looks until each wait
is over and tells the customer. Reported:

- lag from Kraken's transition to the customer's message: for a test charge, both its end
  (the first look's job) and LIVE after the wait that follows it;
- Kraken wizard reads by the notifier per onboarding;
- Kraken requests per hour while the waits run (the notifier's, and everyone's), in the
  sandbox's hours, against the budget (the customers' own requests are never held back, so
  everyone's may pass it; the notifier's may not);
- Redis memory the waits hold once all are scheduled (arq's jobs, its queue, the registry);
- the notifier's CPU per Kraken look (its processes' /proc time over their wizard reads; the
  runs that only redraw a progress line are in the numerator).

At time-scale 1 everything is real-time and production's; `--time-scale 0.1` runs ten times
faster with ten times the budget per wall-clock hour, the same per sandbox hour.
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
from enum import StrEnum
from pathlib import Path

import httpx
import redis.asyncio as aioredis

from bench.driver import Driver
from bench.front import Chat, Front
from bench.onboarding import (
    CAR_TO_SIGN_IN,
    CAR_TO_TEST_CHARGE,
    JOURNEY,
    accounts,
    limited,
    live_chats,
    onboard,
    sign_in,
    tap_along,
    until_live,
    user_id,
)
from bench.report import percentile
from bench.stack import Stack, cpu_delta, running
from bot.embedded_redis import EmbeddedRedis
from bot.handoff.service import HandoffService
from bot.state.budget import DEFAULT_REQUESTS_PER_HOUR
from bot.state.conversations import ConversationStore
from bot.state.keys import KeySpace
from sandbox.kraken.config import Delays
from sandbox.telegram.client import SimClient

LOOK_OPERATION = "SmartFlexOnboardingWizards"
# Production's schedule (bot.config defaults), scaled with the sandbox's clock.
FIRST_DELAY, MAX_DELAY = 3.0, 60.0
SIGN_INS_AT_ONCE = 32


class WaitKind(StrEnum):
    LIVE_INTEGRATION = "live-integration"
    TEST_CHARGE = "test-charge"

    @property
    def seconds(self) -> float:
        """How long Kraken takes over the wait (unscaled)."""
        if self is WaitKind.TEST_CHARGE:
            return Delays().test_charge
        return Delays().wait_for_live_integration

    @property
    def then_live(self) -> float:
        """From the wait's end to LIVE (unscaled): the wait a test charge leads to."""
        return Delays().wait_for_transition if self is WaitKind.TEST_CHARGE else 0.0


@dataclass
class WaitFigures:
    waits: int
    time_scale: float
    kind: WaitKind = WaitKind.LIVE_INTEGRATION
    signed_in: int = 0
    """Customers the updates took to the wait, who then waited."""
    live: int = 0
    peak_concurrent: int = 0
    wait_phase_s: float = 0.0
    lags: list[float] = field(default_factory=list)
    """After Kraken's last transition (LIVE), wall seconds."""
    end_lags: list[float] = field(default_factory=list)
    """A test charge's: after its end, wall seconds."""
    notifier_calls: int = 0
    notifier_looks: int = 0
    all_calls: int = 0
    redis_bytes: int = 0
    notifier_cpu_s: float = 0.0

    def per_hour(self, calls: int) -> float:
        """Per sandbox hour (wall-clock rate × time-scale), as the budget is set."""
        if not self.wait_phase_s:
            return 0.0
        return calls / self.wait_phase_s * 3600 * self.time_scale


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


def notifier_settings(time_scale: float) -> dict[str, str]:
    """Production's schedule and request budget, on the sandbox's clock."""
    return {
        "WATCH_FIRST_DELAY": str(FIRST_DELAY * time_scale),
        "WATCH_MAX_DELAY": str(MAX_DELAY * time_scale),
        "TEST_CHARGE_SECONDS": str(Delays().test_charge * time_scale),
        # The budget as a deployment has it (the main bench lifts it): this is what is measured.
        "KRAKEN_REQUESTS_PER_HOUR": str(round(DEFAULT_REQUESTS_PER_HOUR / time_scale)),
    }


async def measure_waits(
    waits: int,
    time_scale: float,
    workers: int,
    redis_url: str,
    log_dir: Path,
    kind: WaitKind = WaitKind.LIVE_INTEGRATION,
    deadline: float | None = None,
) -> WaitFigures:
    """`deadline`: wall seconds after the first wait began to stop waiting for LIVE (the
    customers not told by then are counted, not timed)."""
    found = WaitFigures(waits, time_scale, kind)
    chats = [user_id(i) for i in range(waits)]
    stack = Stack(log_dir, redis_url, tuple(accounts(waits)), time_scale)
    schedule = notifier_settings(time_scale)
    keys = KeySpace(stack.prefix)
    redis = aioredis.Redis.from_url(redis_url)
    car = kind is WaitKind.TEST_CHARGE
    try:
        async with running(stack), SimClient(stack.telegram_url) as sim:
            web = await stack.start_bot("web", settings=schedule)
            names = [f"worker-{n}" for n in range(1, workers + 1)]
            for name in names:
                await stack.start_worker(name, **schedule)
            driver = Driver(stack.front, stack.webhook_secret)
            journey = await onboard(
                front=stack.front,
                sim=sim,
                driver=driver,
                handoff=HandoffService(redis, keys=keys),
                bot=web,
                chats=chats,
                in_flight=64,
                taps=CAR_TO_SIGN_IN if car else JOURNEY,
            )
            calls_before = len(stack.front.kraken_calls)
            cpu_before, started = stack.cpu(), time.perf_counter()
            began: dict[int, float] = {}  # when each wait began (Kraken's clock started)

            async def timed_sign_in(browser: httpx.AsyncClient, chat: int) -> None:
                await sign_in(stack.front, sim, browser, chat, web)
                began[chat] = time.perf_counter()

            async with httpx.AsyncClient(timeout=60.0) as browser:
                chats = journey.at_sign_in
                jobs = [functools.partial(timed_sign_in, browser, chat) for chat in chats]
                await limited(jobs, SIGN_INS_AT_ONCE)
            ended: dict[int, float] = {}
            if car:
                await tap_along(stack.front, sim, driver, web, chats, 64, CAR_TO_TEST_CHARGE)
                chats = [c for c in chats if stack.front.chats[c].button(TEST_CHARGE_SHOWS)]
                # The bot answered the start once Kraken had started the test charge.
                began = {chat: stack.front.chats[chat].last_answer_at for chat in chats}
                watching = [_told_news(stack.front, chat, ended) for chat in chats]
            found.signed_in = len(chats)
            found.redis_bytes = await waits_memory(redis, keys)
            store = ConversationStore(redis, keys=keys)
            wait = (kind.seconds + kind.then_live) * time_scale
            timeout = deadline if deadline is not None else wait * 3 + 300
            found.live = await until_live(store, chats, timeout)
            if car:
                for watch in watching:
                    watch.cancel()
            found.wait_phase_s = time.perf_counter() - started
            spent = cpu_delta(cpu_before, stack.cpu())
            found.notifier_cpu_s = sum(spent.get(name, 0.0) for name in names)
            calls = stack.front.kraken_calls[calls_before:]
            notifier = [c for c in calls if c.caller in names]
            found.all_calls = len(calls)
            found.notifier_calls = len(notifier)
            found.notifier_looks = sum(1 for c in notifier if c.operation == LOOK_OPERATION)
            live = await live_chats(store, chats)
            told = {chat: stack.front.chats[chat].last_answer_at for chat in live}
            found.lags = [told[chat] - (began[chat] + wait) for chat in live]
            end = kind.seconds * time_scale
            found.end_lags = [at - (began[chat] + end) for chat, at in ended.items()]
            found.peak_concurrent = _peak([(began[c], told.get(c, began[c] + wait)) for c in chats])
    finally:
        async for key in redis.scan_iter(match=f"*{stack.prefix}*", count=1000):
            await redis.delete(key)
        await redis.aclose()
    return found


# What the chat shows while the test charge runs; the news of its end is a new message.
TEST_CHARGE_SHOWS = CAR_TO_TEST_CHARGE[-1][1]


def _told_news(front: Front, chat: int, told: dict[int, float]) -> asyncio.Task[None]:
    """Note when the chat is first sent a message after the test charge's (its end told)."""
    running = max(front.chats[chat].messages)

    def news(shown: Chat) -> bool:
        if max(shown.messages) > running and chat not in told:
            told[chat] = shown.last_answer_at
        return chat in told

    return asyncio.create_task(front.wait(chat, news, timeout=24 * 3600))


def _spread(values: Sequence[float]) -> str:
    """p50 / p95 / max."""
    shown = [percentile(values, 0.5), percentile(values, 0.95), max(values, default=0.0)]
    return " / ".join(f"{value:.1f}" for value in shown) + " s"


def table(f: WaitFigures) -> str:
    looks, customers = max(f.notifier_looks, 1), max(f.signed_in, 1)
    budget = DEFAULT_REQUESTS_PER_HOUR
    verdict = "within" if f.per_hour(f.notifier_calls) <= budget else "EXCEEDED"
    rows = [
        ("customers waiting (peak at once)", f"{f.signed_in} of {f.waits} ({f.peak_concurrent})"),
        ("told LIVE", f"{f.live} / {f.signed_in}"),
    ]
    if f.kind is WaitKind.TEST_CHARGE:
        told = f"{len(f.end_lags)} told"
        rows.append((f"test charge's end told, p50 / p95 / max ({told})", _spread(f.end_lags)))
    rows += [
        ("LIVE told after Kraken's transition, p50 / p95 / max", _spread(f.lags)),
        ("notifier Kraken looks per onboarding", f"{f.notifier_looks / customers:.2f}"),
        (
            "Kraken requests per sandbox hour, notifier / everyone",
            f"{f.per_hour(f.notifier_calls):,.0f} / {f.per_hour(f.all_calls):,.0f}"
            f" (budget {budget:,}: notifier {verdict})",
        ),
        ("Redis memory for the waits", f"{f.redis_bytes / customers:.0f} B per wait"),
        ("notifier CPU per Kraken look", f"{f.notifier_cpu_s / looks * 1000:.1f} ms"),
        # A test charge's progress redraws are runs without a look: its CPU, not its reads.
        ("notifier CPU per onboarding", f"{f.notifier_cpu_s / customers * 1000:.0f} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    head = (
        f"python -m bench.notifier: {f.waits} {f.kind} waits of "
        f"{f.kind.seconds * f.time_scale:.0f} s (time-scale {f.time_scale}), "
        f"{f.wait_phase_s:.0f} s from the first sign-in to the last LIVE; lags are wall seconds"
    )
    return "\n".join([head, *(f"  {name:<{width}}  {value}" for name, value in rows)])


async def _run(
    waits: int,
    time_scale: float,
    workers: int,
    redis_url: str | None,
    log_dir: Path | None,
    kind: WaitKind,
    deadline: float | None,
) -> WaitFigures:
    with tempfile.TemporaryDirectory(prefix="bench-notifier-") as scratch:
        logs = log_dir or Path(scratch) / "logs"
        measure = functools.partial(
            measure_waits, waits, time_scale, workers, kind=kind, deadline=deadline
        )
        if redis_url:
            return await measure(redis_url, logs)
        server = EmbeddedRedis(data_dir=Path(scratch) / "redis", persist=False)
        server.start()
        try:
            return await measure(server.url, logs)
        finally:
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.notifier", description=__doc__)
    parser.add_argument("--waits", type=int, default=1000)
    parser.add_argument("--wait", type=WaitKind, default=WaitKind.LIVE_INTEGRATION)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--deadline", type=float, default=None, help="wall seconds to wait for LIVE at most"
    )
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--logs", type=Path, default=None, help="keep the processes' logs here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    figures = asyncio.run(
        _run(
            args.waits,
            args.time_scale,
            args.workers,
            args.redis_url,
            args.logs,
            args.wait,
            args.deadline,
        )
    )
    print(table(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
