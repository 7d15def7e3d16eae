from pathlib import Path

import redis

from bot.embedded_redis import EmbeddedRedis


def test_embedded_server_is_a_real_redis_that_keeps_data_until_stopped(tmp_path: Path) -> None:
    server = EmbeddedRedis(data_dir=tmp_path)
    url = server.start()
    try:
        client = redis.Redis.from_url(url)
        client.set("k", "v", ex=60)
        assert client.get("k") == b"v"
        ttl = client.ttl("k")
        assert isinstance(ttl, int) and 0 < ttl <= 60
        client.close()
    finally:
        server.stop()
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.2).ping()
    except redis.ConnectionError:
        pass
    else:
        raise AssertionError("server still answering after stop()")


async def test_fixture_client_talks_to_redis(redis_client) -> None:  # type: ignore[no-untyped-def]
    await redis_client.rpush("q", "a", "b")
    assert await redis_client.lrange("q", 0, -1) == [b"a", b"b"]
