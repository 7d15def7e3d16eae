"""Async client for Kraken's SmartFlex onboarding GraphQL API. Knows nothing of Telegram."""

from kraken.client import KrakenClient
from kraken.credentials import (
    ApiKeyCredentials,
    Credentials,
    PasswordCredentials,
    RefreshTokenCredentials,
)
from kraken.errors import ErrorCategory, KrakenError
from kraken.retry import RetryPolicy

__all__ = [
    "ApiKeyCredentials",
    "Credentials",
    "ErrorCategory",
    "KrakenClient",
    "KrakenError",
    "PasswordCredentials",
    "RefreshTokenCredentials",
    "RetryPolicy",
]
