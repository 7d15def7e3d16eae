from redis.asyncio import Redis

from bot.state.keys import KeySpace
from bot.state.oauth import OAuthStates, OAuthTarget


async def test_a_recorded_state_leads_to_its_chat_exactly_once(redis_client: Redis) -> None:
    states = OAuthStates(redis_client, KeySpace("t:"))
    await states.record("abc123", chat_id=42, wizard_id="W9")
    assert await states.take("abc123") == OAuthTarget(chat_id=42, wizard_id="W9")
    assert await states.take("abc123") is None  # a replayed redirect finds nothing


async def test_unknown_empty_and_oversized_states_find_nothing(redis_client: Redis) -> None:
    states = OAuthStates(redis_client, KeySpace("t:"))
    await states.record("real", chat_id=1, wizard_id="W")
    assert await states.take("forged") is None
    assert await states.take("") is None
    assert await states.take("x" * 10_000) is None
    assert await states.take("real") is not None


async def test_only_a_hash_of_the_state_is_stored(redis_client: Redis) -> None:
    states = OAuthStates(redis_client, KeySpace("t:"))
    await states.record("secret-state-value", chat_id=1, wizard_id="W")
    keys = [key async for key in redis_client.scan_iter("t:*")]
    assert keys and all(b"secret-state-value" not in key for key in keys)
    values = [await redis_client.get(key) for key in keys]
    assert all(b"secret-state-value" not in value for value in values)
