"""Who is asking: the console's sign-in, sessions, CSRF tokens and the trusted proxy header.

- A session is a server-side record (`bot.state.agents.Sessions`) whose random id travels in
  a signed, HttpOnly, SameSite=Lax cookie scoped to `/support` (Secure when `PUBLIC_URL` is
  https). Every page request renews it; the pages' own polling does not, so a console left
  open still signs out after `SUPPORT_SESSION_IDLE` without a person using it.
- Every form carries the session's CSRF token; the sign-in form, before there is a session,
  carries a random token that must match a cookie set with the form (double submit).
- Behind an identity-aware proxy, `SUPPORT_TRUSTED_USER_HEADER` names the signed-in user, and
  is believed only when the request comes from an address in `SUPPORT_TRUSTED_PROXIES`; such
  a session is good only while the header keeps naming the same user.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from itsdangerous import BadSignature, URLSafeSerializer
from redis.asyncio import Redis
from starlette.requests import Request
from starlette.responses import Response

from bot.config import SUPPORTED_LOCALES, Settings
from bot.state.agents import (
    AGENT_NAME,
    AgentPrefs,
    Agents,
    AuditLog,
    Session,
    Sessions,
)
from bot.state.keys import KeySpace

COOKIE = "sfa_console"
LOGIN_COOKIE = "sfa_console_login"
COOKIE_PATH = "/support"
POLL_HEADER = "x-console-poll"
MAX_FORM_BYTES = 32 * 1024
UTC_ZONE = "UTC"


def zone(name: str | None) -> ZoneInfo:
    """The agent's time zone; UTC when unset or unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(UTC_ZONE)


def valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def accepted_locale(header: str, default: str) -> str:
    """The first of the browser's Accept-Language tags the console speaks."""
    weighted = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        weighted.append((-quality, position, tag.strip().split("-")[0].lower()))
    for _, _, language in sorted(weighted):
        if language in SUPPORTED_LOCALES:
            return language
    return default


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def read_form(request: Request) -> dict[str, str] | None:
    """An urlencoded form body (first value of each field), or None when it is not one or
    is larger than MAX_FORM_BYTES."""
    from bot.web import read_body  # bot.web mounts the console: imported when first used

    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type != "application/x-www-form-urlencoded":
        return None
    body = await read_body(request, MAX_FORM_BYTES)
    if body is None:
        return None
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        return None
    return {name: values[0] for name, values in fields.items()}


@dataclass(frozen=True)
class Viewer:
    """The signed-in agent of a request, with how to speak to them."""

    agent: str
    admin: bool
    session: Session
    locale: str
    time_zone: ZoneInfo

    @property
    def csrf(self) -> str:
        return self.session.csrf


class Gate:
    def __init__(
        self,
        redis: Redis,
        keys: KeySpace,
        settings: Settings,
        agents: Agents,
        prefs: AgentPrefs,
        sessions: Sessions,
        audit: AuditLog,
    ) -> None:
        self.redis, self.keys, self.settings = redis, keys, settings
        self.agents, self.prefs, self.sessions, self.audit = agents, prefs, sessions, audit
        self._networks = settings.trusted_proxy_networks()
        self._serializer: URLSafeSerializer | None = None
        self.secure = (settings.public_url or "").startswith("https://")

    async def _signer(self) -> URLSafeSerializer:
        """Signs session ids: SUPPORT_SESSION_SECRET, else one random secret every process
        of the deployment shares through Redis."""
        if self._serializer is None:
            if self.settings.support_session_secret is not None:
                secret = self.settings.support_session_secret.get_secret_value()
            else:
                key = self.keys.console_secret()
                await self.redis.set(key, secrets.token_urlsafe(32), nx=True)
                raw = await self.redis.get(key)
                secret = raw.decode() if isinstance(raw, bytes) else str(raw)
            self._serializer = URLSafeSerializer(secret, salt="sfa-console-session")
        return self._serializer

    # ------------------------------------------------------------------ who

    def proxy_user(self, request: Request) -> str | None:
        """The user the trusted proxy names, or None (no header configured, a request not
        from a trusted proxy, or no usable name)."""
        header = self.settings.support_trusted_user_header
        if not header or not self._networks or request.client is None:
            return None
        try:
            address = ip_address(request.client.host)
        except ValueError:
            return None
        if not any(address in network for network in self._networks):
            return None
        name = request.headers.get(header, "").strip()
        return name if AGENT_NAME.fullmatch(name) else None

    async def _cookie_session(self, request: Request, *, touch: bool) -> Session | None:
        signed = request.cookies.get(COOKIE)
        if not signed:
            return None
        try:
            session_id = (await self._signer()).loads(signed)
        except BadSignature:
            return None
        if not isinstance(session_id, str):
            return None
        return await self.sessions.load(session_id, touch=touch)

    async def viewer(self, request: Request) -> tuple[Viewer | None, Session | None]:
        """The signed-in agent (or None), and a session created for this request whose
        cookie the response must set (proxy sign-in)."""
        touch = request.headers.get(POLL_HEADER) != "1"
        session = await self._cookie_session(request, touch=touch)
        proxied = self.proxy_user(request)
        fresh: Session | None = None
        if proxied is not None:
            if session is None or session.via != "proxy" or session.agent != proxied:
                agent = await self.agents.get(proxied)
                if agent is not None and agent.disabled:
                    return None, None
                session = fresh = await self.sessions.create(proxied, "proxy")
                await self.audit.add(proxied, "sign_in", detail="trusted proxy")
        elif session is not None and session.via == "proxy":
            session = None  # a proxy's session is good only with the proxy's header
        if session is None:
            return None, None
        agent = await self.agents.get(session.agent)
        if (agent is None and session.via == "password") or (agent and agent.disabled):
            await self.sessions.drop(session.session_id)
            return None, None
        prefs = await self.prefs.get(session.agent)
        locale = prefs.locale if prefs.locale in SUPPORTED_LOCALES else None
        viewer = Viewer(
            agent=session.agent,
            admin=bool(agent and agent.admin),
            session=session,
            locale=locale
            or accepted_locale(
                request.headers.get("accept-language", ""), self.settings.default_locale
            ),
            time_zone=zone(prefs.time_zone),
        )
        return viewer, fresh

    # ------------------------------------------------------------------ cookies

    async def set_session_cookie(self, response: Response, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            (await self._signer()).dumps(session.session_id),
            path=COOKIE_PATH,
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )

    def clear_session_cookie(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax")

    def login_token(self, request: Request) -> tuple[str, bool]:
        """The sign-in form's CSRF token, and whether its cookie must be (re)set."""
        current = request.cookies.get(LOGIN_COOKIE, "")
        if len(current) == 43:
            return current, False
        return secrets.token_urlsafe(32), True

    def set_login_cookie(self, response: Response, token: str) -> None:
        response.set_cookie(
            LOGIN_COOKIE,
            token,
            max_age=3600,
            path=COOKIE_PATH,
            httponly=True,
            samesite="strict",
            secure=self.secure,
        )

    @staticmethod
    def login_token_ok(request: Request, form: dict[str, str]) -> bool:
        cookie = request.cookies.get(LOGIN_COOKIE, "")
        given = form.get("csrf", "")
        return bool(cookie) and hmac.compare_digest(cookie.encode(), given.encode())

    @staticmethod
    def csrf_ok(viewer: Viewer, form: dict[str, str]) -> bool:
        return hmac.compare_digest(viewer.csrf.encode(), form.get("csrf", "").encode())
