"""`python -m sandbox.telegram --host H --port P [--token T ...]`: serve the emulator."""

from __future__ import annotations

import argparse

import uvicorn

from sandbox.telegram.app import create_app
from sandbox.telegram.config import DEFAULT_TOKEN, BotIdentity, EmulatorConfig


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox.telegram", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="TOKEN[=username]",
        help=f"a bot token to accept (repeatable; default {DEFAULT_TOKEN})",
    )
    parser.add_argument("--rate-limits", action="store_true", help="enforce flood limits")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    specs = args.token or [DEFAULT_TOKEN]
    config = EmulatorConfig(
        bots=tuple(BotIdentity.parse(spec) for spec in specs),
        rate_limits_enabled=args.rate_limits,
    )
    # Access logs would print request paths, and those carry bot tokens.
    # Long polls and the page's event stream never end on their own: do not wait on them.
    uvicorn.run(
        create_app(config),
        host=args.host,
        port=args.port,
        access_log=False,
        timeout_graceful_shutdown=1,
    )


if __name__ == "__main__":
    main()
