"""Every program of the benchmark as its own process, and what each one cost in CPU.

Redis (embedded, or REDIS_URL), the Kraken sandbox, the Telegram emulator, the bot's web
processes (`python -m bench.botweb`, i.e. `python -m bot web`), a notifier worker, the echo bot
and the Redis counting proxy are children; the driver (this process) serves `bench.front`.
CPU is read from /proc/<pid>/stat (user + system time): on a busy two-core machine it is the
figure that does not move with the neighbours, unlike anything timed by the wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis

from bench.front import Front
from scripts.processes import (
    ManagedProcess,
    ProcessGroup,
    free_port,
    kraken_sandbox,
    telegram_emulator,
)

BOT_TOKEN = "123456:TEST-TOKEN"
API_KEY = "sandbox-api-key"
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14, 15)


@dataclass
class Stack:
    log_dir: Path
    redis_url: str
    accounts: tuple[str, ...]
    time_scale: float = 0.01
    kraken_port: int = field(default_factory=free_port)
    telegram_port: int = field(default_factory=free_port)
    front_port: int = field(default_factory=free_port)
    proxy_port: int = field(default_factory=free_port)
    control_port: int = field(default_factory=free_port)
    webhook_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    prefix: str = field(default_factory=lambda: f"bench:{secrets.token_hex(4)}:")
    group: ProcessGroup = field(default_factory=ProcessGroup)
    pids: dict[str, int] = field(default_factory=dict)
    front: Front = field(init=False)

    def __post_init__(self) -> None:
        self.front = Front(
            f"http://127.0.0.1:{self.telegram_port}",
            f"http://127.0.0.1:{self.kraken_port}",
            self.front_port,
        )

    @property
    def kraken_url(self) -> str:
        return f"http://127.0.0.1:{self.kraken_port}"

    @property
    def telegram_url(self) -> str:
        return f"http://127.0.0.1:{self.telegram_port}"

    async def _start(self, process: ManagedProcess) -> ManagedProcess:
        """Start off the event loop: readiness polling blocks, and a starting bot's first
        calls go through the front this loop serves."""
        await asyncio.to_thread(self.group.start, process, 60.0)
        assert process.pid is not None
        self.pids[process.name] = process.pid
        return process

    async def start_world(self) -> None:
        await self._start(
            kraken_sandbox(
                self.log_dir,
                self.kraken_port,
                time_scale=self.time_scale,
                redirect_uri=f"{self.front.url}/oauth/callback",
                extra=("--accounts", ",".join(self.accounts)),
            )
        )
        await self._start(telegram_emulator(self.log_dir, self.telegram_port))
        redis = aioredis.Redis.from_url(self.redis_url)
        try:
            self.pids["redis"] = int((await redis.info("server"))["process_id"])
        finally:
            await redis.aclose()

    async def start_redis_proxy(self) -> str:
        """The counting proxy in front of Redis; returns the URL bots use to go through it."""
        await self._start(
            ManagedProcess.python_module(
                "redisproxy",
                "bench.redisproxy",
                [
                    *("--upstream", self.redis_url, "--port", str(self.proxy_port)),
                    *("--control", str(self.control_port)),
                ],
                self.log_dir,
            )
        )
        for _ in range(500):
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.control_port)
                writer.close()
                break
            await asyncio.sleep(0.02)  # a child's socket offers nothing to await
        database = self.redis_url.rsplit("/", 1)[-1] if self.redis_url.count("/") > 2 else "0"
        return f"redis://127.0.0.1:{self.proxy_port}/{database}"

    def bot_env(
        self, port: int, redis_url: str | None = None, *, counted: bool = True
    ) -> dict[str, str]:
        """`counted`: Kraken calls go through the front (counted; the driver pays a relay
        per call), else straight to the sandbox."""
        kraken = self.front.url if counted else self.kraken_url
        charge = max(1.0, 420.0 * self.time_scale)
        return {
            "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
            "TELEGRAM_API_URL": self.front.url,
            "KRAKEN_API_URL": f"{kraken}/v1/graphql/",
            "KRAKEN_API_KEY": API_KEY,
            "PUBLIC_URL": self.front.url,
            "PORT": str(port),
            "WEBHOOK_SECRET": self.webhook_secret,
            "REDIS_URL": redis_url or self.redis_url,
            "REDIS_PREFIX": self.prefix,
            "WATCH_FIRST_DELAY": str(round(charge * 0.1, 3)),
            "WATCH_MAX_DELAY": str(round(charge * 0.25, 3)),
            "TEST_CHARGE_SECONDS": str(charge),
            # The sandbox runs time-scaled and the bench measures the bot's own cost: the
            # request budget (per wall-clock hour) would otherwise hold the notifier back.
            # `python -m bench.notifier` measures the looks against the budget.
            "KRAKEN_REQUESTS_PER_HOUR": "1000000",
            "LOG_LEVEL": "WARNING",
            "DATA_DIR": str(self.log_dir / "data"),
        }

    async def start_bot(
        self,
        name: str,
        *,
        redis_url: str | None = None,
        paced: bool = False,
        profile: Path | None = None,
        counted: bool = True,
        settings: dict[str, str] | None = None,
    ) -> str:
        """A web process; returns its webhook URL."""
        port = free_port()
        env = {**self.bot_env(port, redis_url, counted=counted), **(settings or {})}
        if not paced:
            env["BENCH_UNPACED"] = "1"
        if profile is not None:
            env["BENCH_PROFILE"] = str(profile)
        await self._start(
            ManagedProcess.python_module(
                name,
                "bench.botweb",
                [],
                self.log_dir,
                ready_url=f"http://127.0.0.1:{port}/healthz",
                env=env,
            )
        )
        return f"http://127.0.0.1:{port}/telegram/webhook"

    async def start_worker(self, name: str = "worker", **env: str) -> None:
        """A notifier worker; its Kraken calls reach the front as caller `name`."""
        settings = {**self.bot_env(free_port()), **env}
        settings["KRAKEN_API_URL"] = f"{self.front.url}/{name}/v1/graphql/"
        await self._start(
            ManagedProcess.python_module(name, "bot", ["worker"], self.log_dir, env=settings)
        )

    async def start_echo(self) -> str:
        port = free_port()
        await self._start(
            ManagedProcess.python_module(
                "echo",
                "bench.echo",
                [],
                self.log_dir,
                ready_url=f"http://127.0.0.1:{port}/healthz",
                env=self.bot_env(port),
            )
        )
        return f"http://127.0.0.1:{port}/telegram/webhook"

    async def stop(self, name: str) -> None:
        for process in self.group.processes:
            if process.name == name:
                await asyncio.to_thread(process.stop)
        self.pids.pop(name, None)

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of every child that is still running, and of the driver."""
        seen: dict[str, float] = {}
        for name, pid in self.pids.items():
            with contextlib.suppress(OSError):
                seen[name] = cpu_seconds(pid)
        seen["driver"] = cpu_seconds(os.getpid())
        return seen

    def logs(self) -> str:
        return "\n".join(
            f"----- {p.name} ({p.log_path})\n{p.log_tail(40)}" for p in self.group.processes
        )


@contextlib.asynccontextmanager
async def running(stack: Stack) -> AsyncIterator[Stack]:
    """The front serving, the outside world started; everything stopped on the way out."""
    async with stack.front.serving():
        try:
            await stack.start_world()
            yield stack
        finally:
            await asyncio.to_thread(stack.group.stop_all)


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}
