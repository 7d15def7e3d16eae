"""The operator's view: `python -m bot ...` run as a separate process."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.handoff import HandoffService, HandoffUsed
from bot.state import KeySpace
from bot.state.bindings import Binding, ChatBindings
from dialogs.events import ReAuthenticate
from scripts.processes import ManagedProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"https://t\.me/SmartFlexBot\?start=[A-Za-z0-9_-]{32}")
SECRET = "Sup3rSecretValue"
SANDBOX_KEY = "sandbox-api-key"


@pytest.fixture(scope="module")
def kraken_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Kraken sandbox as its own process, as support's Kraken would be."""
    port = free_port()
    sandbox = ManagedProcess.python_module(
        "kraken",
        "sandbox.kraken",
        ["--host", "127.0.0.1", "--port", str(port)],
        tmp_path_factory.mktemp("kraken-log"),
        ready_url=f"http://127.0.0.1:{port}/sandbox/health",
    )
    sandbox.start()
    try:
        sandbox.wait_ready()
        yield f"http://127.0.0.1:{port}/v1/graphql/"
    finally:
        sandbox.stop()


@pytest.fixture
def handoff_env(redis_url: str, kraken_url: str) -> dict[str, str]:
    return {
        "REDIS_URL": redis_url,
        "TELEGRAM_BOT_USERNAME": "SmartFlexBot",
        "KRAKEN_API_URL": kraken_url,
        "KRAKEN_API_KEY": SANDBOX_KEY,
    }


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


async def run_bot(cwd: Path, env: dict[str, str], *args: str) -> Run:
    """Run with only the given environment, from a directory of the test's own (no stray .env)."""
    full_env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **env}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        cwd=cwd, env=full_env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


def assert_one_line_error(run: Run, expected: str) -> None:
    assert run.code == 2
    assert run.stderr.strip() == expected
    assert "Traceback" not in run.stderr and SECRET not in run.stderr + run.stdout


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"KRAKEN_API_KEY": SECRET, "TELEGRAM_BOT_TOKEN": "1:abc"},
            "configuration error: KRAKEN_API_URL: is required but not set",
        ),
        (
            {"KRAKEN_API_URL": "kraken.example", "KRAKEN_API_KEY": SECRET},
            "configuration error: KRAKEN_API_URL: not a valid URL",
        ),
        (
            {"TELEGRAM_BOT_TOKEN": SECRET},
            "configuration error: TELEGRAM_BOT_TOKEN: "
            "not a bot token of the form <digits>:<characters>",
        ),
        (
            {"WEBHOOK_SECRET": f"{SECRET} with spaces!"},
            "configuration error: WEBHOOK_SECRET: must be 1-256 characters from A-Z a-z 0-9 _ -",
        ),
        (
            {"DEFAULT_LOCALE": "it"},
            "configuration error: DEFAULT_LOCALE: must be one of en, de, es, fr",
        ),
        ({"PORT": "eighty"}, "configuration error: PORT: not a whole number"),
    ],
)
async def test_bad_configuration_stops_start_up_with_one_line(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    assert_one_line_error(await run_bot(tmp_path, env, "run"), expected)


async def test_web_mode_also_needs_its_webhook_settings(tmp_path: Path) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "KRAKEN_API_URL": "http://127.0.0.1:8500/v1/graphql/",
        "KRAKEN_API_KEY": SECRET,
        "WEBHOOK_SECRET": "hook-secret-0123456789",
    }
    run = await run_bot(tmp_path, env, "web")
    assert_one_line_error(run, "configuration error: PUBLIC_URL: is required but not set")


async def test_settings_are_read_from_dot_env(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"KRAKEN_API_URL=ftp://kraken\nKRAKEN_API_KEY={SECRET}\n")
    run = await run_bot(tmp_path, {"TELEGRAM_BOT_TOKEN": "1:abc"}, "run")
    assert_one_line_error(run, "configuration error: KRAKEN_API_URL: not a valid URL")


async def test_handoff_prints_a_redeemable_link_last(
    tmp_path: Path, handoff_env: dict[str, str], redis_client: aioredis.Redis
) -> None:
    qr = tmp_path / "link.png"
    run = await run_bot(
        tmp_path, handoff_env,
        "handoff", "--account", "A-SANDBOX1", "--property", "1",
        "--intent", "reauth:dev-7", "--qr", str(qr),
    )  # fmt: skip
    assert run.code == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert LINK.fullmatch(lines[-1])
    assert any("A-SANDBOX1" in line for line in lines[:-1])
    assert qr.read_bytes().startswith(b"\x89PNG")
    grant = await HandoffService(redis_client).redeem(lines[-1].rpartition("=")[2])
    assert (grant.account_number, grant.property_id, grant.intent) == (
        "A-SANDBOX1",
        1,
        ReAuthenticate("dev-7"),
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--account", "12345"],
            "error: --account: must look like A-1B2C3D4E (A- then letters and digits)",
        ),
        (["--account", "A-1", "--property", "x"], "error: --property: "),
        (["--account", "A-1", "--intent", "resume:"], "error: --intent: "),
    ],
)
async def test_handoff_rejects_bad_arguments(
    tmp_path: Path, redis_url: str, args: list[str], expected: str
) -> None:
    env = {
        "REDIS_URL": redis_url,
        "TELEGRAM_BOT_USERNAME": "SmartFlexBot",
        "KRAKEN_API_URL": "http://127.0.0.1:1/v1/graphql/",  # never asked: arguments first
        "KRAKEN_API_KEY": SECRET,
    }
    run = await run_bot(tmp_path, env, "handoff", *args)
    assert run.code == 2
    assert run.stderr.startswith(expected) and run.stderr.count("\n") == 1
    assert run.stdout == ""


