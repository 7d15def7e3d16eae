"""The README's hand-walked journey must keep working against the sandbox it describes."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.processes import ManagedProcess, free_port

README = Path(__file__).resolve().parents[1] / "README.md"


def walk_block() -> str:
    match = re.search(r"<!-- walk-journey -->\n```sh\n(.*?)```", README.read_text(), re.S)
    assert match, "README lost its walk-journey example"
    return match.group(1)


@pytest.mark.e2e
def test_readme_journey_reaches_a_live_heat_pump(tmp_path: Path) -> None:
    port = free_port()
    sandbox = ManagedProcess(
        name="kraken",
        argv=[sys.executable, "-m", "sandbox.kraken", "--host", "127.0.0.1", "--port", str(port)],
        log_path=tmp_path / "kraken.log",
        ready_url=f"http://127.0.0.1:{port}/sandbox/health",
    )
    sandbox.start()
    try:
        sandbox.wait_ready()
        script = walk_block().replace("127.0.0.1:8500", f"127.0.0.1:{port}")
        result = subprocess.run(
            ["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False
        )
    finally:
        sandbox.stop()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert '"__typename":"AuthFlow"' in lines[1]
    assert '"__typename":"WaitForLiveIntegration"' in lines[2]
    assert '"isComplete":true' in lines[-1] and '"current":"LIVE"' in lines[-1]
