"""Keeps tokens, API keys and passwords out of log output, including httpx's own loggers.

The client registers every secret it handles here; the filter rewrites any record that would
print one. Filters on a logger do not see records of its child loggers, so each logger that
may print request details gets the filter explicitly.
"""

from __future__ import annotations

import logging
import threading

REDACTED = "[REDACTED]"
_MIN_SECRET_LENGTH = 6
_MAX_SECRETS = 256
_LOGGERS = (
    "kraken",
    "kraken.client",
    "kraken.http",
    "kraken.auth",
    "kraken.retry",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)


class SecretRedactor(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._secrets: dict[str, None] = {}
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        """Remember a secret (the oldest are forgotten once tokens have rotated many times)."""
        if len(secret) < _MIN_SECRET_LENGTH:
            return
        with self._lock:
            self._secrets.pop(secret, None)
            self._secrets[secret] = None
            while len(self._secrets) > _MAX_SECRETS:
                del self._secrets[next(iter(self._secrets))]

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = list(self._secrets)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


REDACTOR = SecretRedactor()


def install() -> None:
    """Attach the shared redactor to every logger that might print a request (idempotent)."""
    for name in _LOGGERS:
        log = logging.getLogger(name)
        if REDACTOR not in log.filters:
            log.addFilter(REDACTOR)
