from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from bot.config import ConfigError, Settings
from bot.handoff.identity import resolve_bot_username
from bot.logging_setup import configure_logging

BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
KRAKEN_KEY = "sk_live_kraken_0123456789abcdef"
OTHER_BOT_TOKEN = "987654321:ZZHdqTcvCH1vGWJxfSeofSAs0K5PALDsxx"
HANDOFF_TOKEN = "Qm9vZ3kgd29vZ2llIG11Y2ggc2VjcmV0"
OAUTH_STATE = "st8_Zr4nd0m-V4lu3.xyz~01"
OAUTH_CODE = "c0de/Gr4nt+Value%2Fabc"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(logging.DEBUG, [BOT_TOKEN, KRAKEN_KEY], stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


async def test_httpx_request_log_does_not_leak_the_bot_token(captured: io.StringIO) -> None:
    """httpx logs every request URL at INFO, and Bot API URLs contain the token."""
    settings = Settings(telegram_bot_token=SecretStr(BOT_TOKEN))

    def telegram(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"ok": True, "result": {"username": "SmartFlexBot"}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(telegram)) as client:
        assert await resolve_bot_username(settings, client) == "SmartFlexBot"
    output = captured.getvalue()
    assert "getMe" in output, "httpx did not log the request; the test proves nothing"
    assert BOT_TOKEN not in output
    assert BOT_TOKEN.split(":")[1] not in output


def test_secrets_never_reach_the_log_in_any_position(captured: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    log.info("calling kraken with key %s", KRAKEN_KEY)
    log.warning("webhook for another bot: /bot%s/sendMessage", OTHER_BOT_TOKEN)
    log.info("update text", extra={"text": f"/start {HANDOFF_TOKEN}", "user": 42})
    log.info("link https://t.me/SmartFlexBot?start=%s issued", HANDOFF_TOKEN)
    try:
        raise RuntimeError(f"auth failed for {KRAKEN_KEY}")
    except RuntimeError:
        log.exception("kraken login failed")
    output = captured.getvalue()
    for secret in (KRAKEN_KEY, OTHER_BOT_TOKEN, HANDOFF_TOKEN):
        assert secret not in output
    assert output.count("[redacted]") >= 5
    assert "logger=bot.test" in output and "user=42" in output and "RuntimeError" in output


async def test_getme_failure_names_the_setting_not_the_url() -> None:
    settings = Settings(telegram_bot_token=SecretStr(BOT_TOKEN))

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(down)) as client:
        with pytest.raises(ConfigError) as caught:
            await resolve_bot_username(settings, client)
    assert caught.value.setting == "TELEGRAM_API_URL"
    assert BOT_TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        f"/start@SomeBot {HANDOFF_TOKEN}",
        f"/start@smartflex_demo_bot {HANDOFF_TOKEN}",
        f"/start {HANDOFF_TOKEN}",
        f"/start  {HANDOFF_TOKEN}",
    ],
)
def test_start_command_tokens_are_redacted_in_update_dicts(
    captured: io.StringIO, text: str
) -> None:
    """PTB logs whole updates at DEBUG, i.e. the repr of a dict holding the command text."""
    update = {"update_id": 7, "message": {"chat": {"id": 42}, "text": text}}
    logging.getLogger("telegram.ext.Application").debug("Processing update %s", update)
    logging.getLogger("bot.test").info("command", extra={"text": text})
    output = captured.getvalue()
    assert "Processing update" in output and "'update_id': 7" in output
    assert HANDOFF_TOKEN not in output
    assert output.count("[redacted]") == 2


@pytest.mark.parametrize(
    "url",
    [
        f"https://bot.example/oauth/callback?state={OAUTH_STATE}&code={OAUTH_CODE}",
        f"https://bot.example/oauth/callback?code={OAUTH_CODE}&state={OAUTH_STATE}",
        f"https://bot.example/oauth/callback?scope=x&STATE={OAUTH_STATE}&Code={OAUTH_CODE}#frag",
        "https://auth.example/authorize?redirect_uri=https%3A%2F%2Fbot.example%2Fcb"
        f"%3Fstate%3D{OAUTH_STATE}%26code%3D{OAUTH_CODE}&client_id=x",
    ],
)
def test_oauth_state_and_code_are_redacted(captured: io.StringIO, url: str) -> None:
    log = logging.getLogger("bot.test")
    log.info("HTTP Request: GET %s", url)
    log.debug("update %s", {"message": {"reply_markup": {"inline_keyboard": [[{"url": url}]]}}})
    log.info('"GET /oauth/callback?%s HTTP/1.1" 200', url.partition("?")[2])
    output = captured.getvalue()
    assert len(output.splitlines()) == 3, "a record went missing; the test proves nothing"
    assert OAUTH_STATE not in output and OAUTH_CODE not in output
    assert output.count("[redacted]") == 6


def test_ordinary_words_near_the_patterns_survive(captured: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    log.info("conversation state=SIGNING_IN after /start, error code=KT-CT-1124")
    output = captured.getvalue()
    assert "state=SIGNING_IN" in output and "code=KT-CT-1124" in output
    assert "[redacted]" not in output
