"""`python -m bench.botweb`: `python -m bot web` as deployed, with two benchmark switches.

- BENCH_UNPACED=1 leaves out the bot's outbound pacer (PTB's AIORateLimiter: 30 calls a second
  per process, about one message a second per chat). The pacer is Telegram's limit, not the
  bot's cost: with it on, 64 updates in flight measure the pacer's queue. The CPU figures are
  the same either way.
- BENCH_PROFILE=<path> runs the process under cProfile, timing CPU (not wall time: a wait
  on Kraken or on a busy core is not the bot's cost), and writes the stats there on exit
  (SIGTERM ends `web` in order, so the file is complete).
"""

from __future__ import annotations

import cProfile
import os
import time
from typing import Any

import bot.runtime
from bot.cli import main


def _unpaced() -> None:
    build = bot.runtime.build_application

    def unpaced(*args: Any, **kwargs: Any) -> Any:
        kwargs["paced"] = False
        return build(*args, **kwargs)

    bot.runtime.build_application = unpaced


def run() -> int:
    if os.environ.get("BENCH_UNPACED") == "1":
        _unpaced()
    profile_path = os.environ.get("BENCH_PROFILE")
    if not profile_path:
        return main(["web"])
    profiler = cProfile.Profile(time.process_time)  # CPU, not waiting: see docs/performance.md
    try:
        return profiler.runcall(main, ["web"])
    finally:
        profiler.dump_stats(profile_path)


if __name__ == "__main__":
    raise SystemExit(run())
