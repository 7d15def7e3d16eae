"""Button taps: validate the callback data against the current step, then act on it.

A tap is acted on only if its data decodes, it was drawn for the step the user is looking at,
the machine allows its action in the current state, and Kraken's wizard is still on that step
(`Turn.seen_step`); anything else re-shows the current screen with a notice, so an old message
or a wizard moved on elsewhere can never change the wizard.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from dialogs import machine as m
from dialogs.callback_data import Action, CallbackData, decode, option_hash, step_hash
from dialogs.families import state_for
from dialogs.flows import answer_input, check_now, start_new
from dialogs.navigation import back_target, find_step
from dialogs.render.common import bound_step
from dialogs.render.lists import is_supported, not_live_notice, render_list
from dialogs.render.signin import render_sign_in
from dialogs.render.states import render_cancel_confirm, render_cancelled
from dialogs.turn import Turn
from kraken.models import AuthFlowStep, Integration, SelectFromListStep, TeslaModifyScopesStep

TRIGGERS: dict[Action, str] = {
    Action.CHOOSE: "choose",
    Action.PAGE: "page",
    Action.CLEAR_FILTER: "filter",
    Action.BACK: "back",
    Action.INTEGRATION: "pick_integration",
    Action.SIGNED_IN: "done",
    Action.KEY_ADDED: "done",
    Action.ACTION_DONE: "done",
    Action.CONFIRM_TEST: "start_test",
    Action.CHECK_NOW: "check_now",
    Action.SKIP_INPUT: "submit_input",
    Action.RETRY: "retry",
    Action.CANCEL: "cancel",
    Action.CANCEL_YES: "cancel_confirmed",
    Action.CANCEL_NO: "keep_going",
    Action.RESUME: "resume",
    Action.START_OVER: "restart",
    Action.START_AGAIN: "restart",
    Action.CONTINUE: "help",
}

Handler = Callable[[Turn, CallbackData], Awaitable[None]]


async def handle_tap(turn: Turn, data: str) -> None:
    tap = decode(data)
    if tap is None:
        await turn.show_current(turn.text("notice.invalid_button"))
        return
    trigger = TRIGGERS[tap.action]
    if tap.step_hash != step_hash(bound_step(turn.conv)) or not m.allows(turn.conv.state, trigger):
        await turn.show_current(turn.text("notice.stale"))
        return
    await _HANDLERS[tap.action](turn, tap)


def _ids(turn: Turn) -> tuple[str, str]:
    conv = turn.conv
    assert conv.wizard_id is not None and conv.step_id is not None
    return conv.wizard_id, conv.step_id


async def _list_step(turn: Turn) -> SelectFromListStep | None:
    _, step = await turn.seen_step()
    return step if isinstance(step, SelectFromListStep) else None


async def _choose(turn: Turn, tap: CallbackData) -> None:
    step = await _list_step(turn)
    found = [o for o in step.options if option_hash(o.id) == tap.arg] if step else []
    if step is None or len(found) != 1:
        await turn.show_current(turn.text("notice.invalid_button"))
        return
    (option,) = found
    # A car without an integration can still be onboarded through a smart charger, so an
    # unsupported option is selected with a warning rather than refused.
    warning = None if is_supported(option) else not_live_notice(turn.conv, option)
    wizard_id, _ = _ids(turn)
    turn.arrive(await turn.kraken.select_from_list(wizard_id, step.id, option.id), warning)


async def _show_list(turn: Turn, page: int, filter_text: str | None = None) -> None:
    turn.conv.list_page = page
    if filter_text is not None:
        turn.conv.list_filter = filter_text
    step = await _list_step(turn)
    if step is None:
        await turn.show_current(turn.text("notice.stale"))
    else:
        turn.show(render_list(turn.conv, step))


async def _page(turn: Turn, tap: CallbackData) -> None:
    await _show_list(turn, tap.int_arg() or 0)


async def _clear_filter(turn: Turn, tap: CallbackData) -> None:
    await _show_list(turn, 0, "")


async def _back(turn: Turn, tap: CallbackData) -> None:
    """Show the earlier list step again; choosing on it makes Kraken reverse the choice."""
    wizard = await turn.read_wizard()
    turn.ensure_unmoved(wizard)
    target = find_step(wizard, turn.conv.back_step_id)
    if not isinstance(target, SelectFromListStep):
        turn.arrive(wizard, turn.text("notice.stale"))
        return
    conv = turn.conv
    conv.reset_step_view()
    conv.revisit_step_id = target.id
    conv.back_step_id = back_target(wizard, before=target.id)
    turn.fire("step_arrived", target=state_for(target))
    turn.show(render_list(conv, target))


async def _integration(turn: Turn, tap: CallbackData) -> None:
    if tap.arg not in Integration.__members__:
        await turn.show_current(turn.text("notice.invalid_button"))
        return
    wizard_id, step_id = _ids(turn)
    integration = Integration(tap.arg)
    turn.arrive(await turn.kraken.select_vehicle_or_charge_point(wizard_id, step_id, integration))


async def _signed_in(turn: Turn, tap: CallbackData) -> None:
    wizard, step = await turn.seen_step()
    if isinstance(step, AuthFlowStep | TeslaModifyScopesStep):
        turn.conv.awaiting_url = True
        turn.show(render_sign_in(turn.conv, step))
    else:
        turn.arrive(wizard, turn.text("notice.stale"))


async def _key_added(turn: Turn, tap: CallbackData) -> None:
    turn.arrive(await turn.kraken.complete_tesla_virtual_key(*_ids(turn)))


async def _action_done(turn: Turn, tap: CallbackData) -> None:
    turn.arrive(await turn.kraken.complete_user_action(*_ids(turn)))


async def _confirm_test(turn: Turn, tap: CallbackData) -> None:
    turn.arrive(await turn.kraken.start_test_charge(*_ids(turn)))


async def _check_now(turn: Turn, tap: CallbackData) -> None:
    await check_now(turn)


async def _skip(turn: Turn, tap: CallbackData) -> None:
    if tap.int_arg() != turn.conv.input_index:
        await turn.show_current(turn.text("notice.stale"))
    else:
        await answer_input(turn, None)


async def _retry(turn: Turn, tap: CallbackData) -> None:
    if turn.conv.state == m.RETRY_OFFERED:
        turn.arrive(await turn.kraken.complete_retry(*_ids(turn)))
    else:
        await turn.refresh()


async def _cancel(turn: Turn, tap: CallbackData) -> None:
    turn.fire("cancel")
    turn.show(render_cancel_confirm(turn.conv))


async def _cancel_yes(turn: Turn, tap: CallbackData) -> None:
    wizard_id, _ = _ids(turn)
    await turn.kraken.cancel(wizard_id)
    turn.fire("cancel_confirmed")
    turn.stop_polling()
    turn.show(render_cancelled(turn.conv))


async def _keep_going(turn: Turn, tap: CallbackData) -> None:
    await turn.refresh()


async def _resume(turn: Turn, tap: CallbackData) -> None:
    await turn.refresh()


async def _start_over(turn: Turn, tap: CallbackData) -> None:
    if turn.conv.wizard_id and turn.conv.state == m.RESUMING:
        await turn.kraken.cancel(turn.conv.wizard_id)
    await start_new(turn)


async def _continue(turn: Turn, tap: CallbackData) -> None:
    await turn.show_current()


_HANDLERS: dict[Action, Handler] = {
    Action.CHOOSE: _choose,
    Action.PAGE: _page,
    Action.CLEAR_FILTER: _clear_filter,
    Action.BACK: _back,
    Action.INTEGRATION: _integration,
    Action.SIGNED_IN: _signed_in,
    Action.KEY_ADDED: _key_added,
    Action.ACTION_DONE: _action_done,
    Action.CONFIRM_TEST: _confirm_test,
    Action.CHECK_NOW: _check_now,
    Action.SKIP_INPUT: _skip,
    Action.RETRY: _retry,
    Action.CANCEL: _cancel,
    Action.CANCEL_YES: _cancel_yes,
    Action.CANCEL_NO: _keep_going,
    Action.RESUME: _resume,
    Action.START_OVER: _start_over,
    Action.START_AGAIN: _start_over,
    Action.CONTINUE: _continue,
}
