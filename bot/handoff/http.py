"""`POST /support/handoff`: support tooling asks for a hand-off link over HTTP.

Authenticated by a shared bearer token compared in constant time, so response timing does not
reveal how much of a guessed token was right.
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Callable

from pydantic import SecretStr, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.handoff.issuing import issue_link
from bot.handoff.links import qr_png
from bot.handoff.request import HandoffRequest, describe_validation_error
from bot.handoff.service import HandoffService

SUPPORT_HANDOFF_PATH = "/support/handoff"


def _authorised(request: Request, token: SecretStr) -> bool:
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), expected)


def _unprocessable(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=422)


def support_routes(
    service: HandoffService,
    bot_username: str | Callable[[], str],
    support_token: SecretStr,
) -> list[Route]:
    """Routes for the bot's web app. `bot_username` may be a callable for apps that learn it
    from getMe during start-up, after the routes are built."""

    async def handoff(request: Request) -> Response:
        if not _authorised(request, support_token):
            return JSONResponse(
                {"error": "missing or wrong bearer token"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _unprocessable("body must be a JSON object")
        if not isinstance(body, dict):
            return _unprocessable("body must be a JSON object")
        try:
            wanted = HandoffRequest.model_validate(body)
        except ValidationError as exc:
            return _unprocessable(describe_validation_error(exc))
        username = bot_username() if callable(bot_username) else bot_username
        issued = await issue_link(service, username, wanted)
        png = qr_png(issued.link)
        if request.query_params.get("format") == "png":
            return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})
        return JSONResponse(
            {
                "link": issued.link,
                "expiresAt": issued.expires_at.isoformat().replace("+00:00", "Z"),
                "qrPng": base64.b64encode(png).decode(),
            },
            headers={"Cache-Control": "no-store"},
        )

    return [Route(SUPPORT_HANDOFF_PATH, handoff, methods=["POST"])]
