"""Structured (logfmt) logging with secrets scrubbed before any handler writes a line.

Redaction sits in a handler filter rather than at call sites because the leaks come from
libraries: httpx logs every request URL, and Bot API URLs carry the bot token in their path
(`/bot123:ABC/sendMessage`); PTB logs raw updates, whose `/start <token>` (or
`/start@bot <token>`) text is a live hand-off link; OAuth redirects carry `state` and `code`.
Known secret values are replaced verbatim, and the shapes above by pattern, so a secret the
process never configured (another bot's token in a test) is still hidden.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any, ClassVar

REDACTED = "[redacted]"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Bot API paths and bare bot tokens: bot123456:AA..., 123456:AA...
    (re.compile(r"\b(bot)?\d{5,}:[A-Za-z0-9_-]{20,}"), rf"\g<1>{REDACTED}"),
    # Hand-off tokens in deep links and in the /start command that redeems them, also in the
    # form Telegram sends from group chats and menus: /start@SomeBot <token>.
    (
        re.compile(r"([?&]start=|/start(?:@[A-Za-z0-9_]+)?\s+)[A-Za-z0-9_-]{8,}"),
        rf"\g<1>{REDACTED}",
    ),
    # OAuth `state` (finds the chat on the callback) and `code` (the grant) in query strings,
    # plain or percent-encoded inside another URL (redirect_uri=...%3Fstate%3D...).
    (
        re.compile(r"(?i)((?:[?&]|%3F|%26)(?:state|code)(?:=|%3D))(?:(?!%26)[^&\s'\"#\\<>])+"),
        rf"\g<1>{REDACTED}",
    ),
    # Bearer and JWT-style Kraken tokens in headers a library might log.
    (
        re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|jwt)?\s*)[^\s\"',]+"),
        rf"\g<1>{REDACTED}",
    ),
)


class Redactor:
    """Replaces configured secret values and secret-shaped substrings in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        # Very short values would redact ordinary words; none of our secrets is that short.
        if len(secret) >= 6:
            self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


class RedactingFilter(logging.Filter):
    """Freezes the record's message (args merged in) and traceback in redacted form."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor(record.stack_info)
        for key in _extra_keys(record):
            value = record.__dict__[key]
            if isinstance(value, str):
                record.__dict__[key] = self.redactor(value)
        return True


_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def _extra_keys(record: logging.LogRecord) -> list[str]:
    return [key for key in record.__dict__ if key not in _STANDARD_ATTRS]


def _logfmt_value(value: Any) -> str:
    text = str(value)
    if not text or any(ch in text for ch in ' ="\n'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


class LogfmtFormatter(logging.Formatter):
    """One `key=value` line per record; `extra={...}` fields become keys of their own."""

    leading: ClassVar[tuple[str, ...]] = ("ts", "level", "logger", "msg")

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields.update({key: record.__dict__[key] for key in _extra_keys(record)})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            fields["exc"] = record.exc_text
        return " ".join(f"{key}={_logfmt_value(value)}" for key, value in fields.items())


def configure_logging(
    level: int | str = logging.INFO,
    secrets: Iterable[str] = (),
    stream: IO[str] | None = None,
) -> Redactor:
    """Route every logger to one redacting logfmt handler (stderr by default).

    stderr, because commands such as `handoff` print their result on stdout. The returned
    redactor accepts more secrets later (e.g. a Kraken token obtained at run time).
    """
    redactor = Redactor(secrets)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(RedactingFilter(redactor))
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request at INFO — with long polling that is one line per 10 s per
    # process, drowning the bot's own lines. Kraken calls are logged by kraken.http anyway;
    # at DEBUG everything comes back (still redacted).
    quiet = max(logging.WARNING, root.level) if root.level > logging.DEBUG else root.level
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(quiet)
    return redactor
