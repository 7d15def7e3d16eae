"""Issue a token and wrap it as a link: the one step the CLI and the support endpoint share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.handoff.links import deep_link
from bot.handoff.request import HandoffRequest
from bot.handoff.service import HandoffService


@dataclass(frozen=True)
class IssuedLink:
    link: str
    expires_at: datetime
    request: HandoffRequest


async def issue_link(
    service: HandoffService, bot_username: str, request: HandoffRequest
) -> IssuedLink:
    issued = await service.issue(request.account_number, request.property_id, request.intent)
    return IssuedLink(deep_link(bot_username, issued.token), issued.expires_at, request)
