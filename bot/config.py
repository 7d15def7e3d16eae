"""Bot configuration read from the environment and `.env`.

Every command needs a different subset (the `handoff` CLI needs no Kraken key, `web` needs a
webhook secret), so all settings are optional at the model level and `load_settings` checks the
subset a command asks for. Failures surface as `ConfigError`, whose text names the setting and
the rule it broke but never the value: operators paste start-up errors into tickets.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AliasChoices,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.state.budget import DEFAULT_REQUESTS_PER_HOUR
from bot.watches import WatchPolicy

SUPPORTED_LOCALES: tuple[str, ...] = ("en", "de", "es", "fr")

# Telegram accepts X-Telegram-Bot-Api-Secret-Token values of 1-256 of these characters.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_BOT_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")
_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
# Shared secrets an outsider must not guess (Telegram's own limit for the webhook one is 1).
MIN_SECRET_LENGTH = 16
_PLAIN_SECONDS = re.compile(r"[+-]?\d+(?:\.\d+)?")


class ConfigError(Exception):
    """A setting is missing or malformed; `str()` is the one line shown to the operator."""

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(f"configuration error: {setting}: {reason}")
        self.setting = setting
        self.reason = reason


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not a valid URL")
    return value


def _plain_seconds(value: object) -> object:
    """Read "3600" as seconds; anything else goes on to pydantic (ISO 8601 such as P7D, PT1H)."""
    if isinstance(value, str) and _PLAIN_SECONDS.fullmatch(value.strip()):
        seconds = float(value)
        try:
            return timedelta(seconds=seconds)
        except OverflowError:  # beyond what timedelta holds: certainly out of bounds
            return timedelta.max if seconds > 0 else timedelta.min
    return value


def _positive_up_to(days: int) -> AfterValidator:
    def check(value: timedelta) -> timedelta:
        if not timedelta(0) < value <= timedelta(days=days):
            unit = "day" if days == 1 else "days"
            raise ValueError(f"must be more than 0 and at most {days} {unit}")
        return value

    return AfterValidator(check)


# A duration setting: plain seconds or ISO 8601, longer than zero and bounded.
_UpTo30Days = Annotated[timedelta, BeforeValidator(_plain_seconds), _positive_up_to(30)]
_UpTo400Days = Annotated[timedelta, BeforeValidator(_plain_seconds), _positive_up_to(400)]
_UpTo1Day = Annotated[timedelta, BeforeValidator(_plain_seconds), _positive_up_to(1)]


def _networks(value: str | None) -> tuple[IPv4Network | IPv6Network, ...]:
    """Comma- or space-separated addresses or networks (CIDR)."""
    parts = (value or "").replace(",", " ").split()
    return tuple(ip_network(part, strict=False) for part in parts)


def _env(*names: str) -> AliasChoices:
    """A setting read under its name or an older one (lower case: how pydantic-settings
    matches environment variables here)."""
    return AliasChoices(*(name.lower() for name in names), *names)


class Settings(BaseSettings):
    """Field names are the environment variable names, lower-cased."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_bot_username: str | None = None
    kraken_api_url: str | None = None
    kraken_api_key: SecretStr | None = None
    # Kraken's request budget, shared by every process on this Redis (bot.state.budget):
    # background looks defer when it runs low; a customer's tap never waits on it.
    kraken_requests_per_hour: int = Field(default=DEFAULT_REQUESTS_PER_HOUR, ge=1, le=1_000_000)
    redis_url: str | None = None
    redis_prefix: str = "sfa:"
    public_url: str | None = None
    port: int = Field(default=8080, ge=1, le=65535)
    webhook_secret: SecretStr | None = None
    support_api_token: SecretStr | None = None
    default_locale: str = "en"
    handoff_ttl: _UpTo30Days = timedelta(days=7)
    # How long a chat stays bound to its account after it was last used.
    binding_ttl: _UpTo400Days = timedelta(days=90)
    data_dir: Path = Path("var")
    log_level: str = "INFO"
    # Notifier pacing: first look after this many seconds, growing to the cap, giving up after.
    # ("Polling" means Telegram's getUpdates only; the POLL_* names are still read.)
    watch_first_delay: float = Field(
        default=3.0, gt=0, le=3600, validation_alias=_env("WATCH_FIRST_DELAY", "POLL_FIRST_DELAY")
    )
    watch_max_delay: float = Field(
        default=60.0, gt=0, le=3600, validation_alias=_env("WATCH_MAX_DELAY", "POLL_MAX_DELAY")
    )
    watch_give_up_after: _UpTo30Days = Field(
        default=timedelta(hours=1),
        validation_alias=_env("WATCH_GIVE_UP_AFTER", "POLL_GIVE_UP_AFTER"),
    )
    # After LIVE, how often the notifier looks at a chat's devices for news (with jitter).
    alerts_every: _UpTo1Day = timedelta(minutes=30)

    # How long a test charge takes (Kraken does not say; the progress bar is drawn from it)
    # and how often a wait's progress line is refreshed.
    test_charge_seconds: float = Field(default=420.0, gt=0, le=7200)
    progress_every: float = Field(default=45.0, ge=1, le=3600)

    # Voice notes (bot.voice): recognition and synthesis run in VOICE_WORKERS processes
    # ("thread": one thread, for tests and small machines), each note within VOICE_TIMEOUT
    # seconds. Spoken screens are cached in Redis for VOICE_CACHE_TTL, at most
    # VOICE_CACHE_ITEMS notes of at most VOICE_CACHE_ITEM_BYTES each.
    voice_enabled: bool = True
    voice_workers: int = Field(default=1, ge=1, le=32)
    voice_executor: Literal["process", "thread"] = "process"
    voice_timeout: float = Field(default=20.0, gt=0, le=120)
    voice_cache_ttl: _UpTo30Days = timedelta(days=7)
    voice_cache_items: int = Field(default=512, ge=1, le=100_000)
    voice_cache_item_bytes: int = Field(default=512 * 1024, ge=1024, le=20 * 1024 * 1024)

    # The support console (bot.console): sign-ins end after this long without a request;
    # sessions are signed with SUPPORT_SESSION_SECRET (else a random one kept in Redis). Behind
    # an identity-aware proxy, SUPPORT_TRUSTED_USER_HEADER names the header carrying the
    # signed-in user, believed only from SUPPORT_TRUSTED_PROXIES (addresses or networks).
    support_session_idle: _UpTo1Day = timedelta(minutes=30)
    support_session_secret: SecretStr | None = None
    support_trusted_user_header: str | None = None
    support_trusted_proxies: str | None = None

    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """SUPPORT_TRUSTED_PROXIES as networks (a bare address is a /32 or /128)."""
        return _networks(self.support_trusted_proxies)

    def watch_policy(self) -> WatchPolicy:
        return WatchPolicy(
            first_delay=self.watch_first_delay,
            max_delay=max(self.watch_max_delay, self.watch_first_delay),
            give_up_after=self.watch_give_up_after,
            alerts_every=self.alerts_every,
        )

    def bot_token(self) -> str:
        """The token in clear, for the Telegram client only (never log it)."""
        if self.telegram_bot_token is None:
            raise ConfigError("TELEGRAM_BOT_TOKEN", "is required but not set")
        return self.telegram_bot_token.get_secret_value()

    def bot_id(self) -> int:
        """The numeric id Telegram encodes in the token's first half; needs no API call."""
        return int(self.bot_token().split(":", 1)[0])

    @field_validator("telegram_api_url", "public_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        """Bases we append paths to: a trailing slash would double up."""
        return None if value is None else _http_url(value).rstrip("/")

    @field_validator("kraken_api_url")
    @classmethod
    def _check_endpoint_url(cls, value: str | None) -> str | None:
        """Kept verbatim: Kraken's endpoint ends in a slash and redirects without it."""
        return None if value is None else _http_url(value)

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("not a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("telegram_bot_token")
    @classmethod
    def _check_bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", value.get_secret_value()):
            raise ValueError("not a bot token of the form <digits>:<characters>")
        return value

    @field_validator("telegram_bot_username")
    @classmethod
    def _check_username(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.removeprefix("@")
        if not _BOT_USERNAME.fullmatch(value):
            raise ValueError("not a Telegram username (5-32 letters, digits or _)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1-256 characters from A-Z a-z 0-9 _ -")
        return value

    @field_validator("webhook_secret", "support_api_token", "support_session_secret")
    @classmethod
    def _check_secret_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters long")
        return value

    @field_validator("support_trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: str | None) -> str | None:
        try:
            _networks(value)
        except ValueError:
            raise ValueError("not a list of IP addresses or networks") from None
        return value

    @field_validator("support_trusted_user_header")
    @classmethod
    def _check_header_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9-]{1,64}", value):
            raise ValueError("not an HTTP header name")
        return value

    @field_validator("default_locale")
    @classmethod
    def _check_locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        if value.upper() not in _LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")
        return value.upper()

    def secret_values(self) -> list[str]:
        """Every configured secret in clear, for the log redactor."""
        values = (getattr(self, name) for name in type(self).model_fields)
        return [v.get_secret_value() for v in values if isinstance(v, SecretStr)]

    @property
    def log_level_number(self) -> int:
        return logging.getLevelNamesMapping()[self.log_level]


def _friendly(error: dict[str, Any]) -> str:
    """Pydantic's message without its prefix; never the input, which may be a secret."""
    kind = error["type"]
    if kind in ("int_parsing", "int_type"):
        return "not a whole number"
    if kind in ("greater_than_equal", "less_than_equal"):
        return "out of range"
    if kind.startswith("time_delta"):
        return "not a duration (seconds or ISO 8601, e.g. P7D)"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _env_name(field: str) -> str:
    return field.upper()


def load_settings(required: Iterable[str] = ()) -> Settings:
    """Read the settings and insist that every name in `required` (env var names) is set."""
    wanted = set(required)
    unknown = {name for name in wanted if name.lower() not in Settings.model_fields}
    if unknown:
        raise ValueError(f"unknown settings requested: {sorted(unknown)}")
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(_env_name(str(first["loc"][0])), _friendly(dict(first))) from None
    for name in sorted(wanted):
        if getattr(settings, name.lower()) is None:
            raise ConfigError(name, "is required but not set")
    return settings
