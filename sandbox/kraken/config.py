"""Configuration of one sandbox instance (constructor argument, environment, CLI)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field

from .flavours import DEFAULT_FLAVOUR, FLAVOURS

DEFAULT_API_KEY = "sandbox-api-key"
DEFAULT_ACCOUNT = "A-SANDBOX1"
DEFAULT_PROPERTY_ID = 1
DEFAULT_USER_EMAIL = "customer@example.com"
DEFAULT_USER_PASSWORD = "sandbox-password"


@dataclass(frozen=True)
class Delays:
    """Real-world durations (seconds) of the things onboarding waits for, before `time_scale`."""

    oauth_approval: float = 3.0
    device_registration: float = 10.0
    wait_for_transition: float = 30.0
    wait_for_live_integration: float = 60.0
    test_charge: float = 7 * 60.0


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that differs between a demo sandbox and a test sandbox.

    `public_url` is where browsers reach the sandbox (consent pages); `redirect_uri` is where
    the fake manufacturer sends the user back to (the bot sets it to its own callback).
    `flavour` picks the instance emulated (`eu`: the ResiFlex EU seed; `uk`: plus the UK-only
    fields, steps and codes); `removed` and `removal_date` drop fields from its schema the way
    an instance past a deprecation's removal date has (see flavours.py).
    """

    public_url: str = "http://127.0.0.1:8010"
    redirect_uri: str | None = None
    time_scale: float = 1.0
    token_lifetime_seconds: float = 60 * 60.0
    refresh_lifetime_seconds: float = 7 * 24 * 60 * 60.0
    api_keys: tuple[str, ...] = (DEFAULT_API_KEY,)
    accounts: tuple[str, ...] = (DEFAULT_ACCOUNT,)
    user_email: str = DEFAULT_USER_EMAIL
    user_password: str = DEFAULT_USER_PASSWORD
    delays: Delays = field(default_factory=Delays)
    # Real seconds a wizard mutation holds the wizard's lock (a stand-in for Kraken's own
    # database work); a second mutation arriving meanwhile gets KT-CT-4372.
    commit_seconds: float = 0.02
    flavour: str = DEFAULT_FLAVOUR
    removed: tuple[str, ...] = ()
    removal_date: dt.date | None = None

    def __post_init__(self) -> None:
        if self.flavour not in FLAVOURS:
            raise ValueError(f"unknown flavour {self.flavour!r}; choose from {', '.join(FLAVOURS)}")

    @property
    def is_uk(self) -> bool:
        return self.flavour == "uk"

    @property
    def landing_uri(self) -> str:
        return f"{self.public_url.rstrip('/')}/oauth/landing"

    @property
    def effective_redirect_uri(self) -> str:
        return self.redirect_uri or self.landing_uri

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale

    @classmethod
    def from_env(cls, **overrides: object) -> SandboxConfig:
        """Read `KRAKEN_SANDBOX_*` variables; explicit overrides (e.g. from the CLI) win."""
        values: dict[str, object] = {}
        if url := os.environ.get("KRAKEN_SANDBOX_PUBLIC_URL"):
            values["public_url"] = url
        if redirect := os.environ.get("KRAKEN_SANDBOX_REDIRECT_URI"):
            values["redirect_uri"] = redirect
        if scale := os.environ.get("KRAKEN_SANDBOX_TIME_SCALE"):
            values["time_scale"] = float(scale)
        if accounts := os.environ.get("KRAKEN_SANDBOX_ACCOUNTS"):
            values["accounts"] = parse_accounts(accounts)
        if flavour := os.environ.get("KRAKEN_SANDBOX_FLAVOUR"):
            values["flavour"] = flavour
        if removed := os.environ.get("KRAKEN_SANDBOX_REMOVED"):
            values["removed"] = parse_names(removed)
        if date := os.environ.get("KRAKEN_SANDBOX_DATE"):
            values["removal_date"] = dt.date.fromisoformat(date)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def parse_accounts(text: str) -> tuple[str, ...]:
    """`A-1,A-2` -> both, always keeping the seeded account first."""
    extra = [a.strip() for a in text.split(",") if a.strip()]
    return tuple(dict.fromkeys([DEFAULT_ACCOUNT, *extra]))


def parse_names(text: str) -> tuple[str, ...]:
    """`a,B.c` -> ("a", "B.c"): the `--removed` list."""
    return tuple(name.strip() for name in text.split(",") if name.strip())
