"""Push updates to a bot's webhook: in order within a chat, in parallel across chats, retried.

Telegram keeps an update until the webhook answers 2xx, never overtakes an undelivered update of
the same chat, and retries with growing pauses; getWebhookInfo then shows the last error. This
mirrors that so a bot's webhook endpoint is exercised the way production exercises it.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.telegram.config import Clock
from sandbox.telegram.updates import PendingUpdate, UpdateQueue

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None


class WebhookDelivery:
    def __init__(
        self,
        settings: WebhookSettings,
        queue: UpdateQueue,
        *,
        transport: httpx.AsyncBaseTransport | None,
        retry_delays: tuple[float, ...],
        timeout_s: float,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self._queue = queue
        self._retry_delays = retry_delays or (1.0,)
        self._clock = clock
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout_s)
        self._in_flight: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None

    def start(self) -> None:
        self._runner = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop delivering; updates in flight stay queued for whoever reads them next."""
        tasks = [t for t in (self._runner, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._client.aclose()

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.settings.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue.pending),
            "max_connections": self.settings.max_connections,
        }
        if self.settings.allowed_updates is not None:
            info["allowed_updates"] = self.settings.allowed_updates
        if self.last_error_date is not None:
            info["last_error_date"] = self.last_error_date
            info["last_error_message"] = self.last_error_message
        return info

    def _next(self) -> PendingUpdate | None:
        if len(self._in_flight) >= self.settings.max_connections:
            return None
        for update in self._queue.pending:
            if update.chat_id not in self._in_flight:
                return update
        return None

    async def _run(self) -> None:
        condition = self._queue.condition
        while True:
            async with condition:
                await condition.wait_for(lambda: self._next() is not None)
                update = self._next()
                assert update is not None
                self._in_flight.add(update.chat_id)
            task = asyncio.create_task(self._deliver(update))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, update: PendingUpdate) -> None:
        attempt = 0
        try:
            while not await self._post(update):
                delay = self._retry_delays[min(attempt, len(self._retry_delays) - 1)]
                attempt += 1
                await asyncio.sleep(delay)
            await self._queue.remove(update.update_id)
        finally:
            self._in_flight.discard(update.chat_id)
            await self._queue.notify()

    async def _post(self, update: PendingUpdate) -> bool:
        headers = {}
        if self.settings.secret_token:
            headers[SECRET_HEADER] = self.settings.secret_token
        try:
            response = await self._client.post(
                self.settings.url, json=update.to_api(), headers=headers
            )
        except httpx.HTTPError as exc:
            self._fail(_describe(exc))
            return False
        if response.is_success:
            return True
        status = f"{response.status_code} {response.reason_phrase}"
        self._fail(f"Wrong response from the webhook: {status}")
        return False

    def _fail(self, message: str) -> None:
        self.last_error_date = int(self._clock())
        self.last_error_message = message


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "Timeout expired"
    if isinstance(exc, httpx.ConnectError):
        return "Connection refused"
    return f"Connection error: {type(exc).__name__}"
