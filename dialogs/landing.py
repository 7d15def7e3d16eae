"""The URL a user lands on after signing in at the provider (pasted, or from our callback)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from urllib.parse import parse_qs, urlsplit


class LandingKind(Enum):
    OK = "ok"
    ACCESS_DENIED = "access_denied"
    PROVIDER_ERROR = "provider_error"
    INVALID = "invalid"


@dataclass(frozen=True)
class Landing:
    kind: LandingKind
    error: str = ""


def _query(url: str) -> dict[str, list[str]] | None:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    # Some providers put the answer in the fragment (implicit-style redirects).
    return parse_qs(parts.query) | parse_qs(parts.fragment)


def classify_landing(url: str) -> Landing:
    """OK carries an authorisation code; an ``error`` parameter says why sign-in stopped."""
    query = _query(url)
    if query is None:
        return Landing(LandingKind.INVALID)
    if "error" in query:
        error = query["error"][0]
        if error == "access_denied":
            return Landing(LandingKind.ACCESS_DENIED, error)
        return Landing(LandingKind.PROVIDER_ERROR, error[:60])
    return Landing(LandingKind.OK) if query.get("code") else Landing(LandingKind.INVALID)


def oauth_state(authorization_uri: str | None) -> str | None:
    """The ``state`` we will see again on the callback, so it can be mapped to the wizard."""
    query = _query(authorization_uri or "")
    values = (query or {}).get("state")
    return values[0] if values else None
