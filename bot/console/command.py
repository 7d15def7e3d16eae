"""`python -m bot agents ...`: the support console's local agent accounts.

    python -m bot agents add NAME [--admin] [--password-stdin]   # asks twice without it
    python -m bot agents list
    python -m bot agents disable NAME

Needs only Redis (the bot's `REDIS_URL`, or the same `DATA_DIR` for the embedded one). Each
change is written to the console's audit log as done by `cli`.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import UTC, datetime

from bot.config import Settings
from bot.redis_conn import redis_connection
from bot.state.agents import AgentError, Agents, AuditLog
from bot.state.keys import KeySpace

EXIT_PROBLEM = 1
CLI_AGENT = "cli"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create an agent (or set a new password)")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="may read and export the audit log")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    actions.add_parser("list", help="list the agents")
    disable = actions.add_parser("disable", help="stop an agent signing in (ends their sessions)")
    disable.add_argument("name")


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != first:
        raise AgentError("the two passwords differ")
    return first


async def _run(settings: Settings, args: argparse.Namespace, password: str | None) -> int:
    keys = KeySpace(settings.redis_prefix)
    async with redis_connection(settings.redis_url, settings.data_dir) as connection:
        agents = Agents(connection.client, keys)
        audit = AuditLog(connection.client, keys)
        if args.action == "add":
            assert password is not None
            agent = await agents.add(args.name, password, admin=args.admin)
            role = "admin" if agent.admin else "agent"
            await audit.add(CLI_AGENT, "agent_added", detail=f"{agent.name} ({role})")
            print(f"{agent.name}: can sign in ({role})")
            return 0
        if args.action == "disable":
            if not await agents.disable(args.name):
                print(f"no agent named {args.name}", file=sys.stderr)
                return EXIT_PROBLEM
            await audit.add(CLI_AGENT, "agent_disabled", detail=args.name)
            print(f"{args.name}: disabled")
            return 0
        for agent in await agents.all():
            created = datetime.fromtimestamp(agent.created_ms / 1000, UTC)
            flags = ", ".join(
                flag for flag, on in (("admin", agent.admin), ("disabled", agent.disabled)) if on
            )
            print(f"{agent.name}\t{created:%Y-%m-%d}\t{flags or 'agent'}")
        return 0


def main(settings: Settings, args: argparse.Namespace) -> int:
    try:
        password = _password(args) if args.action == "add" else None
        return asyncio.run(_run(settings, args, password))
    except AgentError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_PROBLEM
