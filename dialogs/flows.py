"""Moves shared by typed text and taps: starting, checking, answering, signing in."""

from __future__ import annotations

import re

from dialogs import machine as m
from dialogs.conversation import Conversation
from dialogs.families import state_for
from dialogs.landing import LandingKind, classify_landing
from dialogs.render.inputs import current_input, render_input
from dialogs.render.lists import render_list
from dialogs.render.signin import render_sign_in
from dialogs.render.states import render_ineligible
from dialogs.turn import Turn
from kraken.models import (
    AuthFlowStep,
    SelectFromListStep,
    TeslaModifyScopesStep,
    UserInputRequiredStep,
    Wizard,
)


async def start_new(turn: Turn) -> None:
    """Start a fresh wizard, unless the property has nothing that can be smart-controlled."""
    conv = turn.conv
    assert conv.account_number is not None and conv.property_id is not None
    eligible = await turn.kraken.eligible_device_types(conv.account_number, conv.property_id)
    if not eligible:
        turn.fire("found_ineligible")
        turn.show(render_ineligible(conv))
        return
    turn.arrive(await turn.kraken.start_onboarding(conv.account_number, conv.property_id))


async def check_now(turn: Turn) -> None:
    """Re-read the wizard; say "still waiting" when nothing has changed."""
    if not m.allows(turn.conv.state, "check_now"):
        await turn.show_current()
        return
    wizard = await turn.read_wizard()
    if unchanged(turn.conv, wizard):
        turn.arrive(wizard, turn.text("notice.still_waiting"))
    else:
        turn.arrive(wizard)


def unchanged(conv: Conversation, wizard: Wizard) -> bool:
    step = wizard.current_step
    same_step = (step.id if step else None) == conv.step_id
    return same_step and state_for(step) == conv.state


async def filter_list(turn: Turn, text: str) -> None:
    turn.fire("filter")
    turn.conv.list_filter, turn.conv.list_page = text, 0
    _, step = await turn.seen_step()
    if isinstance(step, SelectFromListStep):
        turn.show(render_list(turn.conv, step))
    else:
        await turn.show_current(turn.text("notice.stale"))


# Serial numbers, VINs and the like are short; a pasted essay is a mistake, not an answer, and
# would bloat the stored conversation until the last input is submitted.
MAX_INPUT = 200


async def answer_input(turn: Turn, text: str | None) -> None:
    """Record one answer (None = skipped); submit all of them after the last one."""
    turn.fire("submit_input")
    wizard, step = await turn.seen_step()
    if not isinstance(step, UserInputRequiredStep) or not step.user_inputs:
        turn.arrive(wizard, turn.text("notice.stale"))
        return
    conv = turn.conv
    user_input = current_input(conv, step)
    if user_input is None:
        conv.input_index = 0
        user_input = step.user_inputs[0]
    if text is not None:
        if len(text) > MAX_INPUT:
            notice = turn.text("step.input.too_long", limit=MAX_INPUT)
            turn.show(render_input(conv, step), notice)
            return
        if user_input.regex and not _fullmatch(user_input.regex, text):
            turn.show(render_input(conv, step), turn.text("step.input.invalid"))
            return
        conv.inputs[user_input.key] = text
    conv.input_index += 1
    if current_input(conv, step) is not None:
        turn.show(render_input(conv, step))
        return
    inputs = dict(conv.inputs)
    conv.input_index, conv.inputs = 0, {}
    assert conv.wizard_id is not None
    turn.arrive(await turn.kraken.complete_user_input(conv.wizard_id, step.id, inputs))


def _fullmatch(pattern: str, text: str) -> bool:
    """Kraken's regexes are Python ``re.fullmatch`` patterns; a broken one is not our user's
    fault, so it lets the answer through to Kraken's own validation."""
    try:
        return re.fullmatch(pattern, text) is not None
    except re.error:
        return True


async def complete_sign_in(turn: Turn, url: str) -> None:
    turn.fire("submit_input")
    wizard, step = await turn.seen_step()
    if not isinstance(step, AuthFlowStep | TeslaModifyScopesStep):
        turn.arrive(wizard, turn.text("notice.stale"))
        return
    landing = classify_landing(url)
    conv = turn.conv
    if landing.kind is LandingKind.INVALID:
        conv.awaiting_url = True
        turn.show(render_sign_in(conv, step), turn.text("step.auth.bad_url"))
        return
    if landing.kind is not LandingKind.OK:
        conv.awaiting_url = False
        notice = (
            turn.text("step.auth.access_denied")
            if landing.kind is LandingKind.ACCESS_DENIED
            else turn.text("step.auth.provider_error", error=landing.error)
        )
        if isinstance(step, AuthFlowStep) and conv.wizard_id:
            turn.record_sign_in(conv.wizard_id, step, again=True)
        turn.show(render_sign_in(conv, step), notice)
        return
    assert conv.wizard_id is not None
    # TeslaModifyScopes also ends on its redirectUri; it is completed like an AuthFlow.
    turn.arrive(await turn.kraken.complete_auth_flow(conv.wizard_id, step.id, url.strip()))
