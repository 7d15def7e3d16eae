"""Pieces every renderer shares: translated buttons bound to the step, text assembly."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from dialogs.callback_data import Action, encode
from dialogs.conversation import Conversation
from dialogs.i18n import t
from dialogs.screen import Button, CallbackButton, UrlButton


def button(
    conv: Conversation, label_key: str, action: Action, arg: str | int = "", **params: object
) -> Button:
    """A translated button whose data is bound to the conversation's current step."""
    return CallbackButton(
        t(conv.locale, label_key, None, **params), encode(bound_step(conv), action, arg)
    )


def raw_button(conv: Conversation, label: str, action: Action, arg: str | int = "") -> Button:
    """A button whose label is data (a make, a model) rather than a catalog text."""
    return CallbackButton(label, encode(bound_step(conv), action, arg))


def openable(url: str) -> bool:
    """Whether Telegram accepts `url` on a button: http(s) and tg only (an OCPP charger's
    ws:// endpoint, say, must be shown as text for the customer to type in)."""
    return urlsplit(url).scheme.lower() in ("http", "https", "tg")


def link(conv: Conversation, label_key: str, url: str, **params: object) -> Button:
    return UrlButton(t(conv.locale, label_key, None, **params), url)


def bound_step(conv: Conversation) -> str | None:
    """The step id buttons are bound to: an earlier list step being revisited, else current."""
    return conv.revisit_step_id or conv.step_id


def cancel_row(conv: Conversation) -> list[Button]:
    return [button(conv, "btn.cancel", Action.CANCEL)]


def paragraphs(parts: Iterable[str | None]) -> str:
    """Join non-empty text blocks with a blank line between them."""
    return "\n\n".join(part for part in parts if part)


def support_reference(conv: Conversation | None, code: str | None = None) -> str:
    """The one reference a customer quotes to support, everywhere: ``SF-`` and the wizard
    id (else the account), then the error code when there is one."""
    case = (conv.wizard_id or conv.account_number) if conv is not None else None
    reference = f"SF-{case or 'none'}"
    return f"{reference}/{code}" if code else reference
