"""Async client for Kraken's SmartFlex onboarding GraphQL API. Knows nothing of Telegram."""

from kraken.capabilities import Capabilities, Deprecation
from kraken.client import KrakenClient
from kraken.credentials import (
    ApiKeyCredentials,
    Credentials,
    PasswordCredentials,
    RefreshTokenCredentials,
)
from kraken.errors import CapabilityMissing, ErrorCategory, KrakenError
from kraken.retry import RetryPolicy
from kraken.schema import DEFAULT_TTL as SCHEMA_TTL
from kraken.schema import SchemaCache

__all__ = [
    "SCHEMA_TTL",
    "ApiKeyCredentials",
    "Capabilities",
    "CapabilityMissing",
    "Credentials",
    "Deprecation",
    "ErrorCategory",
    "KrakenClient",
    "KrakenError",
    "PasswordCredentials",
    "RefreshTokenCredentials",
    "RetryPolicy",
    "SchemaCache",
]
