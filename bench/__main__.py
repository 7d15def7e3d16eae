"""`python -m bench`: the bot measured as it is deployed — separate processes, the webhook,
N updates in flight — next to a bare python-telegram-bot echo bot under the same driver.

The defaults take about a minute (`make bench`); `--users 256 --rounds 4` is the long run.
`--paced` keeps the bot's outbound pacer (Telegram's 30 messages a second per bot) on, which
then dominates latency at 16 and 64 in flight. `--profile FILE` writes a cProfile of the bot
process behind the Redis counting proxy (onboarding and one-at-a-time messages).
`python -m bench.notifier` measures the notifier at 1,000 and 10,000 waits.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from bench.report import table
from bench.run import Options, measure_with_redis


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(","))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--users", type=int, default=64, help="customers (and chats)")
    parser.add_argument("--rounds", type=int, default=2, help="messages per chat per batch")
    parser.add_argument("--in-flight", type=_ints, default=(1, 16, 64), help="e.g. 1,16,64")
    parser.add_argument("--processes", type=_ints, default=(1, 2, 4), help="e.g. 1,2,4")
    parser.add_argument("--paced", action="store_true", help="keep the outbound pacer on")
    parser.add_argument("--no-echo", action="store_true", help="skip the echo bot")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile output file")
    parser.add_argument("--logs", type=Path, default=None, help="keep the processes' logs here")
    parser.add_argument("--redis-url", default=None, help="default: a throw-away Redis")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    options = Options(
        users=args.users,
        levels=args.in_flight,
        processes=args.processes,
        rounds=args.rounds,
        paced=args.paced,
        profile=args.profile.resolve() if args.profile else None,
        echo=not args.no_echo,
        redis_url=args.redis_url,
    )
    print(table(asyncio.run(measure_with_redis(options, args.logs))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
