"""Kraken JWTs: obtain, cache, renew before expiry, and renew once when Kraken says expired.

One renewal at a time: a lock plus a re-check under it means a hundred calls that all find the
token stale (or all get KT-CT-1124) cause exactly one `obtainKrakenToken` request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from kraken.credentials import Credentials
from kraken.errors import KrakenAuthError, KrakenError, KrakenResponseError, KrakenTransportError
from kraken.models import Token
from kraken.redaction import REDACTOR
from kraken.retry import Clock

logger = logging.getLogger("kraken.auth")

DEFAULT_LIFETIME = 60 * 60.0
"""Kraken tokens live 60 minutes; used only if the payload carries no `exp`."""

ObtainToken = Callable[[Mapping[str, str]], Awaitable[Mapping[str, Any]]]


class TokenManager:
    def __init__(
        self,
        credentials: Credentials,
        obtain: ObtainToken,
        *,
        clock: Clock,
        margin: float = 5 * 60.0,
    ) -> None:
        self._credentials = credentials
        self._obtain = obtain
        self._clock = clock
        self._margin = margin
        self._token: Token | None = None
        self._lock = asyncio.Lock()
        for secret in credentials.secrets():
            REDACTOR.add(secret)

    async def token(self) -> str:
        """A token valid for at least `margin` more seconds."""
        current = self._token
        if current is not None and self._fresh(current):
            return current.token.get_secret_value()
        async with self._lock:
            current = self._token
            if current is None or not self._fresh(current):
                current = self._token = await self._renew(current)
            return current.token.get_secret_value()

    async def renew(self, rejected: str) -> str:
        """Replace `rejected` (Kraken said it expired) unless another call already did."""
        async with self._lock:
            current = self._token
            if current is None or current.token.get_secret_value() == rejected:
                current = self._token = await self._renew(current)
            return current.token.get_secret_value()

    @property
    def expires_at(self) -> float | None:
        """When the current token expires (Unix seconds); None before the first one."""
        return None if self._token is None else self._token.expires_at

    def _fresh(self, token: Token) -> bool:
        return self._clock() < token.expires_at - self._margin

    async def _renew(self, previous: Token | None) -> Token:
        if previous is not None and previous.refresh_token is not None:
            expires = previous.refresh_expires_at
            if expires is None or self._clock() < expires - self._margin:
                refresh = {"refreshToken": previous.refresh_token.get_secret_value()}
                try:
                    return await self._request(refresh, "refresh_token")
                except KrakenTransportError:
                    raise
                except KrakenError as exc:
                    logger.warning(
                        "Kraken refused the refresh token; using the primary credentials",
                        extra={"error_code": exc.code},
                    )
        try:
            return await self._request(self._credentials.token_input(), "credentials")
        except (KrakenTransportError, KrakenAuthError):
            raise
        except KrakenError as exc:
            raise KrakenAuthError.wrap(exc) from exc

    async def _request(self, token_input: Mapping[str, str], method: str) -> Token:
        payload = await self._obtain(token_input)
        token = _parse_token(payload, self._clock())
        REDACTOR.add(token.token.get_secret_value())
        if token.refresh_token is not None:
            REDACTOR.add(token.refresh_token.get_secret_value())
        logger.info(
            "Obtained Kraken token",
            extra={"method": method, "expires_at": token.expires_at},
        )
        return token


def _parse_token(payload: Mapping[str, Any], now: float) -> Token:
    raw = payload.get("token")
    if not isinstance(raw, str) or not raw:
        raise KrakenResponseError("obtainKrakenToken returned no token.")
    claims = payload.get("payload")
    exp = claims.get("exp") if isinstance(claims, Mapping) else None
    refresh = payload.get("refreshToken")
    refresh_expires = payload.get("refreshExpiresIn")
    return Token(
        token=raw,
        expires_at=float(exp) if isinstance(exp, int | float) else now + DEFAULT_LIFETIME,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        refresh_expires_at=float(refresh_expires) if isinstance(refresh_expires, int) else None,
    )
