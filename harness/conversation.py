"""Drive a conversation like a user would: tap buttons by label, type text, read screens.

Shipped with the package (like aiogram-dialog's test tools) so the bot's tests and later
scenario tests reuse it. Only events a user (or the notifier/OAuth callback) can produce are
offered; taps go through the same callback data the chat would carry.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from dialogs.conversation import Conversation
from dialogs.engine import handle
from dialogs.events import (
    AuthCallback,
    Begin,
    Cancel,
    CheckNow,
    Effect,
    Event,
    Help,
    Intent,
    Language,
    Outcome,
    ShowDevices,
    Tap,
    Text,
    WizardChanged,
)
from dialogs.screen import CallbackButton, Screen, UrlButton
from dialogs.wizard import KrakenPort, WizardSnapshots
from kraken.models import Wizard

ClockHook = Callable[[float], Awaitable[object] | object]


class DialogTester:
    def __init__(
        self,
        kraken: KrakenPort,
        *,
        locale: str = "en",
        advance_clock: ClockHook | None = None,
    ) -> None:
        self.kraken = kraken
        self.conversation = Conversation(locale=locale)
        self.snapshots = WizardSnapshots()
        self.outcomes: list[Outcome] = []
        self._advance_clock = advance_clock

    # ------------------------------------------------------------ reading

    @property
    def screens(self) -> list[Screen]:
        return [screen for outcome in self.outcomes for screen in outcome.screens]

    @property
    def last_screen(self) -> Screen:
        if not self.screens:
            raise AssertionError("no screen has been shown yet")
        return self.screens[-1]

    @property
    def last_effects(self) -> list[Effect]:
        return self.outcomes[-1].effects if self.outcomes else []

    @property
    def state(self) -> str:
        return self.conversation.state

    def labels(self) -> list[str]:
        return [button.label for button in self.last_screen.buttons()]

    def url(self, label: str) -> str:
        """The address behind a link button of the last screen (what the user would open)."""
        button = self._find(label)
        if not isinstance(button, UrlButton):
            raise AssertionError(f"{label!r} is not a link button")
        return button.url

    # ------------------------------------------------------------ acting

    async def send(self, event: Event) -> Outcome:
        outcome = await handle(self.conversation, event, self.kraken, self.snapshots)
        self.conversation = outcome.conversation
        self.outcomes.append(outcome)
        return outcome

    async def begin(
        self, account_number: str, property_id: int, intent: Intent | None = None
    ) -> Screen:
        await self.send(Begin(account_number, property_id, intent))
        return self.last_screen

    async def tap(self, label: str) -> Screen:
        """Tap the button of the last screen whose label equals (or else contains) ``label``."""
        button = self._find(label)
        if not isinstance(button, CallbackButton):
            raise AssertionError(f"{label!r} is a link; open it with .url() instead")
        await self.send(Tap(button.data))
        return self.last_screen

    async def tap_data(self, data: str) -> Screen:
        """Replay raw callback data (e.g. a button kept from an older screen)."""
        await self.send(Tap(data))
        return self.last_screen

    async def type(self, text: str) -> Screen:
        await self.send(Text(text))
        return self.last_screen

    async def check_now(self) -> Screen:
        await self.send(CheckNow())
        return self.last_screen

    async def cancel(self) -> Screen:
        await self.send(Cancel())
        return self.last_screen

    async def devices(self) -> Screen:
        """/devices (or /status)."""
        await self.send(ShowDevices())
        return self.last_screen

    async def help(self) -> Screen:
        await self.send(Help())
        return self.last_screen

    async def language(self, code: str) -> Screen:
        await self.send(Language(code))
        return self.last_screen

    async def auth_callback(self, continuation_uri: str) -> Outcome:
        return await self.send(AuthCallback(continuation_uri))

    async def wizard_changed(self, wizard: Wizard) -> Outcome:
        return await self.send(WizardChanged(wizard))

    async def advance_clock(self, seconds: float) -> None:
        """Move the remote system's clock (e.g. the sandbox's) instead of sleeping."""
        if self._advance_clock is None:
            raise AssertionError("this tester was built without a clock hook")
        result = self._advance_clock(seconds)
        if inspect.isawaitable(result):
            await result

    # ------------------------------------------------------------ helpers

    def _find(self, label: str) -> CallbackButton | UrlButton:
        buttons = self.last_screen.buttons()
        exact = [b for b in buttons if b.label == label]
        partial = [b for b in buttons if label.casefold() in b.label.casefold()]
        found = exact or partial
        if len(found) != 1:
            raise AssertionError(
                f"expected one button {label!r}, found {len(found)} in {self.labels()}"
            )
        return found[0]
