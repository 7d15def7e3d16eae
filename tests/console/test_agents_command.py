"""`python -m bot agents ...`: the operator makes, lists and disables console agents."""

from __future__ import annotations

import io
from typing import Any, cast

import pytest
import redis

from bot.cli import main
from bot.state.keys import KeySpace

PREFIX = "agents-cli:"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> redis.Redis:
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("REDIS_PREFIX", PREFIX)
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    return client


def test_add_list_disable(
    env: redis.Redis, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a password long enough\n"))
    assert main(["agents", "add", "alice", "--admin", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["agents", "add", "bob", "--password-stdin"]) == 1
    assert "at least 10 characters" in capsys.readouterr().err
    assert main(["agents", "list"]) == 0
    listed = capsys.readouterr().out
    assert "alice" in listed and "admin" in listed and "bob" not in listed
    stored = cast(bytes | None, env.hget(KeySpace(PREFIX).agents(), "alice"))
    assert stored is not None and b"argon2id" in stored and b"long enough" not in stored
    assert main(["agents", "disable", "alice"]) == 0
    assert main(["agents", "disable", "nobody"]) == 1
    capsys.readouterr()
    assert main(["agents", "list"]) == 0
    assert "disabled" in capsys.readouterr().out
    entries = cast(list[Any], env.xrange(KeySpace(PREFIX).audit_log()))
    actions = [fields[b"action"] for _, fields in entries]
    assert actions == [b"agent_added", b"agent_disabled"]


def test_a_bad_name_is_refused_with_one_line(
    env: redis.Redis, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a password long enough\n"))
    assert main(["agents", "add", "<b>", "--password-stdin"]) == 1
    assert capsys.readouterr().err.startswith("error: an agent name is")
