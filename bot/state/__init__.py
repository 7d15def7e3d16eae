"""Shared, restart-proof bot state in Redis: conversations, chat locks, the update ledger."""

from bot.state.conversations import (
    DEFAULT_CONVERSATION_TTL,
    SCHEMA_VERSION,
    ConversationStore,
    StaleWrite,
    StoredConversation,
    UnsupportedVersion,
)
from bot.state.inbound import UpdateLedger
from bot.state.keys import DEFAULT_PREFIX, KeySpace
from bot.state.lock import ChatLock, LockTimeout

__all__ = [
    "DEFAULT_CONVERSATION_TTL",
    "DEFAULT_PREFIX",
    "SCHEMA_VERSION",
    "ChatLock",
    "ConversationStore",
    "KeySpace",
    "LockTimeout",
    "StaleWrite",
    "StoredConversation",
    "UnsupportedVersion",
    "UpdateLedger",
]