async def test_handoff_without_a_way_to_name_the_bot_says_what_to_set(
    tmp_path: Path, handoff_env: dict[str, str]
) -> None:
    env = {**handoff_env, "KRAKEN_API_KEY": SECRET}
    del env["TELEGRAM_BOT_USERNAME"]
    run = await run_bot(tmp_path, env, "handoff", "--account", "A-1")
    assert_one_line_error(
        run,
        "configuration error: TELEGRAM_BOT_USERNAME: "
        "is required (or set TELEGRAM_BOT_TOKEN to look it up)",
    )


def test_every_command_is_in_the_one_table() -> None:
    from bot.cli import COMMANDS

    names = [c.name for c in COMMANDS]
    assert {"run", "web", "worker", "handoff", "revoke-link", "revoke-chat", "doctor"} <= set(names)
    assert len(names) == len(set(names))
    assert all(callable(c.main) for c in COMMANDS)


# ---------------------------------------------------------------- hand-off checked with Kraken


async def test_handoff_needs_kraken_to_check_the_account(tmp_path: Path, redis_url: str) -> None:
    env = {"REDIS_URL": redis_url, "TELEGRAM_BOT_USERNAME": "SmartFlexBot"}
    run = await run_bot(tmp_path, env, "handoff", "--account", "A-SANDBOX1")
    assert_one_line_error(run, "configuration error: KRAKEN_API_KEY: is required but not set")


async def test_handoff_for_an_account_kraken_does_not_know_is_refused(
    tmp_path: Path, handoff_env: dict[str, str], redis_client: aioredis.Redis
) -> None:
    run = await run_bot(tmp_path, handoff_env, "handoff", "--account", "A-NOSUCH1")
    assert_one_line_error(
        run, "error: Kraken does not know account A-NOSUCH1 (or our API key may not act for it)"
    )
    assert run.stdout == ""
    assert await redis_client.dbsize() == 0


async def test_handoff_when_kraken_does_not_answer_issues_nothing(
    tmp_path: Path, handoff_env: dict[str, str], redis_client: aioredis.Redis
) -> None:
    env = {**handoff_env, "KRAKEN_API_URL": f"http://127.0.0.1:{free_port()}/v1/graphql/"}
    run = await run_bot(tmp_path, env, "handoff", "--account", "A-SANDBOX1")
    assert run.code == 1
    assert run.stderr.startswith("error: Kraken could not be reached (")
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert run.stdout == ""
    assert await redis_client.dbsize() == 0


async def test_handoff_without_a_property_says_which_one_the_chat_uses(
    tmp_path: Path, handoff_env: dict[str, str], redis_client: aioredis.Redis
) -> None:
    run = await run_bot(tmp_path, handoff_env, "handoff", "--account", "a-sandbox1")
    assert run.code == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert "property: 1 (default; Kraken cannot list an account's properties)" in lines
    grant = await HandoffService(redis_client).redeem(lines[-1].rpartition("=")[2])
    assert (grant.account_number, grant.property_id) == ("A-SANDBOX1", None)


# ---------------------------------------------------------------- revoking


async def test_revoke_link_makes_the_link_read_as_used(
    tmp_path: Path, redis_url: str, redis_client: aioredis.Redis
) -> None:
    service = HandoffService(redis_client)
    issued = await service.issue("A-SANDBOX1", 1, None)
    link = f"https://t.me/SmartFlexBot?start={issued.token}"
    env = {"REDIS_URL": redis_url}
    run = await run_bot(tmp_path, env, "revoke-link", link)
    assert (run.code, run.stdout, run.stderr) == (0, "revoked: the link no longer works\n", "")
    with pytest.raises(HandoffUsed):
        await service.inspect(issued.token)
    again = await run_bot(tmp_path, env, "revoke-link", issued.token)
    assert again.code == 1
    assert again.stdout.startswith("nothing to revoke: the link was already used")
    assert issued.token not in again.stdout + again.stderr


async def test_revoke_link_refuses_text_that_holds_no_token(tmp_path: Path, redis_url: str) -> None:
    run = await run_bot(tmp_path, {"REDIS_URL": redis_url}, "revoke-link", "https://t.me/Bot")
    assert_one_line_error(run, "error: not a hand-off link or token")


async def test_revoke_chat_says_which_account_the_chat_lost(
    tmp_path: Path, redis_url: str, redis_client: aioredis.Redis
) -> None:
    bindings = ChatBindings(redis_client, KeySpace())
    await bindings.bind(7007, Binding("A-SANDBOX1", 1))
    env = {"REDIS_URL": redis_url}
    run = await run_bot(tmp_path, env, "revoke-chat", "--chat", "7007")
    assert run.code == 0, run.stderr
    assert run.stdout.startswith("chat 7007 was bound to account A-SANDBOX1, property 1;")
    assert await bindings.get(7007) is None
    again = await run_bot(tmp_path, env, "revoke-chat", "--chat", "7007")
    assert again.code == 1
    assert again.stdout == "chat 7007 was not bound to an account; nothing to revoke\n"


async def test_revoke_chat_needs_a_chat_id(tmp_path: Path, redis_url: str) -> None:
    run = await run_bot(tmp_path, {"REDIS_URL": redis_url}, "revoke-chat", "--chat", "me")
    assert run.code == 2 and "--chat: invalid int value" in run.stderr
