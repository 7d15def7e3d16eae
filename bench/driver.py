"""Sending held updates to bots' webhooks with N in flight, timing each until its customer is
answered — the one driver every bot the benchmark measures goes through, so their figures
compare like for like.

An update is *in flight* from the moment its POST starts until the front has relayed the bot's
answer to that chat (a message sent or edited: what the customer sees). The webhook answers
at once and the turn runs behind it, so the POST alone would time nothing. Updates of one chat
go one after another, as Telegram delivers them; across chats up to N at once, spread over
the bots' processes in turn (what a balancer in front of several would do).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from bench.front import Chat, Front
from bot.web import SECRET_HEADER

TRIES = 3
# What counts as answered for one update of a chat, given its state when the update left.
Answered = Callable[[Chat, int], bool]


def any_answer(chat: Chat, answers_before: int) -> bool:
    return chat.answers > answers_before


def _after(answered: Answered, answers_before: int, chat: Chat) -> bool:
    return answered(chat, answers_before)


def showing(label: str) -> Answered:
    """Answered once a button like `label` is on the customer's screen."""
    return lambda chat, _before: chat.button(label) is not None


async def _post(http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> None:
    """POST an update; a connection the server closed while idle is retried on a fresh one
    (the webhook drops a second delivery of an update it has, so a retry is harmless)."""
    for attempt in range(1, TRIES + 1):
        try:
            response = await http.post(url, content=body, headers=headers)
        except httpx.TransportError:
            if attempt == TRIES:
                raise
            continue
        response.raise_for_status()
        return


@dataclass
class Run:
    """What one batch of updates took."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    """Wall time from the first POST to the last answer."""
    unanswered: list[int] = field(default_factory=list)
    """Chats whose update got no (or not the expected) answer within the driver's timeout."""

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


@dataclass
class Driver:
    front: Front
    secret: str
    timeout: float = 60.0

    async def send(
        self,
        updates: dict[int, list[bytes]],
        targets: Sequence[str],
        in_flight: int,
        answered: Answered = any_answer,
    ) -> Run:
        """POST every held update (by chat, in order) with at most `in_flight` unanswered."""
        gate = asyncio.Semaphore(in_flight)
        turn = itertools.cycle(targets)
        run = Run()
        headers = {SECRET_HEADER: self.secret, "content-type": "application/json"}
        limits = httpx.Limits(
            max_connections=in_flight + 8,
            max_keepalive_connections=in_flight + 8,
            keepalive_expiry=2.0,  # before uvicorn's own 5 s: no send on a closing connection
        )

        async with httpx.AsyncClient(limits=limits, timeout=self.timeout) as http:

            async def chat_updates(chat_id: int, bodies: list[bytes]) -> None:
                chat = self.front.chats[chat_id]
                for body in bodies:
                    async with gate:
                        before = chat.answers
                        started = time.perf_counter()
                        await _post(http, next(turn), body, headers)
                        try:
                            await self.front.wait(
                                chat_id, functools.partial(_after, answered, before), self.timeout
                            )
                        except TimeoutError:
                            run.unanswered.append(chat_id)  # this chat goes no further
                            return
                        run.latencies.append(time.perf_counter() - started)

            started = time.perf_counter()
            await asyncio.gather(*(chat_updates(c, b) for c, b in updates.items()))
            run.seconds = time.perf_counter() - started
        return run
