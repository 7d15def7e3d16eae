"""A Telegram user, as the end-to-end tests drive one: only what a person in the chat can do.

`User` wraps the emulator's `SimClient`. Each action waits (on the emulator's change feed,
never on a timer) until the bot's newest message has changed, and returns that message, so a
test reads as "tap this, then see that". Buttons are picked by a case-insensitive part of their
label, as the in-process scenario tests do; a list that does not show the option is narrowed
by typing its name first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from sandbox.telegram.client import SimClient, SimMessage
from tests.e2e.kraken_sandbox import KrakenSandbox

# Generous: the bot answers within a second, but two busy cores running six processes
# sometimes need more, and a wait that times out fails the test with the transcript.
TIMEOUT = 20.0
SIGN_IN = "Sign in"


async def eventually(condition: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Poll state that offers nothing to await (Redis keys) until `condition` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        if loop.time() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.05)


def _fingerprint(message: SimMessage | None) -> tuple[object, ...]:
    if message is None:
        return ()
    return (message.id, message.text, tuple(message.labels))


def _new_screen(before: tuple[object, ...], now: SimMessage) -> bool:
    """Whether the bot's newest message is a new screen. A message merely retired (its
    buttons taken away, a progress line turned into a tick) is the bot making room for the
    next message, not the next screen itself."""
    if not before or before[0] != now.id:
        return True
    retired = not now.labels and now.text.removesuffix("\n\n✓") == before[1]
    return _fingerprint(now) != before and not retired


@dataclass
class User:
    sim: SimClient
    user_id: int
    account: str
    sandbox: KrakenSandbox

    # ------------------------------------------------------------------ reading

    async def messages(self) -> list[SimMessage]:
        return await self.sim.transcript(self.user_id)

    async def bot_messages(self) -> list[SimMessage]:
        return [m for m in await self.messages() if m.sender == "bot"]

    async def screen(self) -> SimMessage:
        """The bot's newest message: what the user is looking at."""
        shown = await self.bot_messages()
        assert shown, "the bot has said nothing yet"
        return shown[-1]

    async def transcript(self) -> str:
        return await self.sim.transcript_text(self.user_id)

    async def count_bot_messages(self, needle: str) -> int:
        return sum(needle in m.text for m in await self.bot_messages())

    # ------------------------------------------------------------------ waiting

    async def wait_text(self, needle: str, timeout: float = TIMEOUT) -> SimMessage:  # noqa: ASYNC109
        """Wait for a bot message containing `needle` (a new message or an edit)."""
        try:
            return await self.sim.wait_for_message(
                self.user_id, lambda m: m.sender == "bot" and needle in m.text, timeout
            )
        except TimeoutError:
            raise TimeoutError(f"{needle!r} never shown:\n{await self.transcript()}") from None

    async def wait_new_message(
        self,
        needle: str,
        after: int,
        timeout: float = TIMEOUT,  # noqa: ASYNC109
    ) -> SimMessage:
        """Wait for a message sent after message `after` (a push, not an edit) with `needle`."""
        try:
            return await self.sim.wait_for_message(
                self.user_id,
                lambda m: m.sender == "bot" and m.id > after and needle in m.text,
                timeout,
            )
        except TimeoutError:
            raise TimeoutError(f"{needle!r} never pushed:\n{await self.transcript()}") from None

    async def act(
        self, action: Callable[[], Awaitable[object]], expect: str | None = None
    ) -> SimMessage:
        """Do `action`, then wait until the bot's newest message changes (and shows `expect`)."""
        shown = await self.bot_messages()
        before = _fingerprint(shown[-1] if shown else None)

        async def changed() -> SimMessage | None:
            shown = await self.bot_messages()
            if not shown or not _new_screen(before, shown[-1]):
                return None
            newest = shown[-1]
            return newest if expect is None or expect in newest.text else None

        await action()
        try:
            screen: SimMessage | None = await self.sim.wait_for(
                changed, TIMEOUT, user_id=self.user_id
            )
        except TimeoutError:
            wanted = f"a screen with {expect!r}" if expect else "a new screen"
            raise TimeoutError(f"{wanted} never came:\n{await self.transcript()}") from None
        assert screen is not None
        return screen

    # ------------------------------------------------------------------ acting

    async def start(self, token: str, expect: str | None = None) -> SimMessage:
        return await self.act(lambda: self.sim.send(self.user_id, f"/start {token}"), expect)

    async def type(self, text: str, expect: str | None = None) -> SimMessage:
        return await self.act(lambda: self.sim.send(self.user_id, text), expect)

    async def button(self, label: str) -> tuple[SimMessage, str]:
        """The newest bot message offering a button whose label contains `label`."""
        for message in reversed(await self.bot_messages()):
            found = next((b for b in message.labels if label.casefold() in b.casefold()), None)
            if found is not None:
                return message, found
        raise AssertionError(f"no button like {label!r}:\n{await self.transcript()}")

    async def tap(self, label: str, expect: str | None = None) -> SimMessage:
        message, exact = await self.button(label)
        return await self.act(
            lambda: self.sim.tap(self.user_id, exact, message_id=message.id), expect
        )

    async def choose(self, *labels: str) -> SimMessage:
        """Pick options on successive list steps, narrowing a list by typing when needed."""
        screen = await self.screen()
        for label in labels:
            if not any(label.casefold() in shown.casefold() for shown in screen.labels):
                await self.type(label)
            screen = await self.tap(label)
        return screen

    # ------------------------------------------------------------------ the browser

    async def sign_in_url(self) -> str:
        """Open the newest "Sign in" button as Telegram would (the emulator records it)."""
        message, exact = await self.button(SIGN_IN)
        return await self.sim.open_url(self.user_id, exact, message_id=message.id)

    async def consent(self, *, allow: bool) -> str:
        """Sign in on the manufacturer's page; returns the bot's callback URL it sends us to."""
        return await self.sandbox.consent(await self.sign_in_url(), allow=allow)

    async def land(self, callback_url: str) -> httpx.Response:
        async with httpx.AsyncClient(timeout=TIMEOUT) as browser:
            return await browser.get(callback_url)

    async def oauth(self, *, allow: bool, expect: str | None) -> tuple[SimMessage, httpx.Response]:
        """Press Allow or Deny on the consent page and follow the redirect back to the bot."""
        callback = await self.consent(allow=allow)
        landed: list[httpx.Response] = []

        async def follow() -> None:
            landed.append(await self.land(callback))

        screen = await self.act(follow, expect)
        return screen, landed[0]

    async def oauth_allow(self, expect: str | None = None) -> SimMessage:
        screen, page = await self.oauth(allow=True, expect=expect)
        assert page.status_code == 200, page.text
        return screen

    async def oauth_deny(self, expect: str | None = None) -> tuple[SimMessage, httpx.Response]:
        return await self.oauth(allow=False, expect=expect)
