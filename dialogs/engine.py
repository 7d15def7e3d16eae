"""The conversation engine: one event in, the next conversation and screens out.

`handle` never raises `KrakenError`: every failure becomes a screen (see `Turn.fail`). Kraken
is called here, outside any machine callback; the machine is fired with the result.
"""

from __future__ import annotations

from dialogs import machine as m
from dialogs.conversation import Conversation, utcnow
from dialogs.events import (
    AuthCallback,
    Begin,
    Cancel,
    CheckNow,
    Event,
    Help,
    Language,
    ReAuthenticate,
    Resume,
    Tap,
    Text,
    WizardChanged,
)
from dialogs.flows import (
    answer_input,
    check_now,
    complete_sign_in,
    filter_list,
    start_new,
    unchanged,
)
from dialogs.i18n import resolve_locale
from dialogs.outcome import Outcome
from dialogs.port import KrakenPort
from dialogs.render.states import render_cancel_confirm, render_resuming
from dialogs.screen import Delivery
from dialogs.snapshots import WizardSnapshots
from dialogs.taps import handle_tap
from dialogs.turn import MovedOn, Turn
from kraken.errors import KrakenError
from kraken.models import Wizard

MAX_FILTER = 40


async def handle(
    conv: Conversation,
    event: Event,
    kraken: KrakenPort,
    snapshots: WizardSnapshots | None = None,
) -> Outcome:
    """Apply ``event`` to a copy of ``conv``; the caller persists ``Outcome.conversation``.

    ``snapshots`` (kept by the caller across turns) spares re-reading a wizard that Kraken's
    last answer already described; without it every turn reads afresh."""
    if isinstance(event, AuthCallback) and event.wizard_id not in (None, conv.wizard_id):
        # A sign-in for a wizard this chat has left (a new one was started since): not ours
        # to complete, and nothing to tell the chat; the web page says it did not work.
        return Outcome(conversation=conv.model_copy(deep=True))
    turn = Turn(
        conv.model_copy(deep=True),
        kraken,
        snapshots if snapshots is not None else WizardSnapshots(),
    )
    turn.conv.last_activity_at = utcnow()
    try:
        await _dispatch(turn, event)
    except MovedOn:
        pass  # the fresh screen, with "that has moved on", is already shown
    except KrakenError as error:
        turn.screens.clear()
        try:
            await turn.fail(error)
        except KrakenError as second:  # e.g. the refresh after "step moved on" failed too
            turn.screens.clear()
            await turn.fail(second)
    return turn.outcome()


async def _dispatch(turn: Turn, event: Event) -> None:
    match event:
        case Begin():
            await _begin(turn, event)
        case Tap(data=data):
            turn.delivery = Delivery.EDIT
            await handle_tap(turn, data)
        case Text(text=text):
            await _text(turn, text)
        case CheckNow():
            await check_now(turn)
        case WizardChanged(wizard=wizard):
            _wizard_changed(turn, wizard)
        case AuthCallback(continuation_uri=uri):
            await _auth_callback(turn, uri)
        case Cancel():
            await _cancel(turn)
        case Help():
            turn.show_help()
        case Language(code=code):
            turn.conv.locale = resolve_locale(None, code, turn.conv.locale)
            turn.conv.locale_override = True
            await turn.show_current(turn.text("notice.language_changed"))


# ---------------------------------------------------------------- starting


async def _begin(turn: Turn, event: Begin) -> None:
    old = turn.conv
    turn.conv = Conversation(
        account_number=event.account_number,
        property_id=event.property_id,
        locale=old.locale,
        locale_override=old.locale_override,
        message_id=old.message_id,
        started_at=utcnow(),
        last_activity_at=utcnow(),
    )
    kraken, account, prop = turn.kraken, event.account_number, event.property_id
    match event.intent:
        case Resume(wizard_id=wizard_id):
            turn.arrive(await kraken.wizard(account, wizard_id))
        case ReAuthenticate(device_id=device_id):
            turn.arrive(await kraken.start_reauthentication(account, device_id, prop))
        case None:
            resumable = await kraken.wizards(account, property_id=prop, is_resumable=True)
            open_wizards = [w for w in resumable if w.current_step is not None]
            if open_wizards:
                turn.conv.wizard_id = open_wizards[0].id
                turn.conv.device_name = open_wizards[0].display_name
                turn.fire("resume_offered")
                turn.show(render_resuming(turn.conv))
            else:
                await start_new(turn)


# ---------------------------------------------------------------- background and callbacks


def _wizard_changed(turn: Turn, wizard: Wizard) -> None:
    """The notifier saw a change: speak only when it is news for this chat."""
    conv = turn.conv
    if wizard.id != conv.wizard_id or conv.state in (m.CANCELLED, m.NOT_LINKED):
        return
    if unchanged(conv, wizard):
        return
    turn.arrive(wizard)


async def _auth_callback(turn: Turn, uri: str) -> None:
    if turn.conv.state != m.SIGNING_IN:
        await turn.show_current(turn.text("notice.stale"))
        return
    await complete_sign_in(turn, uri)


async def _cancel(turn: Turn) -> None:
    if m.allows(turn.conv.state, "cancel"):
        turn.fire("cancel")
        turn.show(render_cancel_confirm(turn.conv))
    else:
        await turn.show_current()


# ---------------------------------------------------------------- typed text


async def _text(turn: Turn, text: str) -> None:
    state = turn.conv.state
    if state in m.LISTS:
        await filter_list(turn, text.strip()[:MAX_FILTER])
    elif state == m.ANSWERING_INPUT:
        await answer_input(turn, text.strip())
    elif state == m.SIGNING_IN:
        await complete_sign_in(turn, text.strip())
    else:
        await turn.show_current(turn.text("notice.unexpected_text"))
