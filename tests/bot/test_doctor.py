"""`python -m bot doctor`: the checks, the operations table and the verdict, in process.

Kraken is the fake from tests/kraken, serving an SDL each test edits (introspection answered
and documents validated by graphql-core); Telegram's getMe is a mock transport; Redis is real.
The separate-process runs against the sandbox are in tests/e2e/test_doctor.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.doctor import Report, diagnose, render_json, render_text
from tests.kraken.fakes import API_KEY, URL, FakeClock, FakeKraken, error
from tests.kraken.schemas import FULL_SDL, UK_ONLY, without

BOT_TOKEN = "123456:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQ"
DEC_2026 = datetime(2026, 12, 7, 12, tzinfo=UTC).timestamp()
START_TEST_CHARGE = "Mutation.startTestChargeForSmartFlexOnboarding"


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, kraken_api_url=URL, kraken_api_key=SecretStr(API_KEY), **values)


@pytest.fixture
def kraken() -> FakeKraken:
    return FakeKraken(FakeClock(DEC_2026))


async def run(kraken: FakeKraken, config: Settings | None = None, **kwargs: Any) -> Report:
    return await diagnose(
        config or settings(), kraken_transport=kraken.transport(), clock=kraken.clock, **kwargs
    )


def failures(report: Report) -> list[str]:
    return [check.line() for check in report.checks if check.outcome == "fail"]


def row(text: str, field: str) -> str:
    (line,) = [line for line in text.splitlines() if f" {field} " in f"{line} "]
    return line


async def test_an_instance_with_everything_passes_and_shows_what_is_used(
    kraken: FakeKraken,
) -> None:
    report = await run(kraken)
    text = render_text(report)
    assert report.ok and failures(report) == []
    assert "OK    authentication: token expires 2026-12-07 13:00 UTC (in 60 min)" in text
    assert "OK    introspection: allowed" in text
    assert row(text, "startTestChargeForSmartFlexOnboarding").endswith(
        "deprecated (removal on or after 2026-07-05)  <-"
    )
    assert not row(text, "triggerTestCharge").endswith("<-")
    assert "WARN  deprecated: Mutation.startTestChargeForSmartFlexOnboarding is in use; " in text
    assert "(passed: it may go any day)" in text
    assert text.splitlines()[-1] == "all checks passed"


async def test_start_test_charge_removed_means_trigger_test_charge(kraken: FakeKraken) -> None:
    kraken.sdl = without(FULL_SDL, [START_TEST_CHARGE])
    report = await run(kraken)
    text = render_text(report)
    assert report.ok
    assert row(text, "startTestChargeForSmartFlexOnboarding").endswith("missing")
    assert row(text, "triggerTestCharge").endswith("present  <-")


async def test_no_test_charge_at_all_fails_with_one_line_naming_both(kraken: FakeKraken) -> None:
    kraken.sdl = without(FULL_SDL, [START_TEST_CHARGE, "Mutation.triggerTestCharge"])
    report = await run(kraken)
    assert failures(report) == [
        "FAIL  onboarding: cannot work on this instance: missing test_charge "
        "(none of startTestChargeForSmartFlexOnboarding, triggerTestCharge)"
    ]
    assert render_text(report).splitlines()[-1] == "1 check(s) failed"


async def test_introspection_refused_falls_back_to_the_seeds_set(kraken: FakeKraken) -> None:
    kraken.sdl = without(FULL_SDL, UK_ONLY)
    kraken.replies["IntrospectionQuery"] = [error("KT-CT-1113", "Disabled GraphQL field.")]
    report = await run(kraken)
    text = render_text(report)
    assert report.ok
    assert "WARN  introspection: introspection refused: KT-CT-1113; assuming the EU set" in text
    assert "Operations (conservative;" in text
    assert row(text, "triggerTestCharge").endswith("<-")  # startTestCharge's date has passed


async def test_a_refused_api_key_fails_but_the_schema_is_still_reported(
    kraken: FakeKraken,
) -> None:
    kraken.replies["ObtainKrakenToken"] = [error("KT-CT-1139", "Invalid data.")] * 3
    report = await run(kraken)
    assert failures(report) == [
        "FAIL  authentication: Kraken refused KRAKEN_API_KEY (KT-CT-1139 Invalid data.)"
    ]
    assert report.capabilities is not None and report.capabilities.source == "introspection"
    assert kraken.calls_to("IntrospectionQuery")[-1].authorization is None
    assert render_json(report)["kraken"]["authenticated"] is False


async def test_an_unreachable_kraken_is_one_line_and_no_table() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    report = await diagnose(settings(), kraken_transport=httpx.MockTransport(refuse))
    assert failures(report) == [f"FAIL  kraken: {URL}: Cannot reach Kraken: ConnectError"]
    assert "Operations" not in render_text(report)
    assert render_json(report)["kraken"]["operations"] == []


def telegram(status: int, body: dict[str, Any]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/bot{BOT_TOKEN}/getMe"
        return httpx.Response(status, json=body)

    return httpx.MockTransport(answer)


async def test_telegram_token_is_checked_with_get_me_when_set(kraken: FakeKraken) -> None:
    config = settings(telegram_bot_token=SecretStr(BOT_TOKEN))
    good = telegram(200, {"ok": True, "result": {"id": 123456, "username": "SmartFlexBot"}})
    report = await run(kraken, config, telegram_transport=good)
    assert "OK    telegram: TELEGRAM_BOT_TOKEN is @SmartFlexBot" in render_text(report)
    bad = telegram(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    report = await run(kraken, config, telegram_transport=bad)
    assert failures(report) == ["FAIL  telegram: getMe refused: HTTP 401 Unauthorized"]
    output = render_text(report) + json.dumps(render_json(report))
    assert BOT_TOKEN not in output and API_KEY not in output


async def test_redis_is_checked_when_set(kraken: FakeKraken, redis_url: str) -> None:
    report = await run(kraken, settings(redis_url=redis_url))
    assert "OK    redis: REDIS_URL answers" in render_text(report)
    report = await run(kraken, settings(redis_url="redis://127.0.0.1:1/0"))
    assert failures(report) == ["FAIL  redis: REDIS_URL does not answer: ConnectionError"]


async def test_json_output_carries_the_table_and_the_summary(kraken: FakeKraken) -> None:
    kraken.sdl = without(FULL_SDL, [START_TEST_CHARGE])
    body = json.loads(json.dumps(render_json(await run(kraken))))
    assert body["ok"] is True and body["failures"] == []
    assert body["kraken"]["tokenExpiresAt"] == "2026-12-07T13:00:00+00:00"
    assert body["kraken"]["capabilities"]["variants"]["test_charge"] == "triggerTestCharge"
    used = {r["field"] for r in body["kraken"]["operations"] if r["used"]}
    assert "triggerTestCharge" in used and "startTestChargeForSmartFlexOnboarding" not in used
    (trigger,) = [r for r in body["kraken"]["operations"] if r["field"] == "triggerTestCharge"]
    assert trigger == {
        "capability": "test_charge",
        "required": True,
        "operation": "TriggerTestCharge",
        "field": "triggerTestCharge",
        "status": "present",
        "removalOnOrAfter": None,
        "used": True,
        "leftOut": [],
        "problems": [],
    }
