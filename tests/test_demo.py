"""`make demo` from the operator's side: what it prints, and that it leaves nothing running.

The demo runs as a real subprocess on free ports with its data under a temporary directory,
so these tests never disturb a demo a developer has running.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scripts.processes import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
DEMO_TIMEOUT = 180.0

CHAT_URL = re.compile(r"http://127\.0\.0\.1:(\d+)/\?user=1001&name=Alex")
LINK = re.compile(r"https://t\.me/[A-Za-z0-9_]+\?start=([A-Za-z0-9_-]+)")
STARTED = re.compile(r"^  (\w+)\s+\S+  pid (\d+)", re.MULTILINE)
STOPPING = re.compile(r"^stopping (\w+)$", re.MULTILINE)


@dataclass(frozen=True)
class Ports:
    kraken: int
    telegram: int
    bot: int

    def args(self) -> list[str]:
        return [
            *("--kraken-port", str(self.kraken)),
            *("--telegram-port", str(self.telegram)),
            *("--bot-port", str(self.bot)),
        ]


@pytest.fixture
def ports() -> Ports:
    return Ports(kraken=free_port(), telegram=free_port(), bot=free_port())


def bot_args(with_bot: bool) -> list[str]:
    return [] if with_bot else ["--no-bot"]


def demo_argv(ports: Ports, var_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "scripts.demo", *ports.args(), "--var-dir", str(var_dir), *extra]


def started(output: str) -> dict[str, int]:
    """Process name -> pid, from the lines the demo prints as each process becomes ready."""
    return {name: int(pid) for name, pid in STARTED.findall(output)}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def assert_gone(pids: dict[str, int]) -> None:
    assert [name for name, pid in pids.items() if alive(pid)] == []


def assert_not_listening(port: int) -> None:
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", port))


def assert_usable_link(output: str) -> None:
    link = LINK.search(output)
    assert link is not None, output
    # The printed chat page URL carries the token, so opening it sends /start <token>.
    assert re.search(
        rf"\n   http://127\.0\.0\.1:\d+/\?user=\d+&name=\w+&start={link.group(1)}\n", output
    )


WITH_AND_WITHOUT_BOT = [
    pytest.param(
        True,
        id="with-bot",
    ),
    pytest.param(False, id="no-bot"),
]


@pytest.mark.parametrize("with_bot", WITH_AND_WITHOUT_BOT)
def test_check_mode_starts_everything_prints_the_way_in_and_cleans_up(
    ports: Ports, tmp_path: Path, with_bot: bool
) -> None:
    # Someone else already listens on the chat page's port: the demo must move aside.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports.telegram))
        squatter.listen()
        result = subprocess.run(
            demo_argv(ports, tmp_path, "--check", *bot_args(with_bot)),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=DEMO_TIMEOUT,
            check=False,
        )
    output = result.stdout
    assert result.returncode == 0, output + result.stderr

    chat = CHAT_URL.search(output)
    assert chat is not None, output
    assert int(chat.group(1)) != ports.telegram
    assert_usable_link(output)

    pids = started(output)
    expected = {"kraken", "telegram"} | ({"bot"} if with_bot else set())
    assert expected <= set(pids)
    assert_gone(pids)
    for port in (ports.kraken, int(chat.group(1)), ports.bot):
        assert_not_listening(port)
    assert (tmp_path / "logs" / "kraken.log").stat().st_size > 0


class LineReader:
    """Collects a child's stdout on a thread so the test can wait for a line with a timeout."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        stream = proc.stdout

        def pump() -> None:
            for line in stream:
                self.lines.put(line)
            self.lines.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def wait_for(self, text: str, timeout: float) -> None:
        while True:
            line = self.lines.get(timeout=timeout)
            if line is None:
                pytest.fail(f"demo ended before printing {text!r}:\n{self.text}")
            self.seen.append(line)
            if text in line:
                return

    def drain(self, timeout: float) -> None:
        while (line := self.lines.get(timeout=timeout)) is not None:
            self.seen.append(line)

    @property
    def text(self) -> str:
        return "".join(self.seen)


@pytest.fixture
def demo_process(ports: Ports, tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        demo_argv(ports, tmp_path, *bot_args(True)),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=DEMO_TIMEOUT)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_stops_everything_in_reverse_order_and_exits_0(
    demo_process: subprocess.Popen[str], signum: signal.Signals
) -> None:
    reader = LineReader(demo_process)
    reader.wait_for("Press Ctrl-C to stop.", timeout=DEMO_TIMEOUT)
    assert_usable_link(reader.text)

    demo_process.send_signal(signum)
    assert demo_process.wait(timeout=DEMO_TIMEOUT) == 0
    reader.drain(timeout=10)

    pids = started(reader.text)
    assert STOPPING.findall(reader.text) == list(reversed(pids))
    assert reader.text.rstrip().endswith("Stopped.")
    assert_gone(pids)
