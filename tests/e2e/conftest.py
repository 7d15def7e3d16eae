"""Process fixtures for the end-to-end suite.

One deployment (Kraken sandbox, Telegram emulator, `python -m bot run`) serves every module
that does not break it; modules that kill the bot or switch Telegram to webhooks build their
own from `deployment`. A failing test prints the tail of every process's log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from sandbox.telegram.client import SimClient
from tests.e2e.harness import User
from tests.e2e.kraken_sandbox import KrakenSandbox
from tests.e2e.stack import FAST, World

# Away from the databases other test layers flush.
E2E_REDIS_DB = 12
FAILED = pytest.StashKey[bool]()
FIRST_SCREEN = "What would you like to connect?"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


@pytest.fixture(scope="session")
def e2e_redis_url(redis_server_url: str) -> str:
    return urlunsplit(urlsplit(redis_server_url)._replace(path=f"/{E2E_REDIS_DB}"))


@contextmanager
def deployment(
    log_dir: Path, redis_url: str, time_scale: float = FAST, kraken_args: tuple[str, ...] = ()
) -> Iterator[World]:
    """Kraken and Telegram running; the caller starts the bot processes it wants."""
    world = World(
        log_dir=log_dir, redis_url=redis_url, time_scale=time_scale, kraken_args=kraken_args
    )
    try:
        world.start_outside_world()
        yield world
    finally:
        world.group.stop_all()


@pytest.fixture(scope="session")
def shared_world(tmp_path_factory: pytest.TempPathFactory, e2e_redis_url: str) -> Iterator[World]:
    with deployment(tmp_path_factory.mktemp("e2e"), e2e_redis_url) as world:
        world.start(world.bot_process("bot", "run", port=world.bot_port))
        yield world


@pytest.fixture
def world(shared_world: World) -> World:
    """The deployment a test talks to; modules with their own override this fixture."""
    return shared_world


@pytest.fixture(autouse=True)
def _logs_on_failure(request: pytest.FixtureRequest, world: World) -> Iterator[None]:
    yield
    if request.node.stash.get(FAILED, False):
        print(world.logs())


@pytest.fixture
async def sim(world: World) -> AsyncIterator[SimClient]:
    async with SimClient(world.telegram_url) as client:
        yield client


@pytest.fixture
def sandbox(world: World) -> KrakenSandbox:
    return KrakenSandbox(world.kraken_url)


@pytest.fixture
async def user(world: World, sim: SimClient, sandbox: KrakenSandbox) -> User:
    """A new customer: their own Telegram id and Kraken account, not yet in the chat."""
    return User(sim, world.next_user_id(), world.next_account(), sandbox)


@pytest.fixture
async def linked(user: User, world: World) -> User:
    """A customer who opened their support link and sees the first question."""
    await user.start(await world.issue_handoff(user.account), expect=FIRST_SCREEN)
    return user


@pytest.fixture
async def clean_faults(world: World, sandbox: KrakenSandbox) -> AsyncIterator[None]:
    """For tests that inject faults: none outlives the test."""
    yield
    await sandbox.clear_faults()
    async with httpx.AsyncClient(base_url=world.telegram_url) as http:
        (await http.delete("/sim/faults")).raise_for_status()
