"""`python -m bot doctor` as an operator runs it: separate processes, the sandbox over HTTP.

Against every flavour the sandbox serves (`python -m sandbox.kraken --flavour eu|uk`, with
`--date` / `--removed` for an instance that dropped fields), a wrong API key and a URL where
nothing listens: the right table, one clear line per failure, and the exit code.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from scripts.processes import ManagedProcess, free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_KEY = "sandbox-api-key"
HAS_FLAVOURS = hasattr(importlib.import_module("sandbox.kraken"), "schema_sdl")
needs_flavours = pytest.mark.skipif(not HAS_FLAVOURS, reason="the sandbox serves one schema")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def failures(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith("FAIL ")]

    def row(self, field: str) -> str:
        (line,) = [line for line in self.stdout.splitlines() if f" {field} " in f"{line} "]
        return line


def doctor(cwd: Path, url: str, key: str = SANDBOX_KEY, *args: str) -> Run:
    """Only the given environment, from a directory of the test's own (no stray .env)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "KRAKEN_API_URL": url,
        "KRAKEN_API_KEY": key,
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "doctor", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return Run(done.returncode, done.stdout, done.stderr)


@contextmanager
def kraken_sandbox(log_dir: Path, *args: str) -> Iterator[str]:
    """`python -m sandbox.kraken` with `args`; yields its GraphQL URL."""
    port = free_port()
    process = ManagedProcess.python_module(
        "kraken",
        "sandbox.kraken",
        ["--host", "127.0.0.1", "--port", str(port), *args],
        log_dir,
        ready_url=f"http://127.0.0.1:{port}/sandbox/health",
    )
    process.start()
    try:
        process.wait_ready()
        yield f"http://127.0.0.1:{port}/v1/graphql/"
    finally:
        process.stop()


FLAVOURS = ["eu", "uk"] if HAS_FLAVOURS else [None]


@pytest.fixture(scope="module", params=FLAVOURS, ids=lambda f: f or "sandbox")
def flavour_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    args = ["--flavour", request.param] if request.param else []
    with kraken_sandbox(tmp_path_factory.mktemp("kraken"), *args) as url:
        yield url


def test_every_flavour_passes_with_its_table(flavour_url: str, tmp_path: Path) -> None:
    run = doctor(tmp_path, flavour_url)
    assert run.code == 0, run.stdout + run.stderr
    assert run.failures == []
    lines = run.stdout.splitlines()
    assert lines[0] == f"Kraken {flavour_url}"
    assert lines[1].startswith("OK    authentication: token expires ")
    assert lines[2].startswith("OK    introspection: allowed")
    assert "OK    onboarding: this instance has everything onboarding needs" in lines
    assert run.row("startTestChargeForSmartFlexOnboarding").endswith("<-")
    assert run.row("selectFromListForSmartFlexOnboarding").endswith("present  <-")
    assert lines[-1] == "all checks passed"
    assert SANDBOX_KEY not in run.stdout + run.stderr


def test_json_for_machines(flavour_url: str, tmp_path: Path) -> None:
    run = doctor(tmp_path, flavour_url, SANDBOX_KEY, "--json")
    body = json.loads(run.stdout)
    assert run.code == 0 and body["ok"] is True and body["failures"] == []
    assert body["kraken"]["authenticated"] is True
    assert body["kraken"]["capabilities"]["onboarding"] is True
    variants = body["kraken"]["capabilities"]["variants"]
    assert variants["test_charge"] == "startTestChargeForSmartFlexOnboarding"
    used = [row["field"] for row in body["kraken"]["operations"] if row["used"]]
    assert "startTestChargeForSmartFlexOnboarding" in used and "triggerTestCharge" not in used


def test_a_wrong_api_key_is_one_failure_and_exit_1(flavour_url: str, tmp_path: Path) -> None:
    run = doctor(tmp_path, flavour_url, "not-the-key")
    assert run.code == 1
    (failure,) = run.failures  # the code differs per instance: KT-CT-1139 (UK), 1134 (EU)
    assert re.fullmatch(
        r"FAIL  authentication: Kraken refused KRAKEN_API_KEY \(KT-CT-11\d\d [^)]+\)", failure
    ), failure
    assert "Operations (introspection;" in run.stdout  # the schema is still readable
    assert run.stdout.splitlines()[-1] == "1 check(s) failed"
    assert "Traceback" not in run.stderr and "not-the-key" not in run.stdout + run.stderr


def test_nothing_listening_is_one_failure_and_no_table(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1/graphql/"
    run = doctor(tmp_path, url)
    assert run.code == 1
    assert run.failures == [f"FAIL  kraken: {url}: Cannot reach Kraken: ConnectError"]
    assert "Operations" not in run.stdout and "Traceback" not in run.stderr


@needs_flavours
def test_after_the_eu_removal_dates_the_trigger_test_charge_is_used(
    tmp_path: Path,
) -> None:
    with kraken_sandbox(tmp_path, "--flavour", "eu", "--date", "2026-12-07") as url:
        run = doctor(tmp_path, url)
    assert run.code == 0, run.stdout
    assert run.row("startTestChargeForSmartFlexOnboarding").endswith("missing")
    assert run.row("triggerTestCharge").endswith("present  <-")


@needs_flavours
def test_an_instance_without_any_test_charge_cannot_onboard(tmp_path: Path) -> None:
    removed = "startTestChargeForSmartFlexOnboarding,triggerTestCharge"
    with kraken_sandbox(tmp_path, "--flavour", "eu", "--removed", removed) as url:
        run = doctor(tmp_path, url)
    assert run.code == 1
    assert run.failures == [
        "FAIL  onboarding: cannot work on this instance: missing test_charge "
        "(none of startTestChargeForSmartFlexOnboarding, triggerTestCharge)"
    ]
