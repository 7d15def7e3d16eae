"""Steps that resolve by themselves: say what we wait for; offer check-now and cancel."""

from __future__ import annotations

from dialogs.callback_data import Action
from dialogs.conversation import Conversation
from dialogs.i18n import t
from dialogs.render.common import button, cancel_row, paragraphs
from dialogs.screen import Screen
from kraken.models import DeviceRegistrationStep, WaitForLiveIntegrationStep, WaitForTransitionStep

WaitingStep = DeviceRegistrationStep | WaitForTransitionStep | WaitForLiveIntegrationStep


def render_waiting(conv: Conversation, step: WaitingStep) -> Screen:
    text = paragraphs(
        [t(conv.locale, f"step.wait.{step.typename}"), t(conv.locale, "step.wait.footer")]
    )
    keyboard = [[button(conv, "btn.check_now", Action.CHECK_NOW)], cancel_row(conv)]
    return Screen(text=text, keyboard=keyboard)
