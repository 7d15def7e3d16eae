"""The support API: issue a hand-off link, revoke one, or unbind a chat, over HTTP.

- `POST /support/handoff` `{"accountNumber", "propertyId"?, "intent"?}` -> the link
  (`?format=png`: the QR code). 422 when Kraken says the link could not work, 503 when Kraken
  cannot be asked.
- `POST /support/handoff/revoke` `{"link": ...}` or `{"token": ...}` -> `{"revoked": bool}`.
- `POST /support/chat/revoke` `{"chatId": N}` -> `{"chatId", "revoked", "accountNumber",
  "propertyId"}` (what the chat was bound to; nulls if it was not bound).

Authenticated by a shared bearer token compared in constant time, so response timing does not
reveal how much of a guessed token was right. Hand-off tokens are never logged.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, SecretStr, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.handoff.issuing import HandoffRefused, KrakenUnavailable, issue_link
from bot.handoff.links import qr_png
from bot.handoff.request import (
    ChatRevokeRequest,
    HandoffRequest,
    RevokeLinkRequest,
    describe_validation_error,
)
from bot.handoff.service import HandoffMalformed, HandoffService
from kraken.client import KrakenClient

log = logging.getLogger(__name__)

SUPPORT_HANDOFF_PATH = "/support/handoff"
SUPPORT_REVOKE_LINK_PATH = "/support/handoff/revoke"
SUPPORT_REVOKE_CHAT_PATH = "/support/chat/revoke"
NO_STORE = {"Cache-Control": "no-store"}

M = TypeVar("M", bound=BaseModel)


def _authorised(request: Request, token: SecretStr) -> bool:
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), expected)


def _error(message: str, status_code: int = 422) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status_code)


def _support_endpoint(
    model: type[M], support_token: SecretStr, act: Callable[[Request, M], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    """Bearer check, then the JSON body validated as `model`, then `act`."""

    async def endpoint(request: Request) -> Response:
        if not _authorised(request, support_token):
            return JSONResponse(
                {"error": "missing or wrong bearer token"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error("body must be a JSON object")
        if not isinstance(body, dict):
            return _error("body must be a JSON object")
        try:
            wanted = model.model_validate(body)
        except ValidationError as exc:
            return _error(describe_validation_error(exc))
        return await act(request, wanted)

    return endpoint


def support_routes(
    service: HandoffService,
    bot_username: str | Callable[[], str],
    support_token: SecretStr,
    kraken: KrakenClient,
) -> list[Route]:
    """Routes for the bot's web app. `bot_username` may be a callable for apps that learn it
    from getMe during start-up, after the routes are built; `kraken` checks each account."""

    async def handoff(request: Request, wanted: HandoffRequest) -> Response:
        username = bot_username() if callable(bot_username) else bot_username
        try:
            issued = await issue_link(service, username, wanted, kraken)
        except HandoffRefused as refused:
            return _error(str(refused))
        except KrakenUnavailable as unavailable:
            return _error(str(unavailable), status_code=503)
        png = qr_png(issued.link)
        if request.query_params.get("format") == "png":
            return Response(png, media_type="image/png", headers=NO_STORE)
        return JSONResponse(
            {
                "link": issued.link,
                "expiresAt": issued.expires_at.isoformat().replace("+00:00", "Z"),
                "qrPng": base64.b64encode(png).decode(),
            },
            headers=NO_STORE,
        )

    async def revoke_link(request: Request, wanted: RevokeLinkRequest) -> Response:
        try:
            revoked = await service.revoke(wanted.link_or_token)
        except HandoffMalformed as malformed:
            field = "link" if wanted.link is not None else "token"
            return _error(f"{field}: {malformed}")
        log.info("support revoked a hand-off link", extra={"revoked": revoked})
        return JSONResponse({"revoked": revoked})

    async def revoke_chat(request: Request, wanted: ChatRevokeRequest) -> Response:
        binding = await service.revoke_chat(wanted.chat_id)
        log.info(
            "support revoked chat %s (was bound to %s)",
            wanted.chat_id,
            binding.account_number if binding else "no account",
        )
        return JSONResponse(
            {
                "chatId": wanted.chat_id,
                "revoked": binding is not None,
                "accountNumber": binding.account_number if binding else None,
                "propertyId": binding.property_id if binding else None,
            }
        )

    return [
        Route(
            SUPPORT_HANDOFF_PATH,
            _support_endpoint(HandoffRequest, support_token, handoff),
            methods=["POST"],
        ),
        Route(
            SUPPORT_REVOKE_LINK_PATH,
            _support_endpoint(RevokeLinkRequest, support_token, revoke_link),
            methods=["POST"],
        ),
        Route(
            SUPPORT_REVOKE_CHAT_PATH,
            _support_endpoint(ChatRevokeRequest, support_token, revoke_chat),
            methods=["POST"],
        ),
    ]
