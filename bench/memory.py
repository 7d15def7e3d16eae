"""Redis memory accounting for the capacity benchmark (how many chats fit in N MB)."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.state.keys import KeySpace


async def conversation_bytes(redis: Redis, chat_id: int, keys: KeySpace | None = None) -> int:
    """Bytes Redis spends on one chat's document (MEMORY USAGE, all samples); 0 if absent."""
    key = (keys or KeySpace()).conversation(chat_id)
    usage = await redis.memory_usage(key, samples=0)
    return int(usage) if usage is not None else 0
