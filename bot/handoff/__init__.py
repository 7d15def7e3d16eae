"""Support-issued, single-use links that open the bot already bound to a customer's account."""

from bot.handoff.issuing import IssuedLink, issue_link
from bot.handoff.links import deep_link, qr_png
from bot.handoff.request import (
    HandoffRequest,
    Intent,
    ReAuthenticate,
    ResumeWizard,
    normalise_account_number,
    parse_intent,
)
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
    "HandoffRequest",
    "HandoffService",
    "HandoffToken",
    "HandoffUnknown",
    "HandoffUsed",
    "Intent",
    "IssuedLink",
    "ReAuthenticate",
    "ResumeWizard",
    "deep_link",
    "issue_link",
    "normalise_account_number",
    "parse_intent",
    "qr_png",
]
