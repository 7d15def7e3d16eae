"""`python -m bot <command>`: every command of the bot, in one place.

- `run`: polling, the web server and the notifier in one process — the simple deployment
  (and the demo): one process owns `getUpdates` (Telegram allows only one poller per
  token) and also runs the notifier, so nothing else is needed but Redis.
- `web`: webhook mode (several may run behind a balancer: updates are claimed and chats
  locked in Redis).
- `worker`: the notifier alone (the Procfile's `worker`); any number may run on one Redis.
  A Redis outage ends none of them: the notifier restarts itself with backoff.
- `handoff`, `revoke-link`, `revoke-chat`: support's tools. `handoff` checks the account
  with Kraken, then prints a summary and the link as the last line (scripts take
  `tail -n1`); exit 2 when Kraken says the link could not work (unknown account, property
  not on it), 1 when Kraken cannot be asked. The revoke commands exit 0 when something was
  revoked and 1 when there was nothing to revoke. No command prints or logs a hand-off
  token other than in the link it issues.

Each command names the settings it cannot run without, checked before anything starts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from pydantic import ValidationError
from starlette.applications import Starlette
from telegram.error import TelegramError

from bot import doctor
from bot.config import ConfigError, Settings, load_settings
from bot.console import command as agents_command
from bot.handlers import publish_commands
from bot.handoff.identity import resolve_bot_username
from bot.handoff.issuing import HandoffRefused, IssuedLink, KrakenUnavailable, issue_link
from bot.handoff.links import qr_png
from bot.handoff.request import HandoffRequest, describe_validation_error
from bot.handoff.service import HandoffMalformed, HandoffService
from bot.logging_setup import configure_logging
from bot.notifier import supervised, supervisor_for
from bot.redis_conn import redis_connection
from bot.runtime import open_runtime
from bot.state.keys import KeySpace
from bot.web import ALLOWED_UPDATES, WEBHOOK_PATH, create_web_app
from kraken.client import KrakenClient
from kraken.credentials import ApiKeyCredentials
from kraken.retry import RetryPolicy

log = logging.getLogger(__name__)

EXIT_USAGE = 2
_BOT = frozenset({"TELEGRAM_BOT_TOKEN", "KRAKEN_API_URL", "KRAKEN_API_KEY"})


# ================================================================ the bot's processes


def _polling_problem(error: TelegramError) -> None:
    """One line per failed getUpdates (PTB retries with backoff), not a traceback each time;
    a Conflict means a second poller — or a webhook — is using this bot token."""
    log.warning("getUpdates failed: %s: %s", type(error).__name__, error.message)


async def _run_polling(settings: Settings) -> None:
    async with open_runtime(settings, polling=True) as runtime:
        application = runtime.application
        assert application.updater is not None
        await application.start()
        await publish_commands(application.bot, runtime.settings.default_locale)
        await application.updater.start_polling(
            allowed_updates=ALLOWED_UPDATES, error_callback=_polling_problem
        )
        notifier = supervisor_for(runtime)
        async with supervised(notifier):
            log.info("bot running as @%s", runtime.bot_username)
            try:
                app = create_web_app(runtime, webhook=False, notifier=notifier)
                async with runtime.sweeper().running():
                    await serve(app, runtime.settings.port)
            finally:
                await application.updater.stop()
                await application.stop()
    log.info("bot stopped")


async def _run_worker(settings: Settings) -> None:
    async with open_runtime(settings, polling=False) as runtime:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with supervised(supervisor_for(runtime)) as task:
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if task.done():
                task.result()  # the supervisor itself failed: a bug; exit non-zero with it
    log.info("notifier worker stopped")


class _Server(uvicorn.Server):
    """uvicorn that returns on SIGINT/SIGTERM instead of re-raising the signal afterwards
    (uvicorn does, which would kill the process before the caller stops polling, the
    notifier and the sweeper and closes its connections)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.handle_exit, signum, None)
        try:
            yield
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)


