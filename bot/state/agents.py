"""Support agents in Redis: accounts, sign-in sessions, failed sign-ins, and the audit log.

- **Agents** are local accounts (`python -m bot agents add NAME [--admin]`): the password is
  kept only as an argon2id hash; a disabled agent cannot sign in and loses open sessions.
- **Sessions** are server-side records behind a random id (the console signs the id into its
  cookie); each request renews the record's TTL, so a session ends after that long idle, and
  signing out deletes it.
- **Login failures** are counted per agent name and per address in a window; past the limit
  sign-in is refused (even with the right password) until the window ends.
- The **audit log** is one stream of (who, what, when, which account, detail), kept
  `AUDIT_RETENTION`; admins read it in the console and export it as CSV.

Agent names, preferences and the session-signing secret do not expire: they are
configuration. Everything else here does.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.state.keys import KeySpace

AGENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
MIN_PASSWORD_LENGTH = 10
AUDIT_RETENTION = timedelta(days=400)
AUDIT_MAX_ENTRIES = 1_000_000
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_AGENT = 5
MAX_FAILURES_PER_ADDRESS = 20

_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so a wrong name costs what a wrong
    password does."""
    return _HASHER.hash(secrets.token_urlsafe(16))


class AgentError(Exception):
    """A bad name or password, or an unknown agent; `str()` is the one line shown."""


def check_agent_name(name: str) -> str:
    if not AGENT_NAME.fullmatch(name):
        raise AgentError(
            "an agent name is 1-64 letters, digits and . _ @ + - (starting with a letter or digit)"
        )
    return name


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class Agent:
    name: str
    admin: bool = False
    disabled: bool = False
    created_ms: int = 0
    password_hash: str = field(default="", repr=False)

    def to_json(self) -> str:
        return json.dumps(
            {
                "admin": self.admin,
                "disabled": self.disabled,
                "created": self.created_ms,
                "hash": self.password_hash,
            }
        )

    @classmethod
    def from_json(cls, name: str, raw: str | bytes) -> Agent:
        data = json.loads(raw)
        return cls(
            name=name,
            admin=bool(data.get("admin")),
            disabled=bool(data.get("disabled")),
            created_ms=int(data.get("created", 0)),
            password_hash=str(data.get("hash", "")),
        )


