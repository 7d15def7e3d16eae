"""UserInputRequired: one prompt per input, in order, optional ones skippable."""

from __future__ import annotations

from dialogs.callback_data import Action
from dialogs.conversation import Conversation
from dialogs.i18n import t
from dialogs.render.common import button, paragraphs
from dialogs.render.lists import back_and_cancel
from dialogs.screen import Button, InputExpectation, Screen
from kraken.models import UserInput, UserInputRequiredStep


def current_input(conv: Conversation, step: UserInputRequiredStep) -> UserInput | None:
    """The input being asked for, or None once every input has an answer (or was skipped)."""
    inputs = step.user_inputs
    return inputs[conv.input_index] if conv.input_index < len(inputs) else None


def is_optional(user_input: UserInput) -> bool:
    return user_input.is_required is False


def render_input(conv: Conversation, step: UserInputRequiredStep) -> Screen:
    user_input = current_input(conv, step) or step.user_inputs[0]
    loc = conv.locale
    total = len(step.user_inputs)
    rejected = (
        t(loc, "step.input.rejected", message=step.error_message)
        if step.error_message and conv.input_index == 0
        else None
    )
    text = paragraphs(
        [
            rejected,
            t(loc, "step.input.progress", index=conv.input_index + 1, total=total)
            if total > 1
            else None,
            t(loc, "step.input.prompt", description=user_input.description or user_input.key),
            t(loc, "step.input.optional") if is_optional(user_input) else None,
        ]
    )
    keyboard: list[list[Button]] = []
    if is_optional(user_input):
        keyboard.append([button(conv, "btn.skip", Action.SKIP_INPUT, conv.input_index)])
    keyboard.append(back_and_cancel(conv))
    expects = InputExpectation(
        key=user_input.key, regex=user_input.regex, optional=is_optional(user_input)
    )
    return Screen(text=text, keyboard=keyboard, expects=expects)
