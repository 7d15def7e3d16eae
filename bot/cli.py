"""`python -m bot <command>`: one entry point for the bot process, the worker and support.

Each command names the settings it cannot run without, checked before anything starts, and a
target `module:function` imported only when that command runs; `run`, `web` and `worker`
live in modules (`bot.app`, `bot.web`, `bot.worker`) assembled elsewhere, and plug in by
providing `main(settings: Settings, args: argparse.Namespace) -> int`. Lazy imports also keep
`handoff` from loading PTB's Application machinery.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from bot.config import ConfigError, Settings, load_settings
from bot.handoff import command as handoff_command
from bot.logging_setup import configure_logging

EXIT_USAGE = 2
_BOT = frozenset({"TELEGRAM_BOT_TOKEN", "KRAKEN_API_URL", "KRAKEN_API_KEY"})


class CommandMain(Protocol):
    def __call__(self, settings: Settings, args: argparse.Namespace) -> int: ...


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    target: str
    required: frozenset[str] = frozenset()
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None

    def load(self) -> CommandMain:
        module_name, _, function = self.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise  # a missing dependency inside the module is a real bug: show it
            raise CommandUnavailable(f"{self.name}: {module_name} is not installed") from None
        return cast(CommandMain, getattr(module, function))


class CommandUnavailable(Exception):
    """The command's module is absent from this installation."""


COMMANDS: tuple[Command, ...] = (
    Command("run", "polling + web server + notifier in one process", "bot.app:main", _BOT),
    Command(
        "web",
        "webhook mode web server (several may run)",
        "bot.web:main",
        _BOT | {"PUBLIC_URL", "WEBHOOK_SECRET"},
    ),
    Command("worker", "background notifier only", "bot.worker:main", _BOT),
    Command(
        "handoff",
        "check the account with Kraken and issue a single-use t.me link binding a chat to it",
        "bot.handoff.command:main",
        frozenset({"KRAKEN_API_URL", "KRAKEN_API_KEY"}),
        add_arguments=handoff_command.add_arguments,
    ),
    Command(
        "revoke-link",
        "make a hand-off link unusable (it then reads as used)",
        "bot.handoff.command:revoke_link_main",
        add_arguments=handoff_command.add_revoke_link_arguments,
    ),
    Command(
        "revoke-chat",
        "unbind a chat from its account (drops its conversation and watches)",
        "bot.handoff.command:revoke_chat_main",
        add_arguments=handoff_command.add_revoke_chat_arguments,
    ),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="The SmartFlex onboarding assistant and its tools."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for spec in COMMANDS:
        sub = commands.add_parser(spec.name, help=spec.help, description=spec.help)
        if spec.add_arguments is not None:
            spec.add_arguments(sub)
        sub.set_defaults(spec=spec)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    spec: Command = args.spec
    try:
        settings = load_settings(spec.required)
        configure_logging(settings.log_level, settings.secret_values())
        return spec.load()(settings, args)
    except (ConfigError, CommandUnavailable, handoff_command.UsageError) as exc:
        # One line, no traceback: these are operator mistakes, not bugs.
        print(exc if isinstance(exc, ConfigError) else f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
