"""Channel-neutral view model: what to show, never how a given chat API shows it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Delivery(Enum):
    """EDIT replaces the live wizard message; SEND posts a new one (e.g. after typed input,
    when editing a message above the user's text would be missed)."""

    EDIT = "edit"
    SEND = "send"


@dataclass(frozen=True)
class CallbackButton:
    label: str
    data: str


@dataclass(frozen=True)
class UrlButton:
    label: str
    url: str


Button = CallbackButton | UrlButton


@dataclass(frozen=True)
class InputExpectation:
    """Free text the screen asks for; ``regex`` (``re.fullmatch``) is checked before Kraken."""

    key: str
    regex: str | None = None
    optional: bool = False


@dataclass(frozen=True)
class Screen:
    text: str
    keyboard: list[list[Button]] = field(default_factory=list)
    # A line under the text that changes while the screen stays (a wait's progress); when
    # the chat moves on, the message keeps its text and this line becomes a tick.
    footer: str | None = None
    expects: InputExpectation | None = None
    delivery: Delivery = Delivery.EDIT
    parse_mode: str = "HTML"
    disable_preview: bool = True

    def buttons(self) -> list[Button]:
        return [button for row in self.keyboard for button in row]
