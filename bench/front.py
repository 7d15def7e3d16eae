"""The driver's own HTTP server: where Telegram's webhook lands, and a counting relay between the
bots and the outside world (the Telegram emulator, the Kraken sandbox).

The bots run as separate processes with PUBLIC_URL, TELEGRAM_API_URL and KRAKEN_API_URL
pointing here. The emulator pushes users' updates to `/telegram/webhook` (this server, not
the bot) so the driver decides when each reaches a bot and how many are in flight; the bots'
Bot API calls pass through on their way to the emulator, which is how the driver knows when a
customer has been answered (and which buttons they now see); their Kraken calls pass through
on their way to the sandbox and are counted by operation. The relay hop costs the bot a
loopback round trip per call and costs its CPU nothing; the echo bot pays the same hop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# Bot API calls that put something in front of the customer (what "answered" means).
SHOWING = frozenset({"sendmessage", "editmessagetext", "editmessagereplymarkup", "sendphoto"})
TOKEN_OPERATION = "ObtainKrakenToken"


@dataclass
class Shown:
    """One bot message as the customer sees it now."""

    message_id: int
    labels: list[str]


@dataclass
class Chat:
    answers: int = 0
    """Bot API calls that showed the customer something."""
    last_answer_at: float = 0.0
    messages: dict[int, Shown] = field(default_factory=dict)
    waiters: list[tuple[Callable[[Chat], bool], asyncio.Future[None]]] = field(default_factory=list)

    def button(self, label: str) -> tuple[int, str] | None:
        """(message id, full label) of the newest button whose label contains `label`."""
        for message_id in sorted(self.messages, reverse=True):
            for full in self.messages[message_id].labels:
                if label.casefold() in full.casefold():
                    return message_id, full
        return None


@dataclass
class KrakenCall:
    operation: str
    mutation: bool
    caller: str = ""
    """The path segment before /v1/graphql/ ("worker" for the notifier), "" for the bots."""
    at: float = 0.0


@dataclass
class Inbox:
    """Updates the emulator pushed, by chat, in order, until the driver sends them on."""

    by_chat: defaultdict[int, list[bytes]] = field(default_factory=lambda: defaultdict(list))
    count: int = 0
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def put(self, chat_id: int, body: bytes) -> None:
        self.by_chat[chat_id].append(body)
        self.count += 1
        self._arrived.set()

    async def until(self, count: int, timeout: float = 60.0) -> None:  # noqa: ASYNC109
        """Wait until `count` updates have arrived in total."""
        async with asyncio.timeout(timeout):
            while self.count < count:
                self._arrived.clear()
                await self._arrived.wait()

    def take(self) -> dict[int, list[bytes]]:
        taken, self.by_chat = self.by_chat, defaultdict(list)
        return dict(taken)


def _chat_of(update: dict[str, Any]) -> int:
    message = update.get("message") or (update.get("callback_query") or {}).get("message") or {}
    return int(message.get("chat", {}).get("id", 0))


def _params(body: bytes, content_type: str) -> dict[str, Any]:
    if not body:
        return {}
    if content_type.startswith("application/json"):
        loaded: dict[str, Any] = json.loads(body)
        return loaded
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {k: v[0] for k, v in parse_qs(body.decode()).items()}
    return {}  # multipart (files): nothing the benchmark reads


def _labels(markup: Any) -> list[str]:
    if isinstance(markup, str):
        markup = json.loads(markup)
    if not isinstance(markup, dict):
        return []
    return [b.get("text", "") for row in markup.get("inline_keyboard", []) for b in row]


def _quiet(
    endpoint: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A process stopping mid-request at the end of a run is not an error of the run."""

    async def quiet(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ClientDisconnect:
            return Response(status_code=499)

    return quiet


@dataclass
class Front:
    telegram_url: str
    kraken_url: str
    port: int
    inbox: Inbox = field(default_factory=Inbox)
    chats: defaultdict[int, Chat] = field(default_factory=lambda: defaultdict(Chat))
    kraken_calls: list[KrakenCall] = field(default_factory=list)
    bot_calls: Counter[str] = field(default_factory=Counter)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ waiting on the bots

    async def wait(
        self,
        chat_id: int,
        condition: Callable[[Chat], bool],
        timeout: float = 60.0,  # noqa: ASYNC109
    ) -> None:
        chat = self.chats[chat_id]
        if condition(chat):
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        chat.waiters.append((condition, future))
        async with asyncio.timeout(timeout):
            await future

    def _answered(self, chat_id: int) -> None:
        chat = self.chats[chat_id]
        chat.answers += 1
        chat.last_answer_at = time.perf_counter()
        still: list[tuple[Callable[[Chat], bool], asyncio.Future[None]]] = []
        for condition, future in chat.waiters:
            if future.done():
                continue
            if condition(chat):
                future.set_result(None)
            else:
                still.append((condition, future))
        chat.waiters = still

    # ------------------------------------------------------------------ routes

    def app(self, telegram: httpx.AsyncClient, kraken: httpx.AsyncClient) -> Starlette:
        async def webhook(request: Request) -> Response:
            body = await request.body()
            self.inbox.put(_chat_of(json.loads(body)), body)
            return JSONResponse({"ok": True})

        async def bot_api(request: Request) -> Response:
            method = request.path_params["method"].lower()
            body = await request.body()
            content_type = request.headers.get("content-type", "")
            answer = await telegram.request(
                request.method,
                request.url.path,
                params=request.query_params,
                content=body,
                headers={"content-type": content_type} if content_type else None,
            )
            self.bot_calls[method] += 1
            if method in SHOWING and answer.is_success:
                self._record(method, _params(body, content_type), answer.json())
            return Response(answer.content, answer.status_code, media_type="application/json")

        async def graphql(request: Request) -> Response:
            body = await request.body()
            try:
                parsed = json.loads(body)
                query = str(parsed.get("query") or "").lstrip()
                name = parsed.get("operationName") or query.split("(")[0].split("{")[0].split()[-1]
                mutation = query.startswith("mutation")
            except (ValueError, IndexError, AttributeError):
                name, mutation = "?", False
            caller = request.path_params.get("caller", "")
            self.kraken_calls.append(KrakenCall(str(name), mutation, caller, time.perf_counter()))
            headers = {
                k: v for k, v in request.headers.items() if k in ("authorization", "content-type")
            }
            answer = await kraken.post("/v1/graphql/", content=body, headers=headers)
            return Response(answer.content, answer.status_code, media_type="application/json")

        return Starlette(
            routes=[
                Route("/telegram/webhook", _quiet(webhook), methods=["POST"]),
                Route("/bot{token}/{method}", _quiet(bot_api), methods=["GET", "POST"]),
                Route("/v1/graphql/", _quiet(graphql), methods=["POST"]),
                Route("/{caller}/v1/graphql/", _quiet(graphql), methods=["POST"]),
            ]
        )

    def _record(self, method: str, params: dict[str, Any], answer: dict[str, Any]) -> None:
        try:
            chat_id = int(params.get("chat_id") or 0)
        except (TypeError, ValueError):
            return
        result = answer.get("result")
        message_id = int(params.get("message_id") or 0)
        if not message_id and isinstance(result, dict):
            message_id = int(result.get("message_id") or 0)
        if message_id:
            labels = _labels(params.get("reply_markup"))
            chat = self.chats[chat_id]
            if method == "editmessagetext" or method.startswith("send") or labels:
                chat.messages[message_id] = Shown(message_id, labels)
            elif method == "editmessagereplymarkup":
                chat.messages[message_id] = Shown(message_id, [])
        self._answered(chat_id)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[Front]:
        # Idle connections dropped before the servers' own 5 s keep-alive ends, so the relay
        # never sends on a connection the emulator or the sandbox is closing.
        limits = httpx.Limits(
            max_connections=300, max_keepalive_connections=300, keepalive_expiry=2.0
        )
        async with (
            httpx.AsyncClient(base_url=self.telegram_url, limits=limits, timeout=60) as tg,
            httpx.AsyncClient(base_url=self.kraken_url, limits=limits, timeout=60) as kr,
        ):
            config = uvicorn.Config(
                self.app(tg, kr),
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                access_log=False,
                lifespan="off",
                backlog=1024,
                # Longer than the clients' own keep-alive (httpx: 5 s), so a bot never reuses a
                # connection the front is closing at that moment (PTB does not retry a send).
                timeout_keep_alive=75,
            )
            server = uvicorn.Server(config)
            task = asyncio.create_task(server.serve())
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)  # uvicorn offers no readiness to await
            try:
                yield self
            finally:
                server.should_exit = True
                await task
