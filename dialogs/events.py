"""What can happen to a conversation: user actions and notices from the outside world."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kraken.models import Wizard


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
class Language:
    code: str


Event = Begin | Tap | Text | CheckNow | WizardChanged | AuthCallback | Cancel | Help | Language
