"""`python -m bench [--users 500] [--redis-url URL] [--concurrency 1]`.

Concurrency defaults to 1: in-process, the Kraken sandbox and the Telegram emulator share the
bot's event loop, so with many updates in flight each one's time is mostly other updates'
GraphQL parsing in the sandbox; one at a time isolates what the bot itself costs.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
from pathlib import Path

from bench.echo import run_echo
from bench.onboarding import run_onboarding
from bench.report import Figures, figures, table
from bot.embedded_redis import EmbeddedRedis


async def measure(redis_url: str, users: int, concurrency: int) -> Figures:
    result = await run_onboarding(redis_url, users, concurrency)
    echo, echo_rate = await run_echo(users, concurrency)
    return figures(result, echo, echo_rate)


def run(users: int, redis_url: str | None, concurrency: int = 1) -> Figures:
    """Measure against `redis_url`, else `REDIS_URL`, else a throw-away embedded server."""
    url = redis_url or os.environ.get("REDIS_URL", "").strip()
    if url:
        return asyncio.run(measure(url, users, concurrency))
    with tempfile.TemporaryDirectory() as scratch:
        server = EmbeddedRedis(data_dir=Path(scratch), persist=False)
        server.start()
        try:
            return asyncio.run(measure(server.url, users, concurrency))
        finally:
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    print(table(run(args.users, args.redis_url, args.concurrency)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
