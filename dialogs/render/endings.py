"""Where a journey stops: live, unsupported, terminal errors, and steps we cannot do here."""

from __future__ import annotations

from dialogs.callback_data import Action
from dialogs.conversation import Conversation
from dialogs.i18n import t
from dialogs.render.common import button, cancel_row, paragraphs, support_reference
from dialogs.render.lists import back_and_cancel
from dialogs.screen import Screen
from kraken.models import StepBase, TerminalErrorStep, TeslaRegistrationFailedStep


def render_live(conv: Conversation) -> Screen:
    device = conv.device_name or t(conv.locale, "step.done.device_fallback")
    return Screen(text=t(conv.locale, "step.done.body", device=device))


def render_unsupported(conv: Conversation) -> Screen:
    return Screen(text=t(conv.locale, "step.unsupported.body"), keyboard=[back_and_cancel(conv)])


def _reference(conv: Conversation, code: str | None = None) -> str:
    return t(conv.locale, "step.support_reference", reference=support_reference(conv, code))


def render_terminal(
    conv: Conversation, step: TerminalErrorStep | TeslaRegistrationFailedStep
) -> Screen:
    loc = conv.locale
    if isinstance(step, TerminalErrorStep):
        items = "\n".join(
            t(
                loc,
                "step.terminal.item",
                description=e.description or e.error_code,
                code=e.error_code,
            )
            for e in step.errors
        )
        code = step.errors[0].error_code if step.errors else None
        text = paragraphs([t(loc, "step.terminal.body"), items, _reference(conv, code)])
        keyboard = [[button(conv, "btn.start_again", Action.START_AGAIN)]]
    else:
        text = paragraphs([t(loc, "step.tesla_failed.body"), _reference(conv)])
        keyboard = [[button(conv, "btn.check_now", Action.CHECK_NOW)], cancel_row(conv)]
    return Screen(text=text, keyboard=keyboard)


def render_unknown(conv: Conversation, step: StepBase) -> Screen:
    text = paragraphs([t(conv.locale, "step.unknown.body"), _reference(conv, step.typename)])
    keyboard = [[button(conv, "btn.check_now", Action.CHECK_NOW)], cancel_row(conv)]
    return Screen(text=text, keyboard=keyboard)