class Agents:
    def __init__(
        self, redis: Redis, keys: KeySpace, clock: Callable[[], float] = time.time
    ) -> None:
        self.redis, self.keys, self.clock = redis, keys, clock

    async def add(self, name: str, password: str, *, admin: bool = False) -> Agent:
        """Create the agent, or give an existing one a new password (and enable it)."""
        check_agent_name(name)
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AgentError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
        hashed = await asyncio.to_thread(_HASHER.hash, password)
        existing = await self.get(name)
        agent = Agent(
            name,
            admin=admin or bool(existing and existing.admin),
            created_ms=existing.created_ms if existing else int(self.clock() * 1000),
            password_hash=hashed,
        )
        await self.redis.hset(self.keys.agents(), name, agent.to_json())  # type: ignore[misc]
        return agent

    async def get(self, name: str) -> Agent | None:
        raw = await self.redis.hget(self.keys.agents(), name)  # type: ignore[misc]
        return None if raw is None else Agent.from_json(name, raw)

    async def all(self) -> list[Agent]:
        raw = await self.redis.hgetall(self.keys.agents())  # type: ignore[misc]
        return sorted(
            (Agent.from_json(_text(name), value) for name, value in raw.items()),
            key=lambda agent: agent.name,
        )

    async def disable(self, name: str) -> bool:
        """False when there is no such agent."""
        agent = await self.get(name)
        if agent is None:
            return False
        disabled = Agent(agent.name, agent.admin, True, agent.created_ms, agent.password_hash)
        await self.redis.hset(self.keys.agents(), name, disabled.to_json())  # type: ignore[misc]
        return True

    async def verify(self, name: str, password: str) -> Agent | None:
        """The agent when the name and password match an enabled agent, else None."""
        agent = await self.get(name) if AGENT_NAME.fullmatch(name) else None
        stored = agent.password_hash if agent and agent.password_hash else _dummy_hash()
        try:
            await asyncio.to_thread(_HASHER.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if agent is None or agent.disabled:
            return None
        return agent


@dataclass(frozen=True)
class Prefs:
    locale: str | None = None
    time_zone: str | None = None


class AgentPrefs:
    """Each agent's language and time zone (proxy-signed-in agents too)."""

    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self.redis, self.keys = redis, keys

    async def get(self, name: str) -> Prefs:
        raw = await self.redis.hget(self.keys.agent_prefs(), name)  # type: ignore[misc]
        if raw is None:
            return Prefs()
        data = json.loads(raw)
        return Prefs(data.get("locale"), data.get("tz"))

    async def set(self, name: str, prefs: Prefs) -> None:
        body = json.dumps({"locale": prefs.locale, "tz": prefs.time_zone})
        await self.redis.hset(self.keys.agent_prefs(), name, body)  # type: ignore[misc]


@dataclass(frozen=True)
class Session:
    session_id: str = field(repr=False)
    agent: str
    csrf: str = field(repr=False)
    via: str  # "password" or "proxy"
    created_ms: int


class Sessions:
    def __init__(
        self,
        redis: Redis,
        keys: KeySpace,
        idle: timedelta,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis, self.keys, self.clock = redis, keys, clock
        self.idle_ms = int(idle.total_seconds() * 1000)

    async def create(self, agent: str, via: str) -> Session:
        session = Session(
            secrets.token_urlsafe(32),
            agent,
            secrets.token_urlsafe(32),
            via,
            int(self.clock() * 1000),
        )
        body = json.dumps(
            {"agent": agent, "csrf": session.csrf, "via": via, "created": session.created_ms}
        )
        await self.redis.set(self.keys.console_session(session.session_id), body, px=self.idle_ms)
        return session

    async def load(self, session_id: str, *, touch: bool = True) -> Session | None:
        """The session if it has not idled out; `touch` counts this request as activity."""
        key = self.keys.console_session(session_id)
        if touch:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.get(key)
                pipe.pexpire(key, self.idle_ms)
                raw, _ = await pipe.execute()
        else:
            raw = await self.redis.get(key)
        if raw is None:
            return None
        data = json.loads(raw)
        return Session(session_id, data["agent"], data["csrf"], data["via"], data["created"])

    async def drop(self, session_id: str) -> None:
        await self.redis.delete(self.keys.console_session(session_id))


class LoginThrottle:
    """Failed sign-ins per agent name and per address, in a fixed window from the first."""

    def __init__(
        self,
        redis: Redis,
        keys: KeySpace,
        window: timedelta = LOGIN_WINDOW,
        per_agent: int = MAX_FAILURES_PER_AGENT,
        per_address: int = MAX_FAILURES_PER_ADDRESS,
    ) -> None:
        self.redis, self.keys = redis, keys
        self.window_ms = int(window.total_seconds() * 1000)
        self.limits = {"agent": per_agent, "address": per_address}

    def _keys(self, agent: str, address: str) -> dict[str, str]:
        return {
            "agent": self.keys.login_failures("agent", agent.lower()[:64]),
            "address": self.keys.login_failures("address", address),
        }

    async def locked_for(self, agent: str, address: str) -> float:
        """Seconds until sign-in is allowed again for this name or from this address (0: now)."""
        keys = self._keys(agent, address)
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys.values():
                pipe.get(key)
                pipe.pttl(key)
            found = await pipe.execute()
        wait_ms = 0
        for index, kind in enumerate(keys):
            count, ttl = found[2 * index], found[2 * index + 1]
            if count is not None and int(count) >= self.limits[kind]:
                wait_ms = max(wait_ms, int(ttl))
        return wait_ms / 1000

    async def failed(self, agent: str, address: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in self._keys(agent, address).values():
                # The window starts at the first failure (INCR keeps the TTL SET gave it).
                pipe.set(key, 0, px=self.window_ms, nx=True)
                pipe.incr(key)
            await pipe.execute()

    async def succeeded(self, agent: str) -> None:
        await self.redis.delete(self._keys(agent, "-")["agent"])


@dataclass(frozen=True)
class AuditEntry:
    entry_id: str
    at_ms: int
    agent: str
    action: str
    account: str
    detail: str


class AuditLog:
    def __init__(
        self, redis: Redis, keys: KeySpace, clock: Callable[[], float] = time.time
    ) -> None:
        self.redis, self.keys, self.clock = redis, keys, clock

    def add_to(self, pipe: Pipeline, agent: str, action: str, account: str, detail: str) -> None:
        """Queue an entry on a pipeline the caller executes (with its own writes)."""
        now = int(self.clock() * 1000)
        retention = int(AUDIT_RETENTION.total_seconds() * 1000)
        fields = {"agent": agent, "action": action, "account": account, "detail": detail}
        pipe.xadd(
            self.keys.audit_log(),
            fields,  # type: ignore[arg-type]
            maxlen=AUDIT_MAX_ENTRIES,
            approximate=True,
        )
        pipe.xtrim(self.keys.audit_log(), minid=f"{now - retention}-0", approximate=True)
        pipe.pexpire(self.keys.audit_log(), retention)

    async def add(self, agent: str, action: str, account: str = "", detail: str = "") -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            self.add_to(pipe, agent, action, account, detail)
            await pipe.execute()

    async def page(self, before: str | None = None, count: int = 100) -> list[AuditEntry]:
        """Newest first; `before`: an entry id, to read the entries older than it."""
        newest = f"({before}" if before else "+"
        raw = await self.redis.xrevrange(self.keys.audit_log(), max=newest, min="-", count=count)
        return [_audit_entry(entry_id, fields) for entry_id, fields in raw]

    async def everything(self, batch: int = 2000) -> AsyncIterator[AuditEntry]:
        """Oldest first, in batches."""
        start = "-"
        while True:
            raw = await self.redis.xrange(self.keys.audit_log(), min=start, max="+", count=batch)
            for entry_id, fields in raw:
                yield _audit_entry(entry_id, fields)
            if len(raw) < batch:
                return
            start = "(" + _text(raw[-1][0])


def _audit_entry(entry_id: Any, fields: Mapping[Any, Any]) -> AuditEntry:
    data = {_text(key): _text(value) for key, value in fields.items()}
    identifier = _text(entry_id)
    return AuditEntry(
        entry_id=identifier,
        at_ms=int(identifier.split("-", 1)[0]),
        agent=data.get("agent", ""),
        action=data.get("action", ""),
        account=data.get("account", ""),
        detail=data.get("detail", ""),
    )
