from __future__ import annotations

from pathlib import Path

import pytest

from bot.redis_conn import open_redis, redis_connection


async def test_configured_url_is_used_and_returned_for_sharing(redis_url: str) -> None:
    async with redis_connection(redis_url, Path("unused")) as connection:
        assert connection.url == redis_url
        assert connection.embedded is None
        assert await connection.client.ping()


async def test_embedded_server_is_shared_and_keeps_state_across_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    bot = await open_redis(None, tmp_path)
    try:
        assert bot.embedded is not None
        support_cli = await open_redis(None, tmp_path)  # e.g. `python -m bot handoff`
        assert (support_cli.url, support_cli.embedded) == (bot.url, None)
        await support_cli.client.set("sfa:probe", "kept")
        await support_cli.close()
        assert await bot.client.get("sfa:probe") == b"kept"
    finally:
        await bot.close()

    restarted = await open_redis(None, tmp_path)
    try:
        assert restarted.embedded is not None, "a stale URL file was trusted"
        assert await restarted.client.get("sfa:probe") == b"kept"
    finally:
        await restarted.close()
