"""A small async client for the /sim API, so tests read like a user talking to the bot.

Waiting is done on the server's change feed (`/sim/wait` long polls): a predicate is checked,
and if it does not hold the client sleeps until the chat changes, never on a timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
DEFAULT_BASE_URL = "http://127.0.0.1:8081"


class SimRequestError(Exception):
    """The emulator refused a /sim request (unknown button, missing chat, bad fault...)."""


@dataclass(frozen=True)
class SimButton:
    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class SimMessage:
    id: int
    sender: str
    text: str
    buttons: list[list[SimButton]]
    edited: bool
    photo: dict[str, Any] | None
    entities: list[dict[str, Any]]
    voice: dict[str, Any] | None = None
    audio: dict[str, Any] | None = None

    @property
    def labels(self) -> list[str]:
        return [button.text for row in self.buttons for button in row]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SimMessage:
        return cls(
            id=data["id"],
            sender=data["from"],
            text=data["text"],
            buttons=[[SimButton(**button) for button in row] for row in data["buttons"]],
            edited=data["edited"],
            photo=data["photo"],
            entities=data["entities"],
            voice=data.get("voice"),
            audio=data.get("audio"),
        )


class SimClient:
    def __init__(
        self,
        base_url: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        bot: str | None = None,
    ) -> None:
        """`transport` (e.g. httpx.ASGITransport) talks to an in-process emulator app."""
        default = "http://tg" if transport is not None else DEFAULT_BASE_URL
        self._http = httpx.AsyncClient(base_url=base_url or default, transport=transport)
        self._bot = bot

    async def __aenter__(self) -> SimClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(
        self, method: str, path: str, *, http_timeout: float = 10.0, **kwargs: Any
    ) -> httpx.Response:
        response = await self._http.request(method, path, timeout=http_timeout, **kwargs)
        if response.is_error:
            raise SimRequestError(f"{method} {path}: {response.status_code} {response.text}")
        return response

    def _with_bot(self, values: dict[str, Any]) -> dict[str, Any]:
        chosen = {k: v for k, v in values.items() if v is not None}
        if self._bot is not None:
            chosen["bot"] = self._bot
        return chosen

    # Acting as a user --------------------------------------------------------------------------

    async def send(self, user_id: int, text: str, **user: Any) -> dict[str, Any]:
        """Send `text` as the user; extra keywords (first_name, language_code) describe them."""
        body = self._with_bot({"user_id": user_id, "text": text, **user})
        result: dict[str, Any] = (await self._call("POST", "/sim/message", json=body)).json()
        return result

    async def send_voice(
        self, user_id: int, data: bytes, *, content_type: str = "audio/ogg", **user: Any
    ) -> dict[str, Any]:
        """Send a voice note recorded as `data` (OGG/Opus, WebM, WAV...; the emulator converts
        it to OGG/Opus as Telegram does). Returns message_id, update_id, file_id, duration."""
        return await self._send_audio("/sim/voice", user_id, data, content_type, None, user)

    async def send_audio(
        self,
        user_id: int,
        data: bytes,
        *,
        file_name: str = "audio.mp3",
        content_type: str = "audio/mpeg",
        **user: Any,
    ) -> dict[str, Any]:
        """Attach an audio file (kept as it is)."""
        return await self._send_audio("/sim/audio", user_id, data, content_type, file_name, user)

    async def _send_audio(
        self,
        path: str,
        user_id: int,
        data: bytes,
        content_type: str,
        file_name: str | None,
        user: dict[str, Any],
    ) -> dict[str, Any]:
        params = self._with_bot({"user_id": user_id, "file_name": file_name, **user})
        headers = {"Content-Type": content_type}
        response = await self._call("POST", path, params=params, content=data, headers=headers)
        result: dict[str, Any] = response.json()
        return result

    async def file(self, file_id: str) -> bytes:
        """The bytes of a voice note, audio file or photo in the chat."""
        bot = self._bot or (await self.state())["bots"][0]["username"]
        return (await self._call("GET", f"/sim/files/{bot}/{file_id}")).content

    async def tap(
        self,
        user_id: int,
        label: str | None = None,
        data: str | None = None,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        body = self._with_bot(
            {"user_id": user_id, "label": label, "data": data, "message_id": message_id}
        )
        result: dict[str, Any] = (await self._call("POST", "/sim/callback", json=body)).json()
        return result

    async def open_url(self, user_id: int, label: str, message_id: int | None = None) -> str:
        body = self._with_bot({"user_id": user_id, "label": label, "message_id": message_id})
        url: str = (await self._call("POST", "/sim/open_url", json=body)).json()["url"]
        return url

    # Reading -----------------------------------------------------------------------------------

    async def chat(self, user_id: int) -> dict[str, Any]:
        """The full JSON transcript: messages, taps, callback answers and the chat's version."""
        params = self._with_bot({})
        data: dict[str, Any] = (
            await self._call("GET", f"/sim/chat/{user_id}", params=params)
        ).json()
        return data

    async def transcript(self, user_id: int) -> list[SimMessage]:
        return [SimMessage.from_json(m) for m in (await self.chat(user_id))["messages"]]

    async def transcript_text(self, user_id: int) -> str:
        params = self._with_bot({"format": "text"})
        return (await self._call("GET", f"/sim/chat/{user_id}", params=params)).text

    async def outbox(self, method: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        params = {k: v for k, v in {"method": method, "since": since}.items() if v is not None}
        entries: list[dict[str, Any]] = (
            await self._call("GET", "/sim/outbox", params=params)
        ).json()
        return entries

    async def state(self) -> dict[str, Any]:
        state: dict[str, Any] = (await self._call("GET", "/sim/state")).json()
        return state

    # Steering the emulator ---------------------------------------------------------------------

    async def fault(
        self,
        method: str,
        *,
        error_code: int | None = None,
        retry_after: int = 1,
        times: int = 1,
        timeout_s: float | None = None,
    ) -> None:
        """Make the next `times` calls of `method` fail (429/500/502) and/or answer late."""
        body = {"method": method, "retry_after": retry_after, "times": times}
        body.update({k: v for k, v in (("error_code", error_code), ("timeout_s", timeout_s)) if v})
        await self._call("POST", "/sim/faults", json=body)

    async def configure(
        self,
        *,
        rate_limits: bool | None = None,
        callback_answer_deadline_s: float | None = None,
    ) -> dict[str, Any]:
        body = {
            k: v
            for k, v in {
                "rate_limits": rate_limits,
                "callback_answer_deadline_s": callback_answer_deadline_s,
            }.items()
            if v is not None
        }
        state: dict[str, Any] = (await self._call("POST", "/sim/config", json=body)).json()
        return state

    async def reset(self) -> None:
        await self._call("POST", "/sim/reset")

    # Waiting -----------------------------------------------------------------------------------

    async def _version(self, user_id: int | None, after: int, wait_s: float) -> int:
        params = self._with_bot({"after_version": after, "timeout": wait_s, "user_id": user_id})
        response = await self._call("GET", "/sim/wait", params=params, http_timeout=wait_s + 10)
        version: int = response.json()["version"]
        return version

    async def wait_for(
        self,
        predicate: Callable[[], Awaitable[T]],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline across many requests, not one call
        *,
        user_id: int | None = None,
    ) -> T:
        """Await `predicate` again after every change (to `user_id`'s chat, if given).

        Returns the predicate's truthy value; raises TimeoutError after `timeout` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            version = await self._version(user_id, -1, 0)
            result = await predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s")
            await self._version(user_id, version, remaining)

    async def wait_for_text(
        self,
        user_id: int,
        needle: str,
        timeout: float = 5.0,  # noqa: ASYNC109 - passed on to wait_for
    ) -> str:
        """Wait until `needle` appears in the text transcript; return the transcript."""

        async def transcript_has_it() -> str:
            text = await self.transcript_text(user_id)
            return text if needle in text else ""

        try:
            return await self.wait_for(transcript_has_it, timeout, user_id=user_id)
        except TimeoutError:
            seen = await self.transcript_text(user_id)
            raise TimeoutError(f"{needle!r} not in transcript after {timeout}s:\n{seen}") from None

    async def wait_for_message(
        self,
        user_id: int,
        predicate: Callable[[SimMessage], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - passed on to wait_for
    ) -> SimMessage:
        """Wait for a message matching `predicate` (newest first) and return it."""

        async def matching() -> SimMessage | None:
            messages = await self.transcript(user_id)
            return next((m for m in reversed(messages) if predicate(m)), None)

        found: SimMessage | None = await self.wait_for(matching, timeout, user_id=user_id)
        assert found is not None
        return found
