"""Start-up settings of the emulator: which bots exist and how strict the clock-driven rules are."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

DEFAULT_TOKEN = "123456:TEST-TOKEN"
DEFAULT_USERNAME = "smartflex_demo_bot"

Clock = Callable[[], float]
"""Seconds since the epoch. Injected so tests can age callback queries and refill rate buckets."""


@dataclass(frozen=True)
class BotIdentity:
    token: str
    username: str
    first_name: str = "SmartFlex Demo"

    def __post_init__(self) -> None:
        prefix, sep, secret = self.token.partition(":")
        if not (prefix.isdigit() and sep and secret):
            raise ValueError("a bot token looks like <digits>:<secret>")

    @property
    def bot_id(self) -> int:
        return int(self.token.split(":", 1)[0])

    @classmethod
    def parse(cls, spec: str) -> BotIdentity:
        """`TOKEN` or `TOKEN=username`; extra bots get a username derived from their id."""
        token, _, username = spec.partition("=")
        if not username:
            prefix = token.split(":", 1)[0]
            username = DEFAULT_USERNAME if token == DEFAULT_TOKEN else f"test{prefix}_bot"
        return cls(token=token, username=username)


@dataclass(frozen=True)
class RateLimits:
    """Telegram's documented ceilings: 30 messages/s per bot, about one per second per chat."""

    global_per_second: float = 30.0
    global_burst: float = 30.0
    chat_per_second: float = 1.0
    chat_burst: float = 3.0


@dataclass
class EmulatorConfig:
    bots: tuple[BotIdentity, ...] = (BotIdentity(DEFAULT_TOKEN, DEFAULT_USERNAME),)
    clock: Clock = time.time
    rate_limits_enabled: bool = False
    rate_limits: RateLimits = field(default_factory=RateLimits)
    callback_answer_deadline_s: float = 15.0
    # Transport for webhook deliveries; None means real HTTP. In-process tests inject an
    # httpx.ASGITransport so updates can be delivered into another ASGI app.
    webhook_transport: httpx.AsyncBaseTransport | None = None
    # Waits between failed webhook deliveries; the last one repeats until delivery succeeds.
    webhook_retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
    webhook_timeout_s: float = 10.0
