"""`python -m bench.voice [--count N] [--snr 15 --snr 10] [--show-misses]`.

Speaks real screen labels of the heat-pump and Tesla journeys (see bench/voice/corpus.py),
encodes them as Telegram voice notes, and runs each through the same code the bot's workers
run (voice.pipeline.understand_audio: decode, find speech, recognise, match), in this process
on one core. Prints, clean and with noise: the share of notes where the right option was acted
on, where the customer would be asked to confirm or repeat, and where a wrong option was acted
on without asking; and recognition time per second of audio (p50 / p95).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bench.voice.corpus import Utterance, prompts, utterances
from voice.pipeline import Outcome, Understanding, understand_audio
from voice.sphinx import PocketSphinxRecogniser
from voice.understand import Verdict

TARGET_CLEAN = 0.97
TARGET_NOISY = 0.90
TARGET_WRONG = 0.01
TARGET_P95 = 0.5  # seconds of work per second of audio


@dataclass
class Tally:
    right: int = 0
    asked: int = 0
    wrong: int = 0
    offered_right: int = 0  # asked, and the right option was among those offered
    per_second: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.right + self.asked + self.wrong

    def share(self, count: int) -> float:
        return count / self.total if self.total else 0.0


def judge(utterance: Utterance, result: Understanding, tally: Tally) -> None:
    match = result.match
    expected = utterance.prompt.expected
    best = match.best
    if result.outcome is Outcome.UNDERSTOOD:
        tally.per_second.append(result.seconds / max(result.duration_s, 0.1))
    if match.verdict is Verdict.ACT and best is not None and best.key == expected:
        tally.right += 1
        return
    if match.verdict is Verdict.ACT:
        tally.wrong += 1
    else:
        tally.asked += 1
        if any(c.key == expected for c in match.candidates):
            tally.offered_right += 1
    offered = ", ".join(f"{c.key}:{c.score:.2f}" for c in match.candidates)
    tally.misses.append(
        f"{utterance.prompt.screen.name:>16} | said {utterance.prompt.text!r} "
        f"({utterance.voice} x{utterance.speed}) | heard {match.heard!r} | "
        f"{result.outcome.value}/{match.verdict.value} [{offered}] expected {expected}"
    )


def run(count: int, snrs: tuple[float, ...]) -> dict[float | None, Tally]:
    """Tallies per condition: None for clean notes, else the SNR in dB."""
    recogniser = PocketSphinxRecogniser()
    tallies: dict[float | None, Tally] = {snr: Tally() for snr in (None, *snrs)}
    for utterance in utterances(count, snrs):
        result = understand_audio(
            utterance.ogg, utterance.prompt.screen.expectation, recogniser, time.monotonic() + 60
        )
        judge(utterance, result, tallies[utterance.snr_db])
    return tallies


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    return float(np.percentile(values, share * 100, method="inverted_cdf"))


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def table(tallies: dict[float | None, Tally]) -> str:
    rows: list[tuple[str, str, str]] = []
    for snr, tally in tallies.items():
        name = "clean" if snr is None else f"noise {snr:g} dB SNR"
        target = TARGET_CLEAN if snr is None else TARGET_NOISY
        right, asked, wrong = (tally.share(n) for n in (tally.right, tally.asked, tally.wrong))
        p50 = percentile(tally.per_second, 0.50)
        p95 = percentile(tally.per_second, 0.95)
        rows += [
            (f"{name}: notes", f"{tally.total}", ""),
            (
                f"{name}: right option acted on",
                f"{right:.1%}",
                f">= {target:.0%}: {_verdict(right >= target)}",
            ),
            (
                f"{name}: asked to confirm/repeat",
                f"{asked:.1%}",
                f"right option offered in {tally.offered_right} of {tally.asked}",
            ),
            (
                f"{name}: wrong option without asking",
                f"{wrong:.1%}",
                f"<= {TARGET_WRONG:.0%}: {_verdict(wrong <= TARGET_WRONG)}",
            ),
            (
                f"{name}: recognition s per s of audio p50 / p95",
                f"{p50:.3f} / {p95:.3f}",
                f"p95 < {TARGET_P95}: {_verdict(p95 < TARGET_P95)}",
            ),
        ]
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    return "\n".join(f"{a:<{width}}  {b:<{value_width}}  {c}".rstrip() for a, b, c in rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.voice", description=__doc__)
    parser.add_argument(
        "--count", type=int, default=len(prompts()) * 2, help="clean notes (each prompt twice)"
    )
    parser.add_argument(
        "--snr", type=float, action="append", help="speech to noise in dB (repeatable; 15 and 10)"
    )
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    snrs = tuple(args.snr or (15.0, 10.0))
    tallies = run(max(1, args.count), snrs)
    total = sum(t.total for t in tallies.values())
    print(f"{total} voice notes: {args.count} clean, and each again with noise at {snrs} dB SNR")
    print(table(tallies))
    if args.show_misses:
        for tally in tallies.values():
            for line in tally.misses:
                print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
