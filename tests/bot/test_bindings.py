from redis.asyncio import Redis

from bot.state.alerts import AlertLedger, SeenDevice
from bot.state.bindings import Binding, ChatBindings, revoke_chat
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


async def test_a_revoked_chat_hears_no_more_device_news_and_starts_over_as_a_stranger(
    redis_client: Redis,
) -> None:
    keys = KeySpace("t:")
    await ChatBindings(redis_client, keys).bind(5, Binding("A-1234ABCD", 1))
    ledger = AlertLedger(redis_client, keys)
    await ledger.record(5, {"dev-1": SeenDevice(live=True, paused=False, reauth=False)})
    await ledger.set_enabled(5, False)
    await redis_client.hset(keys.device_watches(), "5", "token")  # type: ignore[misc]

    assert await revoke_chat(redis_client, keys, 5) == Binding("A-1234ABCD", 1)

    assert (await ledger.told(5)).seen == {}
    assert await ledger.enabled(5)
    assert await redis_client.hget(keys.device_watches(), "5") is None  # type: ignore[misc]
