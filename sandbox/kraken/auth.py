"""`obtainKrakenToken` and the Authorization header: JWT-shaped tokens signed per instance.

Tokens are checked against the sandbox clock, so a test expires them by advancing time (or by
`expire_all`) instead of waiting an hour.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from .clock import SandboxClock
from .config import SandboxConfig
from .errors import FieldError, KrakenError

_HEADER_PREFIXES = ("jwt ", "bearer ")


@dataclass(frozen=True)
class Principal:
    """Who a token speaks for; `accounts is None` means an organisation (every account)."""

    subject: str
    grant: str
    accounts: frozenset[str] | None

    def can_access(self, account_number: str) -> bool:
        return self.accounts is None or account_number in self.accounts


@dataclass
class _RefreshGrant:
    principal: Principal
    expires_at: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenService:
    def __init__(self, config: SandboxConfig, clock: SandboxClock) -> None:
        self._config = config
        self._clock = clock
        self._secret = secrets.token_bytes(32)
        self._generation = 0
        self._refresh: dict[str, _RefreshGrant] = {}

    def expire_all(self) -> None:
        """Every token issued so far fails with KT-CT-1124 from now on (refresh tokens too)."""
        self._generation += 1
        self._refresh.clear()

    # --- obtainKrakenToken -------------------------------------------------------------------

    def obtain(self, credentials: dict[str, Any]) -> dict[str, Any]:
        given = {k: v for k, v in credentials.items() if v is not None}
        if "APIKey" in given:
            if given["APIKey"] not in self._config.api_keys:
                code = self._code("KT-CT-1139")
                raise KrakenError(
                    code,
                    validation_errors=[
                        FieldError(code, "Authentication failed.", ("input", "apiKey"))
                    ],
                    description="Authentication failed.",
                )
            return self._issue(Principal("organization:sandbox", "API_KEY", None))
        if "refreshToken" in given:
            grant = self._refresh.get(str(given["refreshToken"]))
            if grant is None or grant.expires_at <= self._clock.now():
                raise KrakenError(
                    "KT-CT-1135",
                    validation_errors=[
                        FieldError(
                            "KT-CT-1135", "Invalid refresh token.", ("input", "refreshToken")
                        )
                    ],
                )
            return self._issue(grant.principal)
        if "email" in given or "password" in given:
            if (
                given.get("email") != self._config.user_email
                or given.get("password") != self._config.user_password
            ):
                code = self._code("KT-CT-1138")
                raise KrakenError(
                    code,
                    validation_errors=[
                        FieldError(code, "Invalid email or password.", ("input", "email"))
                    ],
                    description="Please make sure the email and password are correct.",
                )
            principal = Principal(
                f"user:{self._config.user_email}",
                "EMAIL_AND_PASSWORD",
                frozenset({self._config.accounts[0]}),
            )
            return self._issue(principal)
        raise KrakenError(
            "KT-CT-1135",
            validation_errors=[
                FieldError("KT-CT-1135", "Provide one authentication method.", ("input",))
            ],
        )

    def _code(self, uk_code: str) -> str:
        """The ResiFlex EU reference lists only KT-CT-1134/1135 for obtainKrakenToken; the
        specific codes UK clients see (1138 password, 1139 API key) are UK-only here."""
        return uk_code if self._config.is_uk else "KT-CT-1134"

    def _issue(self, principal: Principal) -> dict[str, Any]:
        now = int(self._clock.now())
        payload = {
            "sub": principal.subject,
            "gty": principal.grant,
            "iss": "kraken-sandbox",
            "tokenUse": "access",
            "iat": now,
            "exp": now + int(self._config.token_lifetime_seconds),
            "origIat": now,
            "gen": self._generation,
            "acc": sorted(principal.accounts) if principal.accounts is not None else None,
        }
        refresh = secrets.token_urlsafe(32)
        refresh_expires = now + int(self._config.refresh_lifetime_seconds)
        self._refresh[refresh] = _RefreshGrant(principal, refresh_expires)
        return {
            "token": self._sign(payload),
            "payload": {
                k: payload[k] for k in ("sub", "gty", "iss", "tokenUse", "iat", "exp", "origIat")
            },
            "refreshToken": refresh,
            "refreshExpiresIn": refresh_expires,
        }

    def _sign(self, payload: dict[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        signature = hmac.new(self._secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
        return f"{header}.{body}.{_b64(signature)}"

    # --- Authorization header ----------------------------------------------------------------

    def authenticate(self, header: str | None) -> Principal:
        if not header or not header.strip():
            raise KrakenError("KT-CT-1112")
        token = header.strip()
        for prefix in _HEADER_PREFIXES:
            if token.lower().startswith(prefix):
                token = token[len(prefix) :].strip()
        payload = self._verify(token)
        if payload["gen"] != self._generation or payload["exp"] <= self._clock.now():
            raise KrakenError("KT-CT-1124")
        accounts = payload["acc"]
        return Principal(
            payload["sub"], payload["gty"], None if accounts is None else frozenset(accounts)
        )

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            header, body, signature = token.split(".")
            expected = hmac.new(self._secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _unb64(signature)):
                raise ValueError("bad signature")
            payload: dict[str, Any] = json.loads(_unb64(body))
        except ValueError as exc:  # includes JSON and base64 errors
            raise KrakenError("KT-CT-1111") from exc
        return payload
