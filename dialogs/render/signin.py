"""AuthFlow and TeslaModifyScopes: a link to the provider, then back with the landing URL."""

from __future__ import annotations

from dialogs.callback_data import Action
from dialogs.conversation import Conversation
from dialogs.i18n import t
from dialogs.render.common import button, link, openable, paragraphs
from dialogs.render.lists import back_and_cancel
from dialogs.screen import Button, InputExpectation, Screen
from kraken.models import AuthFlowStep, TeslaModifyScopesStep

CONTINUATION_KEY = "continuation_uri"


def render_sign_in(conv: Conversation, step: AuthFlowStep | TeslaModifyScopesStep) -> Screen:
    loc = conv.locale
    if isinstance(step, AuthFlowStep):
        body, url, label = "step.auth.body", step.authorization_uri, "btn.sign_in"
        previous = step.error_message
    else:
        body, url, label = (
            "step.tesla_scopes.body",
            step.modify_scopes_uri,
            "btn.update_permissions",
        )
        previous = None
    keyboard: list[list[Button]] = []
    if url and openable(url):
        keyboard.append([link(conv, label, url)])
    if conv.awaiting_url:
        text = t(loc, "step.auth.paste_prompt")
    else:
        text = paragraphs(
            [
                t(loc, "step.auth.previous_error", message=previous) if previous else None,
                t(loc, body),
                t(loc, "step.auth.paste_hint"),
            ]
        )
        keyboard.append([button(conv, "btn.signed_in", Action.SIGNED_IN)])
    keyboard.append(back_and_cancel(conv))
    return Screen(text=text, keyboard=keyboard, expects=InputExpectation(key=CONTINUATION_KEY))
