"""Screens for conversation states that are not a Kraken step (resume offer, cancel, errors)."""

from __future__ import annotations

from collections.abc import Sequence

from dialogs.callback_data import Action
from dialogs.conversation import Conversation
from dialogs.i18n import has_key, t
from dialogs.render.common import button, paragraphs, support_reference
from dialogs.render.devices import device_button, device_name
from dialogs.screen import Screen
from kraken.errors import ErrorCategory, KrakenError, KrakenTransportError
from kraken.models import Device


def render_resuming(conv: Conversation) -> Screen:
    device = conv.device_name or t(conv.locale, "step.resuming.device_fallback")
    keyboard = [
        [button(conv, "btn.resume", Action.RESUME)],
        [button(conv, "btn.start_over", Action.START_OVER)],
    ]
    return Screen(text=t(conv.locale, "step.resuming.body", device=device), keyboard=keyboard)


def render_cancel_confirm(conv: Conversation) -> Screen:
    keyboard = [
        [button(conv, "btn.cancel_no", Action.CANCEL_NO)],
        [button(conv, "btn.cancel_yes", Action.CANCEL_YES)],
    ]
    return Screen(text=t(conv.locale, "step.cancel.confirm"), keyboard=keyboard)


def render_cancelled(conv: Conversation, half_set_up: Sequence[Device] = ()) -> Screen:
    """Setup stopped; a device it had registered already can be removed from here."""
    keyboard = [[button(conv, "btn.start_again", Action.START_AGAIN)]]
    text = t(conv.locale, "step.cancel.done")
    if half_set_up:
        text = paragraphs([text, t(conv.locale, "device.half_set_up")])
        keyboard += [
            [
                device_button(
                    conv,
                    "btn.device.remove_half",
                    Action.DEVICE_REMOVE,
                    device,
                    name=device_name(conv, device),
                )
            ]
            for device in half_set_up
        ]
    return Screen(text=text, keyboard=keyboard)


def render_switch_confirm(conv: Conversation) -> Screen:
    """A link for another account was opened here: switch, or keep the current one?"""
    text = t(
        conv.locale,
        "bot.switch.confirm",
        current=conv.account_number or "—",
        new=conv.switch_account or "—",
    )
    keyboard = [
        [button(conv, "bot.btn.switch_yes", Action.SWITCH_YES)],
        [button(conv, "bot.btn.switch_no", Action.SWITCH_NO)],
    ]
    return Screen(text=text, keyboard=keyboard)


def render_not_linked(conv: Conversation) -> Screen:
    return Screen(text=t(conv.locale, "step.not_linked.body"))


def render_ineligible(conv: Conversation) -> Screen:
    return Screen(text=t(conv.locale, "step.no_eligible.body"))


def render_help(conv: Conversation) -> Screen:
    keyboard = [[button(conv, "btn.continue", Action.CONTINUE)]]
    return Screen(text=t(conv.locale, "help.body"), keyboard=keyboard)


def error_message(conv: Conversation, error: KrakenError) -> str:
    """The plain-language sentence for an error code (or for not reaching Kraken at all)."""
    if isinstance(error, KrakenTransportError):
        return t(conv.locale, "error.code.transport")
    key = f"error.code.{error.code}"
    return t(conv.locale, key if has_key(key) else "error.code.unknown")


_CATEGORY_KEYS = {
    ErrorCategory.RETRY: "error.retry_later",
    ErrorCategory.REAUTHENTICATE: "error.reauthenticate",
    ErrorCategory.USER_CAN_FIX: "error.fix_input",
    ErrorCategory.FATAL: "error.fatal",
    ErrorCategory.STEP_MOVED_ON: "error.retry_later",
    ErrorCategory.UNSUPPORTED: "error.fatal",
}


def render_error(conv: Conversation, error: KrakenError) -> Screen:
    """The error screen: what happened in plain words, and a reference when support must help."""
    text = t(conv.locale, _CATEGORY_KEYS[error.category], message=error_message(conv, error))
    if error.category is ErrorCategory.FATAL:
        reference = support_reference(conv, error.code)
        text = paragraphs([text, t(conv.locale, "step.support_reference", reference=reference)])
    return Screen(text=text, keyboard=[[button(conv, "btn.retry", Action.RETRY)]])
