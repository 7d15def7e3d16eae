"""What the engine hands back: the new conversation, screens to show, and side effects."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from dialogs.conversation import Conversation
from dialogs.screen import Screen


class PollReason(Enum):
    DEVICE_REGISTRATION = "device_registration"
    TRANSITION = "transition"
    LIVE_INTEGRATION = "live_integration"
    TEST_CHARGE = "test_charge"
    UNKNOWN_STEP = "unknown_step"


@dataclass(frozen=True)
class StartPolling:
    """Ask the notifier to watch this wizard and send a `WizardChanged` when it moves."""

    wizard_id: str
    reason: PollReason


@dataclass(frozen=True)
class StopPolling:
    wizard_id: str


@dataclass(frozen=True)
class RecordOAuthState:
    """Remember which wizard an OAuth ``state`` belongs to, for the callback endpoint."""

    state: str
    wizard_id: str


@dataclass(frozen=True)
class NotifySupport:
    """Something only a human can sort out; the summary never contains secrets."""

    summary: str


Effect = StartPolling | StopPolling | RecordOAuthState | NotifySupport


@dataclass
class Outcome:
    conversation: Conversation
    screens: list[Screen] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
