from redis.asyncio import Redis

from bot.state.bindings import Binding, ChatBindings
from bot.state.keys import KeySpace


async def test_a_binding_outlives_nothing_but_its_own_ttl(redis_client: Redis) -> None:
    keys = KeySpace("t:")
    bindings = ChatBindings(redis_client, keys)
    assert await bindings.get(5) is None
    await bindings.bind(5, Binding("A-1234ABCD", 2))
    assert await bindings.get(5) == Binding("A-1234ABCD", 2)
    ttl = await redis_client.ttl(keys.binding(5))
    assert ttl > 60 * 24 * 3600  # months, not the conversation's weeks
    await redis_client.delete(keys.conversation(5))  # losing the conversation keeps the binding
    assert await bindings.get(5) == Binding("A-1234ABCD", 2)
