"""`python -m bot handoff`: support's way to hand a customer over to the bot.

Prints a short summary and then the link as the last line, so scripts can take `tail -n1`.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from pydantic import ValidationError

from bot.config import Settings
from bot.handoff.identity import resolve_bot_username
from bot.handoff.issuing import IssuedLink, issue_link
from bot.handoff.links import qr_png
from bot.handoff.request import HandoffRequest, describe_validation_error
from bot.handoff.service import HandoffService
from bot.redis_conn import redis_connection
from bot.state.keys import KeySpace

_OPTION_NAMES = {"accountNumber": "--account", "propertyId": "--property", "intent": "--intent"}


class UsageError(Exception):
    """Bad arguments; `str()` is the one line shown to support."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", required=True, help="Kraken account number, e.g. A-1B2C3D4E")
    parser.add_argument("--property", help="property id on that account")
    parser.add_argument(
        "--intent", help="resume:<wizardId> to continue a wizard, reauth:<deviceId> to re-link"
    )
    parser.add_argument("--qr", type=Path, help="also write the link as a QR code PNG here")


def parse_request(args: argparse.Namespace) -> HandoffRequest:
    try:
        return HandoffRequest.model_validate(
            {"accountNumber": args.account, "propertyId": args.property, "intent": args.intent}
        )
    except ValidationError as exc:
        raise UsageError(describe_validation_error(exc, _OPTION_NAMES)) from None


async def _issue(settings: Settings, request: HandoffRequest) -> IssuedLink:
    username = await resolve_bot_username(settings)
    async with redis_connection(settings.redis_url, settings.data_dir) as connection:
        service = HandoffService(
            connection.client, ttl=settings.handoff_ttl, keys=KeySpace(settings.redis_prefix)
        )
        return await issue_link(service, username, request)


def main(settings: Settings, args: argparse.Namespace) -> int:
    request = parse_request(args)
    issued = asyncio.run(_issue(settings, request))
    print(f"account:  {request.account_number}")
    if request.property_id is not None:
        print(f"property: {request.property_id}")
    if request.intent_spec is not None:
        print(f"intent:   {request.intent_spec}")
    print(f"expires:  {issued.expires_at.isoformat(timespec='seconds')} (single use)")
    if args.qr is not None:
        args.qr.write_bytes(qr_png(issued.link))
        print(f"qr code:  {args.qr}")
    print(issued.link)
    return 0
