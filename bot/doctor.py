"""`python -m bot doctor [--json]`: can the assistant work against this deployment's Kraken?

It answers, one line per check: can it authenticate with KRAKEN_API_KEY (and when does the
token expire), does the instance allow introspection (else the conservative set the seeds
document stands in), and can onboarding work here. Then a table of every operation the
assistant uses - present, deprecated (with its removal date) or missing - and the variant it
will use per capability. Redis (REDIS_URL) and the Telegram token (getMe) are checked when they
are set. The exit code is 1 when any check fails (onboarding cannot work, Kraken refuses the
key or cannot be reached, Redis or Telegram fail), 0 otherwise. Nothing secret is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

import httpx
from redis.asyncio import Redis

from bot.config import Settings
from kraken.capabilities import BY_NAME, CAPABILITIES, Capabilities
from kraken.client import KrakenClient
from kraken.credentials import ApiKeyCredentials
from kraken.errors import KrakenAuthError, KrakenError, KrakenTransportError
from kraken.retry import RetryPolicy

EXIT_OK = 0
EXIT_FAILED = 1
TIMEOUT_S = 10.0
# An operator waits at a prompt: one quick retry, then report.
RETRY = RetryPolicy(max_attempts=2, base_delay=0.2, max_total=5.0)

Outcome = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    name: str
    outcome: Outcome
    detail: str

    def line(self) -> str:
        return f"{self.outcome.upper():<5} {self.name}: {self.detail}"


@dataclass
class Report:
    kraken_url: str
    checks: list[Check] = field(default_factory=list)
    token_expires_at: float | None = None
    capabilities: Capabilities | None = None
    telegram_bot: str | None = None

    @property
    def ok(self) -> bool:
        return all(check.outcome != "fail" for check in self.checks)

    def add(self, name: str, outcome: Outcome, detail: str) -> None:
        self.checks.append(Check(name, outcome, detail))

    def outcome(self, name: str) -> Outcome:
        return next((c.outcome for c in self.checks if c.name == name), "skip")


# ---------------------------------------------------------------- the checks


async def diagnose(
    settings: Settings,
    *,
    kraken_transport: httpx.AsyncBaseTransport | None = None,
    telegram_transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> Report:
    """Run every check; never raises for what it checks (that is what it reports)."""
    assert settings.kraken_api_url and settings.kraken_api_key  # required by the command
    report = Report(settings.kraken_api_url)
    credentials = ApiKeyCredentials(api_key=settings.kraken_api_key)
    async with KrakenClient(
        settings.kraken_api_url,
        credentials,
        transport=kraken_transport,
        timeout=TIMEOUT_S,
        retry=RETRY,
        clock=clock,
    ) as kraken:
        await _check_kraken(kraken, report, clock)
    if settings.redis_url:
        await _check_redis(settings.redis_url, report)
    if settings.telegram_bot_token is not None:
        await _check_telegram(settings, report, telegram_transport)
    return report


async def _check_kraken(kraken: KrakenClient, report: Report, clock: Callable[[], float]) -> None:
    try:
        report.token_expires_at = await kraken.token_expiry()
    except KrakenTransportError as exc:
        report.add("kraken", "fail", f"{report.kraken_url}: {exc.message}")
        return
    except KrakenAuthError as exc:
        refused = " ".join(part for part in (exc.code, exc.description or exc.message) if part)
        report.add("authentication", "fail", f"Kraken refused KRAKEN_API_KEY ({refused})")
    except KrakenError as exc:
        report.add("authentication", "fail", f"no token: {exc.code or ''} {exc.message}".strip())
    else:
        expires = report.token_expires_at
        minutes = round((expires - clock()) / 60)
        report.add("authentication", "ok", f"token expires {_when(expires)} (in {minutes} min)")
    capabilities = report.capabilities = await kraken.detect_capabilities(use_cache=False)
    if capabilities.source == "introspection":
        present = sum(op.document is not None for op in capabilities.operations.values())
        total = len(capabilities.operations)
        report.add("introspection", "ok", f"allowed; {present} of {total} operations present")
    elif "could not be asked" in capabilities.detail:
        report.add("introspection", "fail", capabilities.detail)
    else:
        assumed = "assuming the EU set the seeds document"
        report.add("introspection", "warn", f"{capabilities.detail}; {assumed}")
    _check_onboarding(capabilities, report, clock)


def _check_onboarding(
    capabilities: Capabilities, report: Report, clock: Callable[[], float]
) -> None:
    missing = capabilities.missing_required
    if missing:
        names = ", ".join(
            f"{name} (none of {', '.join(_fields(capabilities, name))})" for name in missing
        )
        report.add("onboarding", "fail", f"cannot work on this instance: missing {names}")
    else:
        report.add("onboarding", "ok", "this instance has everything onboarding needs")
    today = datetime.fromtimestamp(clock(), UTC).date()
    for deprecation in capabilities.deprecations():
        removal = deprecation.removal_on_or_after
        report.add(
            "deprecated", "warn", f"{deprecation.coordinate} is in use; {_removal(removal, today)}"
        )


def _fields(capabilities: Capabilities, capability: str) -> list[str]:
    return [capabilities.operations[op].field for op in BY_NAME[capability].operations]


def _removal(removal: date | None, today: date) -> str:
    if removal is None:
        return "no removal date given"
    days = (removal - today).days
    if days <= 0:
        return f"removal on or after {removal.isoformat()} (passed: it may go any day)"
    return f"removal on or after {removal.isoformat()} (in {days} days)"


async def _check_redis(url: str, report: Report) -> None:
    client = Redis.from_url(url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S)
    try:
        await client.ping()
    except Exception as exc:  # whatever it is, it is the answer
        report.add("redis", "fail", f"REDIS_URL does not answer: {type(exc).__name__}")
    else:
        report.add("redis", "ok", "REDIS_URL answers")
    finally:
        await client.aclose()


async def _check_telegram(
    settings: Settings, report: Report, transport: httpx.AsyncBaseTransport | None
) -> None:
    url = f"{settings.telegram_api_url}/bot{settings.bot_token()}/getMe"
    try:
        async with httpx.AsyncClient(transport=transport, timeout=TIMEOUT_S) as http:
            response = await http.get(url)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:  # never the URL: it holds the token
        report.add("telegram", "fail", f"getMe failed: {type(exc).__name__}")
        return
    result = body.get("result") if isinstance(body, dict) and body.get("ok") else None
    if not isinstance(result, dict):
        reason = body.get("description") if isinstance(body, dict) else None
        report.add(
            "telegram", "fail", f"getMe refused: HTTP {response.status_code} {reason or ''}".strip()
        )
        return
    report.telegram_bot = f"@{result.get('username')}"
    report.add("telegram", "ok", f"TELEGRAM_BOT_TOKEN is {report.telegram_bot}")


# ---------------------------------------------------------------- output


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def operation_rows(capabilities: Capabilities) -> list[dict[str, Any]]:
    """One row per operation the assistant may send, grouped by capability."""
    rows = []
    for capability in CAPABILITIES:
        chosen = capabilities.chosen(capability) or ()
        for op in capability.operations:
            support = capabilities.operations[op]
            deprecation = support.root_deprecation
            removal = deprecation.removal_on_or_after if deprecation else None
            rows.append(
                {
                    "capability": capability.name,
                    "required": capability.required,
                    "operation": op,
                    "field": support.field,
                    "status": support.status,
                    "removalOnOrAfter": removal.isoformat() if removal else None,
                    "used": op in chosen,
                    "leftOut": list(support.left_out),
                    "problems": list(support.problems),
                }
            )
    return rows


def render_text(report: Report) -> str:
    lines = [f"Kraken {report.kraken_url}"]
    lines += [check.line() for check in report.checks]
    if report.capabilities is not None:
        source = report.capabilities.source
        lines += ["", f"Operations ({source}; * = onboarding needs it; <- = the one used):"]
        lines.append(f"  {'capability':<25}{'Kraken field':<52}status")
        previous = None
        for row in operation_rows(report.capabilities):
            name = row["capability"] + ("*" if row["required"] else "")
            shown = name if row["capability"] != previous else ""
            previous = row["capability"]
            status = row["status"]
            if row["removalOnOrAfter"]:
                status += f" (removal on or after {row['removalOnOrAfter']})"
            marker = "  <-" if row["used"] else ""
            lines.append(f"  {shown:<25}{row['field']:<52}{status}{marker}")
    failures = [check for check in report.checks if check.outcome == "fail"]
    verdict = "all checks passed" if not failures else f"{len(failures)} check(s) failed"
    lines += ["", verdict]
    return "\n".join(lines)


def render_json(report: Report) -> dict[str, Any]:
    capabilities = report.capabilities
    return {
        "ok": report.ok,
        "checks": [
            {"name": c.name, "outcome": c.outcome, "detail": c.detail} for c in report.checks
        ],
        "failures": [c.line() for c in report.checks if c.outcome == "fail"],
        "kraken": {
            "url": report.kraken_url,
            "authenticated": report.outcome("authentication") == "ok",
            "tokenExpiresAt": (
                datetime.fromtimestamp(report.token_expires_at, UTC).isoformat()
                if report.token_expires_at is not None
                else None
            ),
            "capabilities": capabilities.summary() if capabilities else None,
            "operations": operation_rows(capabilities) if capabilities else [],
        },
        "redis": report.outcome("redis"),
        "telegram": {"outcome": report.outcome("telegram"), "bot": report.telegram_bot},
    }


# ---------------------------------------------------------------- the command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def main(settings: Settings, args: argparse.Namespace) -> int:
    if settings.log_level != "DEBUG":
        # The report says it all; the client's own lines would repeat it on stderr.
        logging.getLogger("kraken").setLevel(logging.CRITICAL)
    report = asyncio.run(diagnose(settings))
    if args.json:
        print(json.dumps(render_json(report), indent=2))
    else:
        print(render_text(report))
    return EXIT_OK if report.ok else EXIT_FAILED
