"""Renderers: pure functions from (conversation, step) to a Screen, one module per family."""

from __future__ import annotations

from dataclasses import replace

from dialogs.conversation import Conversation
from dialogs.render.common import paragraphs
from dialogs.render.lists import render_list
from dialogs.render.steps import (
    render_input,
    render_integration,
    render_live,
    render_retry_step,
    render_sign_in,
    render_terminal,
    render_tesla_failed,
    render_test_charge,
    render_unknown,
    render_unsupported,
    render_user_action,
    render_virtual_key,
    render_waiting,
)
from dialogs.screen import Screen
from kraken.models import (
    AuthFlowStep,
    DeviceRegistrationStep,
    RetryStep,
    SelectFromListStep,
    SelectVehicleOrChargePointStep,
    Step,
    TerminalErrorStep,
    TeslaModifyScopesStep,
    TeslaRegistrationFailedStep,
    TeslaSetupVirtualKeyStep,
    TestChargeStep,
    UnsupportedCombinationStep,
    UserActionRequiredStep,
    UserInputRequiredStep,
    WaitForLiveIntegrationStep,
    WaitForTransitionStep,
)


def with_notice(screen: Screen, notice: str | None) -> Screen:
    """The same screen with a short notice (e.g. "this menu has moved on") above it."""
    return replace(screen, text=paragraphs([notice, screen.text])) if notice else screen


def render_step(conv: Conversation, step: Step | None) -> Screen:
    """The screen for the wizard's current step (None: the wizard is complete)."""
    match step:
        case None:
            return render_live(conv)
        case SelectFromListStep():
            return render_list(conv, step)
        case SelectVehicleOrChargePointStep():
            return render_integration(conv, step)
        case UserInputRequiredStep() if step.user_inputs:
            return render_input(conv, step)
        case AuthFlowStep() | TeslaModifyScopesStep():
            return render_sign_in(conv, step)
        case TeslaSetupVirtualKeyStep():
            return render_virtual_key(conv, step)
        case UserActionRequiredStep():
            return render_user_action(conv, step)
        case TestChargeStep():
            return render_test_charge(conv, step)
        case DeviceRegistrationStep() | WaitForTransitionStep() | WaitForLiveIntegrationStep():
            return render_waiting(conv, step)
        case RetryStep():
            return render_retry_step(conv, step)
        case UnsupportedCombinationStep():
            return render_unsupported(conv)
        case TeslaRegistrationFailedStep():
            return render_tesla_failed(conv, step)
        case TerminalErrorStep():
            return render_terminal(conv, step)
        case _:  # an unknown type, or a known one we cannot complete here (no inputs)
            return render_unknown(conv, step)
