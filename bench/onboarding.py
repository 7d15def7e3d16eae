"""N simulated customers take a heat pump from hand-off link to LIVE, all in one process.

Every user does one thing per round (open the link, tap, tap, sign in), so a round is a burst
of N concurrent updates like a busy minute in production. Kraken's wait is resolved on the
sandbox clock, and the notifier's jobs are run as arq would, one look per backoff delay, so
notifier lag is what the backoff policy really gives plus the time the look takes.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import time
from dataclasses import dataclass, field
from typing import TypeVar

from bench.calls import CallLog, RecordingTransport
from bench.driver import drain
from bench.memory import conversation_bytes
from bot.updates import handle_update
from harness.deployment import InProcessDeployment, in_process_deployment

T = TypeVar("T")
JOURNEY_TAPS = ("Heat pump", "Daikin")


@dataclass
class OnboardingResult:
    users: int
    completed: int = 0
    updates: int = 0
    handling_seconds: float = 0.0
    """Wall time of the rounds that handled updates (for updates per second)."""
    latencies: dict[int, float] = field(default_factory=dict)
    """Seconds inside Application.process_update, by update id."""
    notifier_lags: list[float] = field(default_factory=list)
    redis_bytes: list[int] = field(default_factory=list)
    calls: CallLog = field(default_factory=CallLog)


# Users acting before the bot catches up; kept small enough that a backlog never outlives
# Telegram's 15 s deadline for answering a tap (the emulator enforces it).
BATCH = 100


def _batches(items: list[T]) -> list[list[T]]:
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


def accounts(users: int) -> list[str]:
    return [f"A-BENCH{i:05d}" for i in range(users)]


def user_id(index: int) -> int:
    return 100_000 + index


async def _round(d: InProcessDeployment, result: OnboardingResult, concurrency: int) -> None:
    started = time.perf_counter()
    result.updates += await drain(
        d.fetch,
        functools.partial(handle_update, d.runtime.application),
        concurrency=concurrency,
        latencies=result.latencies,
    )
    result.handling_seconds += time.perf_counter() - started


async def _gather_limited(concurrency: int, *jobs: asyncio.Future[object] | object) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(job: object) -> None:
        async with gate:
            await job  # type: ignore[misc]

    await asyncio.gather(*(one(job) for job in jobs))


async def _notify_all(d: InProcessDeployment, users: list[int], result: OnboardingResult) -> None:
    """Run every chat's notifier job at the times its backoff asks for, moving the sandbox
    clock instead of waiting; lag = first look past the wait's deadline + that look's time."""
    engine = d.sandbox.engine
    policy = d.runtime.watches.policy
    pending: dict[int, tuple[float, int, float]] = {}  # chat -> (next look, attempt, ready at)
    for chat in users:
        conv = await d.runtime.turns.peek(chat)
        assert conv is not None and conv.wizard_id is not None
        step = engine.wizards[conv.wizard_id].current
        assert step is not None and step.ready_at is not None
        pending[chat] = (step.entered_at + policy.first_delay, 1, step.ready_at)
    while pending:
        now = min(look for look, _, _ in pending.values())
        d.advance(max(0.0, now - d.sandbox.clock.now()))
        due = [chat for chat, (look, _, _) in pending.items() if look <= now]

        async def look(chat: int, now: float = now) -> None:
            _, attempt, ready_at = pending[chat]
            looked_at = d.sandbox.clock.now()  # the clock also runs on in real time
            started = time.perf_counter()
            outcome = await d.notifier_look(chat, attempt)
            if isinstance(outcome, float):
                pending[chat] = (now + outcome, attempt + 1, ready_at)
                return
            del pending[chat]
            if outcome == "changed":
                result.notifier_lags.append(looked_at - ready_at + time.perf_counter() - started)

        await asyncio.gather(*(look(chat) for chat in due))


async def run_onboarding(redis_url: str, users: int, concurrency: int) -> OnboardingResult:
    result = OnboardingResult(users)
    prefix = f"bench:{secrets.token_hex(4)}:"
    names = accounts(users)
    chats = [user_id(i) for i in range(users)]
    async with in_process_deployment(
        redis_url,
        accounts=names,
        wrap_kraken=lambda inner: RecordingTransport(inner, result.calls),
        prefix=prefix,
    ) as d:
        try:
            tokens = [await d.handoff_token(account) for account in names]
            for batch in _batches(list(zip(chats, tokens, strict=True))):
                for chat, token in batch:
                    await d.sim.send(chat, f"/start {token}", first_name="Bench")
                await _round(d, result, concurrency)
            for label in JOURNEY_TAPS:
                for chats_batch in _batches(chats):
                    for chat in chats_batch:
                        await d.sim.tap(chat, await d.button(chat, label))
                    await _round(d, result, concurrency)
            await _gather_limited(concurrency, *(d.sign_in(chat, "Sign in") for chat in chats))
            await _notify_all(d, chats, result)
            for chat in chats:
                conv = await d.runtime.turns.peek(chat)
                if conv is not None and conv.state == "live":
                    result.completed += 1
                result.redis_bytes.append(
                    await conversation_bytes(d.runtime.redis.client, chat, d.runtime.keys)
                )
        finally:
            client = d.runtime.redis.client
            async for key in client.scan_iter(match=f"*{prefix}*", count=1000):  # arq's too
                await client.delete(key)
    return result