async def serve(app: Starlette, port: int) -> None:
    """Serve until SIGINT/SIGTERM, then return so the caller can shut down in order."""
    config = uvicorn.Config(
        app, host="0.0.0.0", port=port, log_level="warning", access_log=False, lifespan="off"
    )
    await _Server(config).serve()


async def _run_web(settings: Settings) -> None:
    async with open_runtime(settings, polling=False) as runtime:
        assert settings.public_url and settings.webhook_secret
        await runtime.application.bot.set_webhook(
            url=f"{settings.public_url}{WEBHOOK_PATH}",
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=ALLOWED_UPDATES,
        )
        await runtime.application.start()
        await publish_commands(runtime.application.bot, settings.default_locale)
        try:
            async with runtime.sweeper().running():
                await serve(create_web_app(runtime, webhook=True), settings.port)
        finally:
            await runtime.application.stop()
    log.info("web server stopped")


def run_main(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(_run_polling(settings))
    return 0


def web_main(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(_run_web(settings))
    return 0


def worker_main(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(_run_worker(settings))
    return 0


# ================================================================ support's tools

_OPTION_NAMES = {"accountNumber": "--account", "propertyId": "--property", "intent": "--intent"}
# Support is waiting at a prompt: one quick retry, then say Kraken is not answering.
CHECK_RETRY = RetryPolicy(max_attempts=2, max_total=5.0)
EXIT_NOTHING_TO_REVOKE = 1
EXIT_KRAKEN_UNAVAILABLE = 1


class UsageError(Exception):
    """Bad arguments; `str()` is the one line shown to support."""


def add_handoff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", required=True, help="Kraken account number, e.g. A-1B2C3D4E")
    parser.add_argument("--property", help="property id on that account (default: 1)")
    parser.add_argument(
        "--intent", help="resume:<wizardId> to continue a wizard, reauth:<deviceId> to re-link"
    )
    parser.add_argument("--qr", type=Path, help="also write the link as a QR code PNG here")


def add_revoke_link_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "link",
        metavar="LINK_OR_TOKEN",
        help="the t.me link, or its token (put -- first for an old token starting with -)",
    )


def add_revoke_chat_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chat", type=int, required=True, help="Telegram chat id")


def parse_request(args: argparse.Namespace) -> HandoffRequest:
    try:
        return HandoffRequest.model_validate(
            {"accountNumber": args.account, "propertyId": args.property, "intent": args.intent}
        )
    except ValidationError as exc:
        raise UsageError(describe_validation_error(exc, _OPTION_NAMES)) from None


@asynccontextmanager
async def _handoff_service(settings: Settings) -> AsyncIterator[HandoffService]:
    async with redis_connection(settings.redis_url, settings.data_dir) as connection:
        yield HandoffService(
            connection.client, ttl=settings.handoff_ttl, keys=KeySpace(settings.redis_prefix)
        )


async def _issue(settings: Settings, request: HandoffRequest) -> IssuedLink:
    username = await resolve_bot_username(settings)
    assert settings.kraken_api_url and settings.kraken_api_key  # required by the command
    credentials = ApiKeyCredentials(api_key=settings.kraken_api_key)
    async with (
        KrakenClient(settings.kraken_api_url, credentials, retry=CHECK_RETRY) as kraken,
        _handoff_service(settings) as service,
    ):
        try:
            return await issue_link(service, username, request, kraken)
        except HandoffRefused as refused:
            raise UsageError(str(refused)) from None


def handoff_main(settings: Settings, args: argparse.Namespace) -> int:
    request = parse_request(args)
    if settings.log_level.upper() != "DEBUG":
        # Support reads the answer, not a log of the Kraken calls behind it.
        logging.getLogger("kraken").setLevel(logging.WARNING)
    try:
        issued = asyncio.run(_issue(settings, request))
    except KrakenUnavailable as unavailable:
        print(f"error: {unavailable}", file=sys.stderr)
        return EXIT_KRAKEN_UNAVAILABLE
    print(f"account:  {request.account_number}")
    if request.property_id is not None:
        print(f"property: {request.property_id}")
    else:
        print("property: 1 (default; Kraken cannot list an account's properties)")
    if request.intent_spec is not None:
        print(f"intent:   {request.intent_spec}")
    print(f"expires:  {issued.expires_at.isoformat(timespec='seconds')} (single use)")
    if args.qr is not None:
        args.qr.write_bytes(qr_png(issued.link))
        print(f"qr code:  {args.qr}")
    print(issued.link)
    return 0


async def _revoke_link(settings: Settings, link_or_token: str) -> bool:
    async with _handoff_service(settings) as service:
        try:
            return bool(await service.revoke(link_or_token))
        except HandoffMalformed as malformed:
            raise UsageError(str(malformed)) from None


def revoke_link_main(settings: Settings, args: argparse.Namespace) -> int:
    if asyncio.run(_revoke_link(settings, args.link)):
        print("revoked: the link no longer works")
        return 0
    print("nothing to revoke: the link was already used, revoked or expired, or never issued")
    return EXIT_NOTHING_TO_REVOKE


async def _revoke_chat(settings: Settings, chat_id: int) -> str | None:
    async with _handoff_service(settings) as service:
        binding = await service.revoke_chat(chat_id)
    if binding is None:
        return None
    where = "" if binding.property_id is None else f", property {binding.property_id}"
    return f"{binding.account_number}{where}"


def revoke_chat_main(settings: Settings, args: argparse.Namespace) -> int:
    bound_to = asyncio.run(_revoke_chat(settings, args.chat))
    if bound_to is None:
        print(f"chat {args.chat} was not bound to an account; nothing to revoke")
        return EXIT_NOTHING_TO_REVOKE
    dropped = "binding, conversation and watches removed"
    print(f"chat {args.chat} was bound to account {bound_to}; {dropped}")
    return 0


# ================================================================ the command table


CommandMain = Callable[[Settings, argparse.Namespace], int]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    main: CommandMain
    required: frozenset[str] = frozenset()
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None


COMMANDS: tuple[Command, ...] = (
    Command("run", "polling + web server + notifier in one process", run_main, _BOT),
    Command(
        "web",
        "webhook mode web server (several may run)",
        web_main,
        _BOT | {"PUBLIC_URL", "WEBHOOK_SECRET"},
    ),
    Command("worker", "background notifier only", worker_main, _BOT),
    Command(
        "handoff",
        "check the account with Kraken and issue a single-use t.me link binding a chat to it",
        handoff_main,
        frozenset({"KRAKEN_API_URL", "KRAKEN_API_KEY"}),
        add_arguments=add_handoff_arguments,
    ),
    Command(
        "revoke-link",
        "make a hand-off link unusable (it then reads as used)",
        revoke_link_main,
        add_arguments=add_revoke_link_arguments,
    ),
    Command(
        "revoke-chat",
        "unbind a chat from its account (drops its conversation and watches)",
        revoke_chat_main,
        add_arguments=add_revoke_chat_arguments,
    ),
    Command(
        "agents",
        "the support console's agent accounts: add NAME [--admin], list, disable NAME",
        agents_command.main,
        add_arguments=agents_command.add_arguments,
    ),
    Command(
        "doctor",
        "check what this Kraken instance supports (and Redis, Telegram when set); "
        "exit 1 when onboarding cannot work",
        doctor.main,
        frozenset({"KRAKEN_API_URL", "KRAKEN_API_KEY"}),
        add_arguments=doctor.add_arguments,
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
        return spec.main(settings, args)
    except (ConfigError, UsageError) as exc:
        # One line, no traceback: these are operator mistakes, not bugs.
        print(exc if isinstance(exc, ConfigError) else f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
