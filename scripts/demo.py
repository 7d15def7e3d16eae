"""`make demo`: the whole assistant on one machine, against the two sandboxes.

Starts, in this order, an embedded Redis (unless `REDIS_URL` is set), the Kraken sandbox, the
Telegram emulator with its web chat page, and the bot (`python -m bot run`); issues a hand-off
link with `python -m bot handoff`; prints what to open and what to paste; and on Ctrl-C or
SIGTERM stops everything in reverse order. `--check` does the same and stops at once, which is
how the test suite proves that a fresh checkout can run the demo.

Each program runs as a separate child process with its own log under `<var-dir>/logs/`, the
way it would in production, so the demo exercises the real command lines and environment
variables rather than an in-process shortcut.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import redis

from bot.embedded_redis import EmbeddedRedis
from sandbox.kraken.config import DEFAULT_ACCOUNT, DEFAULT_API_KEY, DEFAULT_PROPERTY_ID
from sandbox.telegram.config import DEFAULT_TOKEN, DEFAULT_USERNAME
from scripts.processes import (
    ManagedProcess,
    ProcessFailed,
    available_port,
    free_port,
    kraken_sandbox,
    telegram_emulator,
)

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
CHAT_USER_ID = 1001
CHAT_USER_NAME = "Alex"
# 0.05 turns the 7-minute test charge into about 20 seconds and every other wait likewise.
DEFAULT_TIME_SCALE = 0.05
READY_TIMEOUT = 60.0
HANDOFF_ARGS = ("--account", DEFAULT_ACCOUNT, "--property", str(DEFAULT_PROPERTY_ID))
DEMO_AGENT = "demo"
# How often the demo's bot looks at LIVE devices for news (ALERTS_EVERY, seconds).
DEMO_ALERTS_EVERY_S = 10


class Shutdown(Exception):
    """SIGINT or SIGTERM arrived: unwind, stopping every child on the way out."""


class DemoFailed(Exception):
    """A process did not start or died; `str()` is shown to the user as is."""


@dataclass(frozen=True)
class Ports:
    kraken: int
    telegram: int
    bot: int


@dataclass(frozen=True)
class Demo:
    """Addresses and settings of one demo run, fixed before anything starts."""

    ports: Ports
    var_dir: Path
    time_scale: float

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "logs"

    @property
    def redis_dir(self) -> Path:
        """`DATA_DIR/redis`, where bot.redis_conn looks for a shared embedded server."""
        return self.var_dir / "redis"

    @property
    def kraken_url(self) -> str:
        return f"http://{HOST}:{self.ports.kraken}"

    @property
    def telegram_url(self) -> str:
        return f"http://{HOST}:{self.ports.telegram}"

    @property
    def bot_url(self) -> str:
        return f"http://{HOST}:{self.ports.bot}"

    @property
    def chat_page_url(self) -> str:
        return f"{self.telegram_url}/?user={CHAT_USER_ID}&name={CHAT_USER_NAME}"

    def bot_env(self, redis_url: str) -> dict[str, str]:
        """What `python -m bot run` and `python -m bot handoff` need to find everything else.

        The two secrets are fresh per run: nothing outside this machine ever sees them.
        """
        return {
            "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
            "TELEGRAM_API_URL": self.telegram_url,
            "TELEGRAM_BOT_USERNAME": DEFAULT_USERNAME,
            "KRAKEN_API_URL": f"{self.kraken_url}/v1/graphql/",
            "KRAKEN_API_KEY": DEFAULT_API_KEY,
            "REDIS_URL": redis_url,
            "PUBLIC_URL": self.bot_url,
            "PORT": str(self.ports.bot),
            "WEBHOOK_SECRET": secrets.token_urlsafe(24),
            "SUPPORT_API_TOKEN": secrets.token_urlsafe(24),
            "DATA_DIR": str(self.var_dir),
            # Kraken's waits run faster here: so do the bot's figures for them, so the test
            # charge's progress bar moves (and is refreshed) at the demo's pace.
            "TEST_CHARGE_SECONDS": f"{7 * 60 * self.time_scale:.3f}",
            "PROGRESS_EVERY": f"{max(1.0, 45 * self.time_scale * 4):.1f}",
            # After LIVE the bot looks at the devices every 30 minutes; here within seconds,
            # so an alert triggered from another terminal shows up while you watch.
            "ALERTS_EVERY": str(DEMO_ALERTS_EVERY_S),
        }

    def kraken(self) -> ManagedProcess:
        return kraken_sandbox(
            self.log_dir,
            self.ports.kraken,
            time_scale=self.time_scale,
            # OAuth consent pages send the browser back to the bot, which completes the step.
            redirect_uri=f"{self.bot_url}/oauth/callback",
            extra=("--public-url", self.kraken_url),
            host=HOST,
            cwd=ROOT,
        )

    def telegram(self) -> ManagedProcess:
        return telegram_emulator(
            self.log_dir,
            self.ports.telegram,
            extra=("--token", f"{DEFAULT_TOKEN}={DEFAULT_USERNAME}"),
            host=HOST,
            cwd=ROOT,
        )

    def bot(self, env: dict[str, str]) -> ManagedProcess:
        return ManagedProcess.python_module(
            "bot",
            "bot",
            ["run"],
            self.log_dir,
            ready_url=f"{self.bot_url}/healthz",
            env=env,
            cwd=ROOT,
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.demo",
        description="Run the bot, an embedded Redis and both sandboxes on this machine.",
    )
    parser.add_argument("--kraken-port", type=int, default=8500)
    parser.add_argument("--telegram-port", type=int, default=8081)
    parser.add_argument("--bot-port", type=int, default=8080)
    parser.add_argument(
        "--time-scale",
        type=float,
        default=DEFAULT_TIME_SCALE,
        help=f"multiplies every Kraken sandbox wait (default {DEFAULT_TIME_SCALE})",
    )
    parser.add_argument("--var-dir", type=Path, default=ROOT / "var" / "demo")
    parser.add_argument(
        "--no-bot",
        action="store_true",
        help="start everything but the bot (run it yourself with <var-dir>/bot.env)",
    )
    parser.add_argument(
        "--check", action="store_true", help="start everything, issue a link, then stop"
    )
    return parser.parse_args(argv)


def choose_ports(args: argparse.Namespace) -> Ports:
    """The requested ports, or free ones where something already listens."""
    taken: set[int] = set()

    def pick(preferred: int) -> int:
        port = available_port(preferred)
        while port in taken:
            port = free_port()
        taken.add(port)
        return port

    return Ports(
        kraken=pick(args.kraken_port), telegram=pick(args.telegram_port), bot=pick(args.bot_port)
    )


def _say(line: str = "") -> None:
    print(line, flush=True)


def _redis_pid(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        info = cast(dict[str, Any], client.info("server"))
        return int(info["process_id"])
    finally:
        client.close()


def _refuse_second_server(demo: Demo) -> None:
    """Two servers appending to one data file corrupt it; a killed demo may have left one."""
    url_file = demo.redis_dir / "server.url"
    if not url_file.exists():
        return
    url = url_file.read_text().strip()
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        client.ping()
    except (redis.RedisError, OSError):
        return  # stale file from a run that ended without cleaning up
    finally:
        client.close()
    raise DemoFailed(
        f"a Redis server for {demo.var_dir} still runs at {url} (pid {_redis_pid(url)}); "
        "stop it or pass --var-dir"
    )


@contextlib.contextmanager
def embedded_redis(demo: Demo) -> Iterator[str]:
    """Start the persisting embedded Redis and publish its URL the way bot.redis_conn reads it,
    so `DATA_DIR=<var-dir> python -m bot handoff` in another terminal shares it."""
    _refuse_second_server(demo)
    server = EmbeddedRedis(data_dir=demo.redis_dir, persist=True)
    url_file = demo.redis_dir / "server.url"
    try:
        url = server.start()
        url_file.write_text(url)
        _say(f"  redis     {url}  pid {_redis_pid(url)}  log {demo.redis_dir / 'redis.log'}")
        yield url
    finally:
        _say("stopping redis")
        url_file.unlink(missing_ok=True)
        server.stop()


@contextlib.contextmanager
def running(proc: ManagedProcess, url: str) -> Iterator[ManagedProcess]:
    """Start `proc`, wait until it answers, and stop it when the block ends however it ends."""
    try:
        proc.start()
        proc.wait_ready(READY_TIMEOUT)
        _say(f"  {proc.name:<9} {url}  pid {proc.pid}  log {proc.log_path}")
        yield proc
    finally:
        _say(f"stopping {proc.name}")
        proc.stop()


def issue_handoff(demo: Demo, env: dict[str, str]) -> str:
    """Run the support CLI exactly as support would and return the link it prints last."""
    log_path = demo.log_dir / "handoff.log"
    with log_path.open("ab") as log:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "handoff", *HANDOFF_ARGS],
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            timeout=READY_TIMEOUT,
            check=False,
        )
    lines = result.stdout.decode(errors="replace").strip().splitlines()
    link = lines[-1].strip() if lines else ""
    if result.returncode != 0 or not link.startswith("https://t.me/"):
        raise DemoFailed(f"python -m bot handoff failed (exit {result.returncode}); see {log_path}")
    return link


def create_demo_agent(demo: Demo, env: dict[str, str]) -> str:
    """A console agent for this run (`python -m bot agents add`); returns its password."""
    password = secrets.token_urlsafe(12)
    log_path = demo.log_dir / "agents.log"
    with log_path.open("ab") as log:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "bot",
                "agents",
                "add",
                DEMO_AGENT,
                "--admin",
                "--password-stdin",
            ],
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            cwd=ROOT,
            input=f"{password}\n".encode(),
            stdout=log,
            stderr=log,
            timeout=READY_TIMEOUT,
            check=False,
        )
    if result.returncode != 0:
        raise DemoFailed(
            f"python -m bot agents add failed (exit {result.returncode}); see {log_path}"
        )
    return password


def write_env_file(demo: Demo, env: dict[str, str]) -> Path:
    """The bot's settings, for running its commands by hand next to the demo.

    Owner-only: it holds this run's webhook secret and support token.
    """
    path = demo.var_dir / "bot.env"
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.writelines(f"{name}={value}\n" for name, value in env.items())
    return path


def start_token(link: str) -> str:
    return parse_qs(urlsplit(link).query)["start"][0]


def print_instructions(
    demo: Demo, link: str, env_file: Path, *, with_bot: bool, agent_password: str | None = None
) -> None:
    _say()
    _say("The SmartFlex demo is running.")
    _say()
    token = start_token(link)
    _say(f"1. Support issued this hand-off link:  {link}")
    _say("   In Telegram the customer taps it. Here, open it in the chat page — this URL sends")
    _say(f"   /start {token} for you, as Telegram does:")
    _say()
    _say(f"   {demo.chat_page_url}&start={token}")
    _say()
    _say(
        f"2. (The plain chat page is {demo.chat_page_url}; pasting the t.me link there works too.)"
    )
    _say("3. Follow the buttons (e.g. electric car, Tesla, a Model 3, then")
    _say("   'No smart charger / not listed'),")
    _say("   allow the sign-in on the sandbox's consent page, and wait for the device to go LIVE.")
    _say(
        f"   Kraken waits run at {demo.time_scale}x real time: "
        f"a 7-minute test charge takes {7 * 60 * demo.time_scale:.0f} s."
    )
    _say()
    _say(f"4. Once it is LIVE, news arrives by itself (the bot looks every {DEMO_ALERTS_EVERY_S} s")
    _say("   here, every 30 minutes by default). From another terminal:")
    for what, command in device_hooks(demo.kraken_url):
        _say(f"   {what}:")
        _say(f"     {command}")
    _say("   In the chat, /devices shows the card, /alerts off stops these messages.")
    if agent_password is not None:
        _say()
        _say(f"5. The support console: {demo.bot_url}/support/")
        _say(f"   sign in as {DEMO_AGENT} with the password {agent_password}")
        _say("   (hand-offs, each customer's timeline, the funnel, the audit log)")
    _say()
    _say(f"Logs: {demo.log_dir}/ (one file per process)")
    _say(f"Settings of this run (with its secrets): {env_file}")
    load = f"set -a; . {env_file}; set +a;"
    handoff = f"python -m bot handoff {' '.join(HANDOFF_ARGS)}"
    _say(f"  more links:  ({load} {handoff})")
    if not with_bot:
        _say(f"  the bot was not started (--no-bot); run it:  ({load} python -m bot run)")


def device_hooks(kraken_url: str) -> list[tuple[str, str]]:
    """curl lines for what happens to the newest device outside the chat (sandbox hooks)."""
    hooks = f"{kraken_url}/sandbox/devices/latest"
    alert = json.dumps({"message": "Charger offline: check the cable and the breaker"})
    return [
        (
            "an alert",
            f"curl -s -X POST {hooks}/alerts -H 'Content-Type: application/json' -d '{alert}'",
        ),
        (
            "an expired sign-in (then tap 'Sign in again')",
            f"curl -s -X POST {hooks}/expire-authentication",
        ),
        ("smart control paused in the app", f"curl -s -X POST {hooks}/suspend"),
    ]


def wait_for_stop_or_crash(children: Sequence[ManagedProcess]) -> None:
    """Block until a signal (raises Shutdown) or until a child exits (raises DemoFailed).

    SIGCHLD wakes the wait, so nothing polls; a spurious wake just re-checks.
    """
    changed = threading.Event()
    previous = signal.signal(signal.SIGCHLD, lambda signum, frame: changed.set())
    try:
        while True:
            changed.clear()
            for child in children:
                if not child.running():
                    raise DemoFailed(
                        f"{child.name} exited unexpectedly (status {child.returncode}):\n"
                        f"{child.log_tail()}"
                    )
            changed.wait()
    finally:
        signal.signal(signal.SIGCHLD, previous)


def _raise_shutdown(signum: int, frame: FrameType | None) -> None:
    # One is enough: a second Ctrl-C must not interrupt the orderly stop it asked for.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Shutdown


def run(demo: Demo, *, check: bool, with_bot: bool) -> None:
    _say(f"Starting the SmartFlex demo (data and logs under {demo.var_dir}):")
    with contextlib.ExitStack() as stack:
        external = os.environ.get("REDIS_URL", "").strip()
        redis_url = external or stack.enter_context(embedded_redis(demo))
        if external:
            _say("  redis     REDIS_URL from the environment")
        children = [
            stack.enter_context(running(demo.kraken(), f"{demo.kraken_url}/v1/graphql/")),
            stack.enter_context(running(demo.telegram(), demo.chat_page_url)),
        ]
        env = demo.bot_env(redis_url)
        if with_bot:
            children.append(stack.enter_context(running(demo.bot(env), demo.bot_url)))
        link = issue_handoff(demo, env)
        password = create_demo_agent(demo, env)
        print_instructions(
            demo, link, write_env_file(demo, env), with_bot=with_bot, agent_password=password
        )
        if check:
            _say()
            _say("Check passed: every process answered and a hand-off link was issued.")
            return
        _say()
        _say("Press Ctrl-C to stop.")
        wait_for_stop_or_crash(children)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGINT, _raise_shutdown)
    signal.signal(signal.SIGTERM, _raise_shutdown)
    demo = Demo(
        ports=choose_ports(args), var_dir=args.var_dir.resolve(), time_scale=args.time_scale
    )
    try:
        run(demo, check=args.check, with_bot=not args.no_bot)
    except Shutdown:
        _say("Stopped.")
        return 0
    except (DemoFailed, ProcessFailed) as exc:
        print(f"demo failed: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
