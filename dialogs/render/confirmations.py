"""Steps the user completes outside the chat and then confirms: virtual key, user actions,
and Kraken's Retry step."""

from __future__ import annotations

from dialogs.callback_data import Action
from dialogs.conversation import Conversation
from dialogs.i18n import t
from dialogs.render.common import button, cancel_row, link, openable, paragraphs
from dialogs.screen import Button, Screen
from kraken.models import RetryStep, TeslaSetupVirtualKeyStep, UserActionRequiredStep


def render_virtual_key(conv: Conversation, step: TeslaSetupVirtualKeyStep) -> Screen:
    keyboard: list[list[Button]] = []
    if step.uri and openable(step.uri):
        keyboard.append([link(conv, "btn.add_key", step.uri)])
    keyboard += [[button(conv, "btn.key_added", Action.KEY_ADDED)], cancel_row(conv)]
    text = t(conv.locale, "step.virtual_key.body", key_name=step.key or "")
    return Screen(text=text, keyboard=keyboard)


def render_user_action(conv: Conversation, step: UserActionRequiredStep) -> Screen:
    loc = conv.locale
    items: list[str] = []
    links: list[Button] = []
    for n, action in enumerate(step.user_actions, start=1):
        description = action.description or action.user_action or ""
        items.append(t(loc, "step.action.item", index=n, description=description))
        if action.uri and openable(action.uri):
            links.append(link(conv, "btn.open_link", action.uri, index=n))
        elif action.uri:
            items.append(t(loc, "step.action.address", address=action.uri))
    keyboard: list[list[Button]] = [links[i : i + 2] for i in range(0, len(links), 2)]
    keyboard += [[button(conv, "btn.action_done", Action.ACTION_DONE)], cancel_row(conv)]
    return Screen(
        text=paragraphs([t(loc, "step.action.body"), "\n".join(items)]), keyboard=keyboard
    )


def render_retry_step(conv: Conversation, step: RetryStep) -> Screen:
    keyboard = [[button(conv, "btn.retry", Action.RETRY)], cancel_row(conv)]
    return Screen(text=t(conv.locale, "step.retry.body"), keyboard=keyboard)
