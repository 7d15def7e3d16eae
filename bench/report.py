"""The table `python -m bench` prints, from a run's measurements.

CPU figures are the bot process's own (/proc): stable on a busy machine. Latencies and
updates per second are wall-clock: every process of the run (and whatever else the machine
is doing) shares its cores, so they move with the neighbours; the table says which is which.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from bench.run import Measurements, Sample

MS = 1000.0


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank]


def redis_per_update(sample: Sample | None) -> tuple[float, float]:
    """(commands, round trips) per update through the counting proxy; connection set-up
    (CLIENT SETNAME and the like) is not a turn's cost and is left out."""
    if sample is None or sample.redis is None or not sample.updates:
        return 0.0, 0.0
    commands = sample.redis.get("commands")
    assert isinstance(commands, dict)
    counted = sum(int(n) for name, n in commands.items() if name not in ("CLIENT", "HELLO"))
    trips = sample.redis.get("round_trips")
    setup = int(commands.get("CLIENT", 0))
    return counted / sample.updates, (int(str(trips)) - setup) / sample.updates


def _by_command(sample: Sample) -> str:
    commands = sample.redis.get("commands") if sample.redis else None
    if not isinstance(commands, dict) or not sample.updates:
        return "-"
    ordered = sorted(commands.items(), key=lambda kv: -int(kv[1]))
    return ", ".join(f"{name} {int(n) / sample.updates:.1f}" for name, n in ordered)


def _latency(sample: Sample) -> str:
    lat = sample.run.latencies
    return " / ".join(f"{percentile(lat, p) * MS:.0f}" for p in (0.5, 0.95, 0.99)) + " ms"


def _cpu(sample: Sample | None) -> float:
    return sample.bot_cpu_per_update() * MS if sample is not None else 0.0


def _rows(rows: list[tuple[str, str]]) -> list[str]:
    width = max(len(name) for name, _ in rows)
    return [f"  {name:<{width}}  {value}" for name, value in rows]


def table(m: Measurements) -> str:
    o = m.options
    lines = [
        f"python -m bench: {o.users} users, updates sent to the bot's webhook; "
        f"{os.cpu_count()} cores; Kraken sandbox, Telegram emulator, Redis, bot and driver "
        "each their own process.",
        "",
        "Onboarding (hand-off link to LIVE; 3 updates per customer, "
        f"{o.journey_in_flight} in flight):",
    ]
    j, js = m.journey, m.journey_sample
    if j is not None and js is not None:
        done = max(j.completed, 1)
        commands, trips = redis_per_update(js)
        calls = sum(m.kraken_calls.values())
        tokens = m.kraken_calls.get("ObtainKrakenToken", 0)
        lines += _rows(
            [
                ("customers LIVE", f"{j.completed} / {j.users}"),
                ("bot CPU per update", f"{_cpu(js):.1f} ms"),
                ("Redis commands / round trips per update", f"{commands:.1f} / {trips:.1f}"),
                (
                    "Kraken calls per onboarding",
                    f"{(calls - tokens) / done:.2f} ({m.kraken_mutations / done:.2f} mutations;"
                    f" {tokens} token fetches in all)",
                ),
                ("Redis bytes per conversation", f"{m.redis_bytes:.0f} B"),
                ("latency p50 / p95 / p99 (wall)", _latency(js)),
            ]
        )
        lines.append(
            "  Kraken calls by operation: "
            + ", ".join(f"{op} {n}" for op, n in sorted(m.kraken_calls.items()))
        )
    if m.chat_sample is not None:
        commands, trips = redis_per_update(m.chat_sample)
        per = sum(m.chat_kraken_calls.values()) / max(m.chat_sample.updates, 1)
        lines += [
            "",
            "A LIVE customer's text message (one at a time):",
            *_rows(
                [
                    ("bot CPU per update", f"{_cpu(m.chat_sample):.1f} ms"),
                    ("Redis commands / round trips per update", f"{commands:.1f} / {trips:.1f}"),
                    ("Redis commands by name per update", _by_command(m.chat_sample)),
                    (
                        "Kraken calls per message",
                        f"{per:.2f} ("
                        + ", ".join(f"{op} {n}" for op, n in sorted(m.chat_kraken_calls.items()))
                        + ")",
                    ),
                ]
            ),
        ]
    lines += ["", "LIVE customers' messages, bot vs bare PTB echo bot (same driver, same front):"]
    header = f"  {'in flight':>9}  {'bot CPU/update':>14}  {'echo CPU/update':>15}  {'ratio':>6}"
    header += f"  {'bot p50/p95/p99 (wall)':>24}  {'echo p50/p95/p99 (wall)':>24}"
    lines.append(header)
    for level, sample in m.levels.items():
        echo = m.echo_levels.get(level)
        ratio = _cpu(sample) / _cpu(echo) if echo is not None and _cpu(echo) else 0.0
        echo_cpu = f"{_cpu(echo):>12.1f} ms" if echo is not None else f"{'-':>15}"
        lines.append(
            f"  {level:>9}  {_cpu(sample):>11.1f} ms  {echo_cpu}  {ratio:>5.1f}x"
            f"  {_latency(sample):>24}  {_latency(echo) if echo else '-':>24}"
        )
    if m.scaling:
        base = m.scaling.get(1)
        top = max(o.levels)
        lines += [
            "",
            f"Scaling: web processes on one Redis, {top} in flight (updates/s is wall-clock):",
            f"  {'processes':>9}  {'updates/s':>9}  {'vs 1':>5}  {'bot CPU/update':>14}"
            f"  {'all processes CPU/update':>24}  {'ceiling on these cores':>22}",
        ]
        for count, sample in m.scaling.items():
            vs = sample.run.per_second / base.run.per_second if base and base.run.per_second else 0
            machine = sample.machine_cpu_per_update()
            ceiling = (os.cpu_count() or 1) / machine if machine else 0.0
            lines.append(
                f"  {count:>9}  {sample.run.per_second:>9.1f}  {vs:>4.2f}x"
                f"  {_cpu(sample):>11.1f} ms"
                f"  {machine * MS:>21.1f} ms  {ceiling:>16.0f} upd/s"
            )
        if base is not None:
            shares = sorted(base.cpu.items(), key=lambda kv: -kv[1])
            total = sum(base.cpu.values()) or 1.0
            lines.append(
                "  where the CPU went (1 process): "
                + ", ".join(f"{name} {100 * spent / total:.0f}%" for name, spent in shares if spent)
            )
    if m.idle:
        lines.append(
            "  idle CPU (subtracted from the per-update figures): "
            + ", ".join(f"{name} {rate * MS:.1f} ms/s" for name, rate in sorted(m.idle.items()))
        )
    return "\n".join(lines)
