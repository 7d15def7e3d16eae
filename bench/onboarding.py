"""Customers taking a heat pump (or a car, to its test charge) from a hand-off link to LIVE
through a bot's webhook, and users chatting: the kinds of traffic the benchmarks send, as
batches of held updates.

Users act through the Telegram emulator (a message, a tap on the button the bot drew); the
emulator pushes each update to the front, which holds it until the driver sends the batch
to a bot. Sign-in is the browser's part (the consent page, then the bot's `/oauth/callback`),
and LIVE is the notifier's (a `python -m bot worker` looking at Kraken on its schedule).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import httpx

from bench.driver import Driver, Run, showing
from bench.front import Front
from bench.memory import conversation_bytes
from bot.handoff.service import HandoffService
from bot.state.conversations import ConversationStore
from dialogs.machine import State
from sandbox.kraken.browser import press_consent
from sandbox.telegram.client import SimClient

Taps = tuple[tuple[str, str], ...]
"""(button tapped, button the answer shows), in order."""

# A heat pump: device type, then make, then the sign-in link.
JOURNEY: Taps = (("Heat pump", "Daikin"), ("Daikin", "Sign in"))
# A car (a Tesla, so no charger to register and no wait before the test charge) to its
# sign-in; after it, the virtual key and the start of the test charge.
CAR_TO_SIGN_IN: Taps = (
    ("Electric car or charger", "Tesla"),
    ("Tesla", "Model 3"),
    ("Model 3", "No smart charger"),
    ("No smart charger", "Sign in"),
)
CAR_TO_TEST_CHARGE: Taps = (
    ("I've added the key", "start the test"),
    ("start the test", "Check now"),
)
FIRST_SCREEN = "Heat pump"
SIGN_IN = "Sign in"
# Several users act at once, as in a busy minute; the emulator is not what is measured.
USER_ACTIONS_AT_ONCE = 16


def accounts(users: int) -> list[str]:
    return [f"A-BENCH{i:05d}" for i in range(users)]


def user_id(index: int) -> int:
    return 100_000 + index


async def limited(
    jobs: Sequence[Callable[[], Awaitable[object]]], at_once: int = USER_ACTIONS_AT_ONCE
) -> None:
    gate = asyncio.Semaphore(at_once)

    async def one(job: Callable[[], Awaitable[object]]) -> None:
        async with gate:
            await job()

    await asyncio.gather(*(one(job) for job in jobs))


async def held(
    front: Front, acts: Sequence[Callable[[], Awaitable[object]]]
) -> dict[int, list[bytes]]:
    """Let users act, and return the updates that produced (held at the front, by chat)."""
    expected = front.inbox.count + len(acts)
    await limited(acts)
    await front.inbox.until(expected)
    return front.inbox.take()


async def say(front: Front, sim: SimClient, texts: dict[int, list[str]]) -> dict[int, list[bytes]]:
    """Each chat sends its texts (in order); the held updates."""

    def sender(chat: int, lines: list[str]) -> Callable[[], Awaitable[object]]:
        async def send() -> None:
            for text in lines:
                await sim.send(chat, text, first_name="Bench")

        return send

    acts = [sender(chat, lines) for chat, lines in texts.items()]
    expected = front.inbox.count + sum(len(lines) for lines in texts.values())
    await limited(acts)
    await front.inbox.until(expected)
    return front.inbox.take()


async def tap(
    front: Front, sim: SimClient, chats: Sequence[int], label: str
) -> dict[int, list[bytes]]:
    def tapper(chat: int) -> Callable[[], Awaitable[object]]:
        found = front.chats[chat].button(label)
        assert found is not None, f"chat {chat} shows no {label!r} button"
        message_id, full = found
        return lambda: sim.tap(chat, full, message_id=message_id)

    return await held(front, [tapper(chat) for chat in chats])


@dataclass
class Journey:
    users: int
    runs: list[Run] = field(default_factory=list)
    """The /start batch and one batch per tap."""
    completed: int = 0
    sign_in_seconds: float = 0.0
    live_seconds: float = 0.0
    """From the last sign-in until every chat was LIVE (the notifier's part)."""
    redis_bytes: list[int] = field(default_factory=list)
    at_sign_in: list[int] = field(default_factory=list)
    """Chats the updates took to the sign-in button (all of them unless one went unanswered)."""


async def sign_in(
    front: Front, sim: SimClient, browser: httpx.AsyncClient, chat: int, bot: str
) -> None:
    found = front.chats[chat].button(SIGN_IN)
    assert found is not None, f"chat {chat} shows no sign-in button"
    authorize = await sim.open_url(chat, found[1], message_id=found[0])
    landed = urlsplit(await press_consent(browser, authorize))
    # The provider sends the browser to PUBLIC_URL (the front); the bot serves the callback.
    bot_parts = urlsplit(bot)
    target = urlunsplit((bot_parts.scheme, bot_parts.netloc, landed.path, landed.query, ""))
    answer = await browser.get(target)
    answer.raise_for_status()


async def until_live(store: ConversationStore, chats: Sequence[int], timeout: float) -> int:  # noqa: ASYNC109
    """Poll the bot's state until every chat is LIVE or `timeout` passes (another process's
    Redis state offers nothing to await); returns how many are LIVE."""
    deadline = time.monotonic() + timeout
    waiting = list(chats)
    while waiting and time.monotonic() < deadline:
        live = await live_chats(store, waiting)
        waiting = [chat for chat in waiting if chat not in live]
        if waiting:
            await asyncio.sleep(0.2)
    return len(chats) - len(waiting)


async def live_chats(store: ConversationStore, chats: Sequence[int]) -> set[int]:
    """The chats that are LIVE, read a thousand to an MGET: thousands of waiting chats must
    not keep the driver (on the same cores as the bot) busy."""
    live: set[int] = set()
    for first in range(0, len(chats), 1000):
        chunk = chats[first : first + 1000]
        raw = await store.redis.mget([store.keys.conversation(chat) for chat in chunk])
        for chat, value in zip(chunk, raw, strict=True):
            stored = store.decode(chat, value)
            if stored is not None and stored.data.get("state") == State.LIVE.value:
                live.add(chat)
    return live


async def onboard(
    *,
    front: Front,
    sim: SimClient,
    driver: Driver,
    handoff: HandoffService,
    bot: str,
    chats: Sequence[int],
    in_flight: int,
    taps: Taps = JOURNEY,
) -> Journey:
    """Every chat opens its hand-off link and taps through to the sign-in button, through
    `bot`'s webhook: the update-driven part of onboarding."""
    journey = Journey(len(chats))
    tokens = [(await handoff.issue(name, 1, None)).token for name in accounts(len(chats))]
    starts = {chat: [f"/start {token}"] for chat, token in zip(chats, tokens, strict=True)}
    updates = await say(front, sim, starts)
    journey.runs.append(await driver.send(updates, [bot], in_flight, showing(FIRST_SCREEN)))
    journey.runs += await tap_along(front, sim, driver, bot, chats, in_flight, taps)
    journey.at_sign_in = [chat for chat in chats if front.chats[chat].button(SIGN_IN)]
    return journey


async def tap_along(
    front: Front,
    sim: SimClient,
    driver: Driver,
    bot: str,
    chats: Sequence[int],
    in_flight: int,
    taps: Taps,
) -> list[Run]:
    """Each of `taps` in turn, by every chat that shows its button; one batch per tap."""
    runs: list[Run] = []
    for label, shows in taps:
        showing_it = [chat for chat in chats if front.chats[chat].button(label) is not None]
        updates = await tap(front, sim, showing_it, label)
        runs.append(await driver.send(updates, [bot], in_flight, showing(shows)))
    return runs


async def finish_onboarding(
    journey: Journey,
    *,
    front: Front,
    sim: SimClient,
    store: ConversationStore,
    bot: str,
    chats: Sequence[int],
    live_timeout: float = 120.0,
) -> None:
    """The browser signs every customer in; the notifier (a worker) takes them to LIVE."""
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=30.0) as browser:
        await limited(
            [functools.partial(sign_in, front, sim, browser, chat, bot) for chat in chats]
        )
    journey.sign_in_seconds = time.perf_counter() - started
    started = time.perf_counter()
    journey.completed = await until_live(store, chats, live_timeout)
    journey.live_seconds = time.perf_counter() - started
    journey.redis_bytes = [
        await conversation_bytes(store.redis, chat, store.keys) for chat in chats
    ]


async def chatter(
    front: Front, sim: SimClient, chats: Sequence[int], per_chat: int, text: str = "hello"
) -> dict[int, list[bytes]]:
    """`per_chat` messages from every chat, held."""
    return await say(front, sim, {chat: [text] * per_chat for chat in chats})
