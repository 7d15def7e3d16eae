"""Support's commands: hand a customer over to the bot, or take a hand-over back.

- `python -m bot handoff --account A-... [--property N] [--intent ...] [--qr out.png]` checks
  the account with Kraken, then prints a short summary and the link as the last line, so
  scripts can take `tail -n1`. Exit 2 when Kraken says the link could not work (unknown
  account, property not on it), 1 when Kraken cannot be asked.
- `python -m bot revoke-link <link-or-token>`: the link stops working (it then reads as used).
- `python -m bot revoke-chat --chat <chat id>`: the chat loses its account, conversation and
  watches.

The revoke commands exit 0 when something was revoked and 1 when there was nothing to revoke.
No command prints or logs a hand-off token other than in the link it issues.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from pydantic import ValidationError

from bot.config import Settings
from bot.handoff.identity import resolve_bot_username
from bot.handoff.issuing import HandoffRefused, IssuedLink, KrakenUnavailable, issue_link
from bot.handoff.links import qr_png
from bot.handoff.request import HandoffRequest, describe_validation_error
from bot.handoff.service import HandoffMalformed, HandoffService
from bot.redis_conn import redis_connection
from bot.state.keys import KeySpace
from kraken.client import KrakenClient
from kraken.credentials import ApiKeyCredentials
from kraken.retry import RetryPolicy

_OPTION_NAMES = {"accountNumber": "--account", "propertyId": "--property", "intent": "--intent"}
# Support is waiting at a prompt: one quick retry, then say Kraken is not answering.
CHECK_RETRY = RetryPolicy(max_attempts=2, max_total=5.0)
EXIT_NOTHING_TO_REVOKE = 1
EXIT_KRAKEN_UNAVAILABLE = 1


class UsageError(Exception):
    """Bad arguments; `str()` is the one line shown to support."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
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


def main(settings: Settings, args: argparse.Namespace) -> int:
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
            return await service.revoke(link_or_token)
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
