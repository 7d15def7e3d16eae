"""Support-issued, single-use links that open the bot already bound to a customer's account."""

from bot.handoff.issuing import (
    HandoffRefused,
    IssuedLink,
    KrakenUnavailable,
    check_with_kraken,
    issue_link,
)
from bot.handoff.links import deep_link, qr_png, token_in
from bot.handoff.request import HandoffRequest, normalise_account_number, parse_intent
from bot.handoff.service import (
    DEFAULT_HANDOFF_TTL,
    HandoffError,
    HandoffExpired,
    HandoffGrant,
    HandoffMalformed,
    HandoffService,
    HandoffToken,
    HandoffUnknown,
    HandoffUsed,
)

__all__ = [
    "DEFAULT_HANDOFF_TTL",
    "HandoffError",
    "HandoffExpired",
    "HandoffGrant",
    "HandoffMalformed",
    "HandoffRefused",
    "HandoffRequest",
    "HandoffService",
    "HandoffToken",
    "HandoffUnknown",
    "HandoffUsed",
    "IssuedLink",
    "KrakenUnavailable",
    "check_with_kraken",
    "deep_link",
    "issue_link",
    "normalise_account_number",
    "parse_intent",
    "qr_png",
    "token_in",
]
