"""Start, watch and stop the separate processes of a local deployment.

`make demo` and the end-to-end tests both run the real programs (Kraken sandbox, Telegram
emulator, bot, worker) as child processes; this module is the one place that knows how to
start them, tell when they are ready and stop them — politely, or with SIGKILL when a test
wants to see a crash.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def available_port(preferred: int) -> int:
    """`preferred` when nothing listens on it, else (or for 0) a free port.

    SO_REUSEADDR, as uvicorn and redis set it, so a port left in TIME_WAIT by the last run
    still counts as available; only a live listener makes us move.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            return free_port()
        return int(sock.getsockname()[1])


class ProcessFailed(RuntimeError):
    """A child exited or never became ready; the message carries the tail of its log."""


@dataclass
class ManagedProcess:
    name: str
    argv: Sequence[str]
    log_path: Path
    ready_url: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @classmethod
    def python_module(
        cls, name: str, module: str, args: Sequence[str], log_dir: Path, **kwargs: object
    ) -> ManagedProcess:
        return cls(
            name=name,
            argv=[sys.executable, "-m", module, *args],
            log_path=log_dir / f"{name}.log",
            **kwargs,  # type: ignore[arg-type]
        )

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has ended (negative: killed by that signal)."""
        return self._proc.returncode if self._proc else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        log = self.log_path.open("ab")
        try:
            self._proc = subprocess.Popen(
                list(self.argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.cwd,
                start_new_session=True,
            )
        finally:
            log.close()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Poll the readiness URL: a child process offers nothing to await but its socket."""
        if self.ready_url is None:
            return
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            if not self.running():
                raise ProcessFailed(f"{self.name} exited early:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.ready_url, timeout=1.0).status_code < 500:
                    return
            if time.monotonic() > deadline:
                raise ProcessFailed(f"{self.name} not ready after {timeout}s:\n{self.log_tail()}")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def stop(self, timeout: float = 10.0) -> int | None:
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        code = self._proc.returncode
        self._proc = None
        return code

    def kill(self) -> None:
        """SIGKILL the whole process group: what a crash or an OOM kill looks like."""
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait()


def kraken_sandbox(
    log_dir: Path,
    port: int,
    *,
    time_scale: float,
    redirect_uri: str,
    extra: Sequence[str] = (),
    host: str = "127.0.0.1",
    **kwargs: object,
) -> ManagedProcess:
    """The Kraken sandbox as its own process (`python -m sandbox.kraken`), ready when its
    health answers; `extra`: accounts, flavour, public URL... as the caller needs."""
    args = [
        *("--host", host, "--port", str(port)),
        *("--time-scale", str(time_scale)),
        *("--redirect-uri", redirect_uri),
        *extra,
    ]
    ready = f"http://{host}:{port}/sandbox/health"
    return ManagedProcess.python_module(
        "kraken", "sandbox.kraken", args, log_dir, ready_url=ready, **kwargs
    )


def telegram_emulator(
    log_dir: Path,
    port: int,
    *,
    extra: Sequence[str] = (),
    host: str = "127.0.0.1",
    **kwargs: object,
) -> ManagedProcess:
    """The Telegram emulator as its own process (`python -m sandbox.telegram`)."""
    args = [*("--host", host, "--port", str(port)), *extra]
    ready = f"http://{host}:{port}/sim/state"
    return ManagedProcess.python_module(
        "telegram", "sandbox.telegram", args, log_dir, ready_url=ready, **kwargs
    )


@dataclass
class ProcessGroup:
    """Processes started in order and stopped in reverse order."""

    processes: list[ManagedProcess] = field(default_factory=list)

    def start(self, proc: ManagedProcess, timeout: float = 30.0) -> ManagedProcess:
        proc.start()
        self.processes.append(proc)
        proc.wait_ready(timeout)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()
        self.processes.clear()
