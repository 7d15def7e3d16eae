"""Check with Kraken, issue a token and wrap it as a link: the one step the CLI and the support
endpoint share.

Our Kraken schema has no account query, so the check asks `eligibleDeviceTypes` for the
account (and the property, when support named one). Kraken answers an account it does not
know, or that our API key may not act for, with "Unauthorized." (KT-CT-1111); a property it
rejects comes back as a validation error on `propertyId`. Kraken cannot list an account's
properties, so a link without a property still opens on property 1, as before. When Kraken
cannot be asked, no link is issued: a link that may be bound to fail helps nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.handoff.links import deep_link
from bot.handoff.request import HandoffRequest
from bot.handoff.service import HandoffService, token_hash
from bot.state.journal import record_issued
from kraken.client import KrakenClient
from kraken.errors import KrakenAuthError, KrakenError, KrakenTransportError

UNAUTHORIZED = frozenset({"KT-CT-1111", "KT-CT-1132"})
# Who issued a link, in the console's list, when it came from the CLI or the support API.
ISSUED_BY_TOOLS = "cli/api"


class HandoffRefused(Exception):
    """Kraken says the link could not work; `str()` is the one line support reads."""


class KrakenUnavailable(Exception):
    """Kraken could not be asked (down, slow, or refusing our credentials); nothing issued."""


@dataclass(frozen=True)
class IssuedLink:
    link: str
    expires_at: datetime
    request: HandoffRequest


async def check_with_kraken(kraken: KrakenClient, request: HandoffRequest) -> None:
    """Raises `HandoffRefused` or `KrakenUnavailable`; returns when Kraken raised no objection."""
    account, property_id = request.account_number, request.property_id
    try:
        await kraken.eligible_device_types(account, property_id)
    except KrakenError as error:
        raise refusal(error, request) from None


def refusal(error: KrakenError, request: HandoffRequest) -> HandoffRefused | KrakenUnavailable:
    """What a Kraken error during the check means for the link."""
    account, property_id = request.account_number, request.property_id
    if isinstance(error, KrakenAuthError):  # our own API key was refused, not the account
        return KrakenUnavailable(f"Kraken refused our API key ({error}); no link issued")
    if error.code in UNAUTHORIZED:
        return HandoffRefused(
            f"Kraken does not know account {account} (or our API key may not act for it)"
        )
    if property_id is not None and any(
        "propertyId" in problem.input_path for problem in error.validation_errors
    ):
        return HandoffRefused(f"property {property_id} is not on account {account}")
    if isinstance(error, KrakenTransportError):
        return KrakenUnavailable(f"Kraken could not be reached ({error}); no link issued")
    return KrakenUnavailable(f"Kraken could not check the account ({error}); no link issued")


async def issue_link(
    service: HandoffService,
    bot_username: str,
    request: HandoffRequest,
    kraken: KrakenClient,
    *,
    issued_by: str = ISSUED_BY_TOOLS,
) -> IssuedLink:
    """`issued_by`: the console's signed-in agent; the CLI and the support API are one name."""
    await check_with_kraken(kraken, request)
    issued = await service.issue(request.account_number, request.property_id, request.intent)
    await record_issued(
        service.redis,
        service.keys,
        token_hash(issued.token),
        request.account_number,
        request.property_id,
        request.intent_spec,
        issued_by,
        int(issued.expires_at.timestamp() * 1000),
    )
    return IssuedLink(deep_link(bot_username, issued.token), issued.expires_at, request)
