"""The deployment under test: sandbox Kraken, the Telegram emulator and bot processes.

Every program runs as its own process on free loopback ports (via `scripts.processes`, the
same helpers `make demo` uses), with logs in a temporary folder that a failing test prints.
Each test gets its own Kraken account and Telegram user, so one deployment serves a module.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import httpx
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from bot.state.keys import KeySpace
from bot.watches import LOOK_FUNCTION
from sandbox.kraken.config import Delays
from scripts.processes import (
    ManagedProcess,
    ProcessGroup,
    free_port,
    kraken_sandbox,
    telegram_emulator,
)
from tests.e2e.harness import eventually

BOT_TOKEN = "123456:TEST-TOKEN"
ACCOUNT_COUNT = 80
ACCOUNTS = tuple(f"A-E2E{n:03d}" for n in range(1, ACCOUNT_COUNT + 1))
# Kraken's waits at 1% of their length: the notifier resolves them within a second or two.
FAST = 0.01


@dataclass
class World:
    """Kraken and Telegram: what exists whether or not the bot is running."""

    log_dir: Path
    redis_url: str
    time_scale: float = FAST
    kraken_args: tuple[str, ...] = ()  # e.g. ("--flavour", "uk")
    # What the bot takes a test charge to last (its notifier first asks Kraken about one near
    # its expected end); None: the sandbox's 7 minutes, time-scaled.
    test_charge_seconds: float | None = None
    kraken_port: int = field(default_factory=free_port)
    telegram_port: int = field(default_factory=free_port)
    bot_port: int = field(default_factory=free_port)
    group: ProcessGroup = field(default_factory=ProcessGroup)
    redis_prefix: str = field(default_factory=lambda: f"e2e-{secrets.token_hex(4)}:")
    support_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    webhook_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    _accounts: Iterator[str] = field(default_factory=lambda: iter(ACCOUNTS))
    _users: Iterator[int] = field(default_factory=lambda: itertools.count(7001))

    @property
    def kraken_url(self) -> str:
        return f"http://127.0.0.1:{self.kraken_port}"

    @property
    def telegram_url(self) -> str:
        return f"http://127.0.0.1:{self.telegram_port}"

    @property
    def bot_url(self) -> str:
        """Where OAuth redirects land; with several web workers, the test's proxy listens here."""
        return f"http://127.0.0.1:{self.bot_port}"

    def next_account(self) -> str:
        return next(self._accounts)

    def next_user_id(self) -> int:
        return next(self._users)

    def start_outside_world(self) -> None:
        self.group.start(
            kraken_sandbox(
                self.log_dir,
                self.kraken_port,
                time_scale=self.time_scale,
                redirect_uri=f"{self.bot_url}/oauth/callback",
                extra=("--accounts", ",".join(ACCOUNTS), *self.kraken_args),
            )
        )
        self.group.start(telegram_emulator(self.log_dir, self.telegram_port))

    def bot_env(self, port: int, **extra: str) -> dict[str, str]:
        return {
            "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
            "TELEGRAM_API_URL": self.telegram_url,
            "KRAKEN_API_URL": f"{self.kraken_url}/v1/graphql/",
            "KRAKEN_API_KEY": "sandbox-api-key",
            "PUBLIC_URL": self.bot_url,
            "PORT": str(port),
            "SUPPORT_API_TOKEN": self.support_token,
            "WEBHOOK_SECRET": self.webhook_secret,
            "REDIS_URL": self.redis_url,
            "REDIS_PREFIX": self.redis_prefix,
            "WATCH_FIRST_DELAY": "0.3",
            "WATCH_MAX_DELAY": "1",
            # The sandbox's waits run at 1% of their length and the notifier looks every
            # second, while the request budget counts wall-clock hours: scaled alike, it
            # would be a hundred times too small. The budget is tested on its own
            # (tests/bot/test_budget.py, tests/bot/inproc).
            "KRAKEN_REQUESTS_PER_HOUR": "1000000",
            "TEST_CHARGE_SECONDS": str(
                self.test_charge_seconds or Delays().test_charge * self.time_scale
            ),
            "DATA_DIR": str(self.log_dir / "data"),
            **extra,
        }

    def bot_process(
        self, name: str, command: str, port: int | None = None, env: Mapping[str, str] | None = None
    ) -> ManagedProcess:
        """`python -m bot <command>`; `port` None means a worker, which serves nothing."""
        serving = port if port is not None else free_port()
        return ManagedProcess.python_module(
            name,
            "bot",
            [command],
            self.log_dir,
            ready_url=f"http://127.0.0.1:{serving}/healthz" if port is not None else None,
            env=self.bot_env(serving, **(env or {})),
        )

    def start(self, process: ManagedProcess) -> ManagedProcess:
        return self.group.start(process)

    def running(self, name: str) -> ManagedProcess | None:
        """The live process started as `name` (a restarted one, not the one it replaced)."""
        return next((p for p in self.group.processes if p.name == name and p.running()), None)

    def crash(self, name: str) -> ManagedProcess:
        """SIGKILL the process running as `name`: a crash or an OOM kill, no goodbye."""
        victim = self.running(name)
        assert victim is not None, f"{name} is not running"
        victim.kill()
        assert victim.returncode == -9
        return victim

    async def notifier(self, name: str) -> ManagedProcess:
        """`python -m bot worker` as `name`, started unless it is running, returned once its
        heartbeat is in Redis: a worker serves nothing to poll, and it beats only after it
        has reached Redis and re-armed the waits."""
        process = self.running(name) or self.start(self.bot_process(name, "worker"))

        async def beating(redis: aioredis.Redis, keys: KeySpace) -> bool:
            now_ms = int(time.time() * 1000)
            alive = await redis.zrangebyscore(keys.notifier_heartbeats(), f"({now_ms}", "+inf")
            # Each member is "<host>:<pid>:<random>" (bot.notifier names its instance so).
            return any(member.decode().split(":")[-2] == str(process.pid) for member in alive)

        await self.until_keys(beating)
        return process

    def logs(self) -> str:
        """Every process's log tail, for a failing test's report."""
        return "\n".join(
            f"----- {proc.name} ({proc.log_path})\n{proc.log_tail(60)}"
            for proc in self.group.processes
        )

    async def issue_handoff(self, account: str) -> str:
        """Support asks the bot's web app for a link; returns the token the link carries."""
        async with httpx.AsyncClient(timeout=10.0) as http:
            response = await http.post(
                f"{self.bot_url}/support/handoff",
                json={"accountNumber": account, "propertyId": 1},
                headers={"Authorization": f"Bearer {self.support_token}"},
            )
        response.raise_for_status()
        link: str = response.json()["link"]
        return link.rsplit("start=", 1)[1]

    async def issue_handoff_with_cli(self, account: str, **env: str) -> str:
        """`python -m bot handoff`, as support runs it; the link is the last line printed."""
        command = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "bot", "handoff", "--account", account, "--property", "1"),
            env={**os.environ, **self.bot_env(self.bot_port, **env)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await command.communicate()
        assert command.returncode == 0, output.decode()
        return output.decode().strip().splitlines()[-1].rsplit("start=", 1)[1]

    async def metric(self, name: str, **labels: str) -> float:
        """One sample from the bot's /metrics (0 when it has not been counted yet)."""
        async with httpx.AsyncClient(timeout=10.0) as http:
            text = (await http.get(f"{self.bot_url}/metrics")).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return float(sample.value)
        return 0.0

    async def until_keys(
        self, condition: Callable[[aioredis.Redis, KeySpace], Awaitable[bool]]
    ) -> None:
        """Wait until the bot's Redis state satisfies `condition` (state across processes
        offers nothing to await, so this polls like `eventually`)."""
        redis = aioredis.Redis.from_url(self.redis_url)
        keys = KeySpace(self.redis_prefix)
        try:
            await eventually(lambda: condition(redis, keys), timeout=60)
        finally:
            await redis.aclose()

    async def turn_running(self, chat_id: int, running: bool = True) -> None:
        """Wait until a turn for the chat is running (or, `running=False`, has finished)."""

        async def held(redis: aioredis.Redis, keys: KeySpace) -> bool:
            return bool(await redis.exists(keys.chat_lock(chat_id))) is running

        await self.until_keys(held)


class Mark(StrEnum):
    """What arq logs of a job: its start ("→ <job>:<function>(<args>)", " try=N" past the
    first try), its end ("← <job>:<function> ● <result>"), or that it runs again later."""

    STARTED = "→"
    FINISHED = "←"
    DEFERRED = "↻"


_LOOK_LINE = re.compile(rf'([{"".join(Mark)}]) (\S+):{LOOK_FUNCTION}([^"]*)')


@dataclass(frozen=True)
class Look:
    """One line a notifier logged about a look at a waiting wizard."""

    mark: Mark
    job: str  # one per waited step, shared by every worker (bot.watches)
    detail: str  # a start's arguments and try, an end's result

    @property
    def attempt(self) -> int:
        """Which try of its job a started look was: arq counts them in Redis, across workers."""
        found = re.search(r" try=(\d+)", self.detail)
        return int(found[1]) if found else 1


def looks_logged(process: ManagedProcess, wizard_id: str) -> list[Look]:
    """The looks at one wizard that `process` logged, in order. Which notifier ran which
    look is told by their logs (what an operator reads), not by anything the bot serves."""
    looks: list[Look] = []
    jobs: set[str] = set()
    for line in process.log_path.read_text(errors="replace").splitlines():
        found = _LOOK_LINE.search(line)
        if found is None:
            continue
        mark, job, detail = found.groups()
        look = Look(Mark(mark), job, detail)
        if look.mark is Mark.STARTED and f", '{wizard_id}', " in look.detail:
            jobs.add(look.job)
        if look.job in jobs:
            looks.append(look)
    return looks
