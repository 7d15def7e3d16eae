"""Figures out of raw measurements, and the table `python -m bench` prints."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bench.calls import TOKEN_OPERATION
from bench.onboarding import OnboardingResult

TARGET_P99_MS = 20.0
TARGET_REDIS_BYTES = 4096
# Reads no journey can do without: the resumable-wizard check before starting one (a second
# chat must not open a duplicate wizard) and the notifier look that sees the device LIVE.
UNAVOIDABLE_READS = 2


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass(frozen=True)
class Figures:
    users: int
    completed: int
    updates_per_second: float
    p50_ms: float
    p99_ms: float
    bot_p50_ms: float
    bot_p99_ms: float
    echo_p50_ms: float
    echo_p99_ms: float
    echo_updates_per_second: float
    calls_per_onboarding: float
    minimum_calls: float
    waiting_looks_per_onboarding: float
    redundant_reads: dict[str, int]
    calls_by_operation: dict[str, int]
    redis_bytes: float
    lag_p50_s: float
    lag_p95_s: float


def figures(result: OnboardingResult, echo: Sequence[float], echo_rate: float) -> Figures:
    done = max(result.completed, 1)
    calls = result.calls
    mutations = sum(1 for c in calls.calls if c.mutation and c.operation != TOKEN_OPERATION)
    tokens = sum(1 for c in calls.calls if c.operation == TOKEN_OPERATION)
    notifier_reads = sum(1 for c in calls.calls if c.update_id is None and not c.mutation)
    waiting_looks = max(0, notifier_reads - result.completed - tokens)
    minimum = (mutations + tokens) / done + UNAVOIDABLE_READS
    bot_side = [
        seconds - calls.seconds_by_update.get(update_id, 0.0)
        for update_id, seconds in result.latencies.items()
    ]
    return Figures(
        users=result.users,
        completed=result.completed,
        updates_per_second=result.updates / result.handling_seconds
        if result.handling_seconds
        else 0.0,
        p50_ms=percentile(list(result.latencies.values()), 0.50) * 1000,
        p99_ms=percentile(list(result.latencies.values()), 0.99) * 1000,
        bot_p50_ms=percentile(bot_side, 0.50) * 1000,
        bot_p99_ms=percentile(bot_side, 0.99) * 1000,
        echo_p50_ms=percentile(echo, 0.50) * 1000,
        echo_p99_ms=percentile(echo, 0.99) * 1000,
        echo_updates_per_second=echo_rate,
        calls_per_onboarding=(len(calls.calls) - waiting_looks) / done,
        minimum_calls=minimum,
        waiting_looks_per_onboarding=waiting_looks / done,
        redundant_reads=dict(calls.reads_after_mutation()),
        calls_by_operation=dict(calls.by_operation()),
        redis_bytes=statistics.fmean(result.redis_bytes) if result.redis_bytes else 0.0,
        lag_p50_s=percentile(result.notifier_lags, 0.50),
        lag_p95_s=percentile(result.notifier_lags, 0.95),
    )


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def table(f: Figures) -> str:
    ratio = f.bot_p50_ms / f.echo_p50_ms if f.echo_p50_ms else 0.0
    redundant = sum(f.redundant_reads.values())
    rows = [
        ("users completing onboarding", f"{f.completed} / {f.users}", ""),
        ("updates per second", f"{f.updates_per_second:.0f}", ""),
        ("process_update p50 / p99 (with sandbox)", f"{f.p50_ms:.1f} / {f.p99_ms:.1f} ms", ""),
        ("bot-side p50 per update", f"{f.bot_p50_ms:.1f} ms", ""),
        (
            "bot-side p99 per update",
            f"{f.bot_p99_ms:.1f} ms",
            f"< {TARGET_P99_MS:.0f} ms: {_verdict(f.bot_p99_ms < TARGET_P99_MS)}",
        ),
        ("echo bot p50 / p99", f"{f.echo_p50_ms:.1f} / {f.echo_p99_ms:.1f} ms", ""),
        ("echo bot updates per second", f"{f.echo_updates_per_second:.0f}", ""),
        ("bot-side p50 ratio assistant / echo", f"{ratio:.1f}x", ""),
        (
            "Kraken calls per onboarding",
            f"{f.calls_per_onboarding:.2f} (minimum {f.minimum_calls:.2f})",
            "",
        ),
        (
            "notifier looks while waiting",
            f"{f.waiting_looks_per_onboarding:.2f} per onboarding",
            "",
        ),
        (
            "reads a mutation already answered",
            f"{redundant}",
            f"none: {_verdict(redundant == 0)}",
        ),
        (
            "Redis bytes per conversation",
            f"{f.redis_bytes:.0f} B",
            f"< {TARGET_REDIS_BYTES} B: {_verdict(f.redis_bytes < TARGET_REDIS_BYTES)}",
        ),
        ("notifier lag p50 / p95", f"{f.lag_p50_s:.2f} / {f.lag_p95_s:.2f} s", ""),
    ]
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    lines = [
        f"{name:<{width}}  {value:<{value_width}}  {target}".rstrip()
        for name, value, target in rows
    ]
    lines.append("")
    lines.append(
        "Kraken calls by operation: "
        + ", ".join(f"{op} {n}" for op, n in sorted(f.calls_by_operation.items()))
    )
    if f.redundant_reads:
        lines.append(
            "redundant reads (after the same update's mutation): "
            + ", ".join(f"{op} {n}" for op, n in sorted(f.redundant_reads.items()))
        )
    return "\n".join(lines)
