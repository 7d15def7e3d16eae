"""What goes into a turn (events: the customer, the notifier, the OAuth return) and what
comes out of it (the next conversation, screens, and effects for the bot to carry out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from dialogs.conversation import Conversation
from dialogs.machine import WaitReason
from dialogs.screen import Screen

if TYPE_CHECKING:
    from kraken.models import Wizard


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class Resume:
    wizard_id: str


@dataclass(frozen=True)
class ReAuthenticate:
    device_id: str


Intent = Resume | ReAuthenticate


@dataclass(frozen=True)
class Begin:
    """Bind the chat to an account and open its wizard (resume, re-auth, or a new one)."""

    account_number: str
    property_id: int
    intent: Intent | None = None


@dataclass(frozen=True)
class OfferSwitch:
    """A hand-off link for another account was opened in a chat bound to an account: ask
    before switching. Only the link's hash travels; the bot redeems it on "yes"."""

    link_digest: str
    account_number: str
    current_account: str
    current_property: int


@dataclass(frozen=True)
class Tap:
    data: str


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class CheckNow:
    pass


@dataclass(frozen=True)
class WizardChanged:
    """The background notifier saw the wizard move on."""

    wizard: Wizard


@dataclass(frozen=True)
class Progress:
    """The wait on ``step_id`` goes on: refresh its progress line. Drawn from the
    conversation alone — a refresh is not a look and never asks Kraken.

    ``test_charge_seconds``: how long a test charge takes (our figure; Kraken gives none)."""

    step_id: str | None
    now: datetime
    test_charge_seconds: float


@dataclass(frozen=True)
class AuthCallback:
    """The OAuth provider redirected to our callback with this full URL.

    ``wizard_id``: the wizard the sign-in link was recorded for; when it is given and the
    chat has since moved to another wizard, the callback changes nothing."""

    continuation_uri: str
    wizard_id: str | None = None


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class ShowDevices:
    """/devices (and /status): the account's devices and what can be done with them."""


@dataclass(frozen=True)
class Language:
    code: str


Event = (
    Begin
    | OfferSwitch
    | Tap
    | Text
    | CheckNow
    | WizardChanged
    | Progress
    | AuthCallback
    | Cancel
    | Help
    | ShowDevices
    | Language
)


# ---------------------------------------------------------------- effects


@dataclass(frozen=True)
class StartWatching:
    """Ask the notifier to watch this wizard and send a `WizardChanged` when it moves."""

    wizard_id: str
    reason: WaitReason


@dataclass(frozen=True)
class StopWatching:
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


@dataclass(frozen=True)
class SwitchAccount:
    """The customer said yes to switching: redeem the link (by its hash) and begin with it."""

    link_digest: str


@dataclass(frozen=True)
class TakeOver:
    """The customer chose to continue the account's onboarding in this chat."""

    account_number: str


Effect = StartWatching | StopWatching | RecordOAuthState | NotifySupport | SwitchAccount | TakeOver


@dataclass
class Outcome:
    conversation: Conversation
    screens: list[Screen] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
