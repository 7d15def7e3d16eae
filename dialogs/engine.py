"""The conversation engine: one event in, the next conversation, screens and effects out.

Every event — a tap, typed text, a notifier look, an OAuth return, a hand-off — is applied
here. Kraken is called outside any machine callback; the machine is fired with the result.
`handle` never raises `KrakenError`: every failure becomes a screen (`Turn.fail`).

Buttons: the tap table `TAPS` declares each button once — its `Action` (the id its callback
data carries), the machine `Trigger` that must be legal for it, whether it is bound to the
step it was drawn for, and its handler, which sits right under its `@tap(...)` line. Typed
text resolves to the same handlers through `_text`.

Acting is strict, showing is lenient: anything that acts on a step goes through
`Turn.seen_step`, which refuses (with the fresh screen and "that has moved on") when Kraken's
wizard is no longer on the step the customer saw.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import NoReturn

from dialogs.callback_data import Action, CallbackData, decode, option_hash, step_hash
from dialogs.conversation import Conversation, utcnow
from dialogs.events import (
    AuthCallback,
    Begin,
    Cancel,
    CheckNow,
    Effect,
    Event,
    Help,
    Language,
    NotifySupport,
    OfferSwitch,
    Outcome,
    Progress,
    ReAuthenticate,
    RecordOAuthState,
    Resume,
    ShowDevices,
    StartWatching,
    StopWatching,
    SwitchAccount,
    TakeOver,
    Tap,
    Text,
    WizardChanged,
)
from dialogs.i18n import has_key, resolve_locale, t
from dialogs.machine import (
    DEVICE_STATES,
    LISTS,
    State,
    Trigger,
    WaitReason,
    allows,
    fire,
    state_for,
    wait_reason,
)
from dialogs.render import render_step, with_notice
from dialogs.render.common import bound_step, support_reference
from dialogs.render.lists import is_supported, not_live_notice, render_list
from dialogs.render.states import (
    error_message,
    render_cancel_confirm,
    render_cancelled,
    render_error,
    render_help,
    render_ineligible,
    render_not_linked,
    render_resuming,
    render_switch_confirm,
)
from dialogs.render.steps import (
    TESLA_REMEDIES,
    current_input,
    render_cancelled_elsewhere,
    render_completing,
    render_ended,
    render_input,
    render_live,
    render_sign_in,
    render_test_charge,
    render_unknown,
)
from dialogs.screen import Delivery, Screen
from dialogs.wizard import (
    Ending,
    KrakenPort,
    LandingKind,
    WizardSnapshots,
    back_target,
    classify_landing,
    find_step,
    oauth_state,
    read_device,
    read_ending,
    read_wizard,
    unchanged,
)
from kraken.errors import ErrorCategory, KrakenError
from kraken.models import (
    AuthFlowStep,
    Device,
    DeviceLifecycleStatus,
    Integration,
    SelectFromListStep,
    Step,
    TerminalErrorStep,
    TeslaModifyScopesStep,
    TestChargeStep,
    UserInputRequiredStep,
    Wizard,
    parse_step,
)

MAX_FILTER = 40
# Serial numbers, VINs and the like are short; a pasted essay is a mistake, not an answer, and
# would bloat the stored conversation until the last input is submitted.
MAX_INPUT = 200
# How long a "switch to the other account?" question waits for its answer.
SWITCH_TTL = timedelta(minutes=15)

_STATE_SCREENS: dict[State, Callable[[Conversation], Screen]] = {
    State.NOT_LINKED: render_not_linked,
    State.RESUMING: render_resuming,
    State.CANCEL_CONFIRM: render_cancel_confirm,
    State.CANCELLED: render_cancelled,
    State.INELIGIBLE: render_ineligible,
    State.SWITCH_CONFIRM: render_switch_confirm,
}


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
    turn.quiet_if_unchanged = isinstance(event, WizardChanged)
    try:
        await _dispatch(turn, event)
        if turn.ended is not None:
            await _settle(turn, *turn.ended)
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
        case OfferSwitch():
            _offer_switch(turn, event)
        case Tap(data=data):
            turn.delivery = Delivery.EDIT
            await _tap(turn, data)
        case Text(text=text):
            await _text(turn, text)
        case CheckNow():
            await _check_now(turn)
        case WizardChanged(wizard=wizard):
            _wizard_changed(turn, wizard)
        case Progress():
            _progress(turn, event)
        case AuthCallback(continuation_uri=uri):
            await _auth_callback(turn, uri)
        case Cancel():
            await _cancel_command(turn)
        case Help():
            turn.fire(Trigger.HELP)
            turn.show(render_help(turn.conv))
        case Language(code=code):
            await _change_language(turn, code)
        case ShowDevices():
            await _devices.show_devices(turn)


class MovedOn(Exception):
    """The wizard left the step the customer acted on; the fresh screen has been shown."""


# ================================================================ the turn


@dataclass
class Turn:
    """One event's working copy of the conversation, and what it will hand back."""

    conv: Conversation
    kraken: KrakenPort
    snapshots: WizardSnapshots = field(default_factory=WizardSnapshots)
    delivery: Delivery = Delivery.SEND
    screens: list[Screen] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    # A wizard that arrived with no step left, and the notice to show with how it ended.
    ended: tuple[Wizard, str | None] | None = None
    # A notifier look: a wizard that settles where it already was is no news.
    quiet_if_unchanged: bool = False

    def outcome(self) -> Outcome:
        screens = [replace(screen, delivery=self.delivery) for screen in self.screens]
        return Outcome(conversation=self.conv, screens=screens, effects=self.effects)

    def show(self, screen: Screen, notice: str | None = None) -> None:
        self.screens.append(with_notice(screen, notice))

    def text(self, key: str, **params: object) -> str:
        return t(self.conv.locale, key, None, **params)

    def fire(self, trigger: Trigger, **kwargs: object) -> None:
        self.conv.state = fire(self.conv.state, trigger, **kwargs)

    def ids(self) -> tuple[str, str]:
        """The wizard and the step the chat shows: what a mutation may name."""
        conv = self.conv
        assert conv.wizard_id is not None and conv.step_id is not None
        return conv.wizard_id, conv.step_id

    # ------------------------------------------------------------ reading the wizard

    async def read_wizard(self) -> Wizard:
        conv = self.conv
        assert conv.account_number and conv.wizard_id, "no wizard to read"
        return await read_wizard(self.kraken, conv.account_number, conv.wizard_id, self.snapshots)

    async def _recall_or_read(self) -> Wizard:
        """The wizard from the snapshot Kraken's last answer left when the chat is still on
        that step (re-reading would only repeat what the mutation said), else read afresh."""
        wizard = self.snapshots.recall(self.conv.wizard_id, self.conv.step_id)
        return wizard if wizard is not None else await self.read_wizard()

    async def viewed_step(self) -> tuple[Wizard, Step | None]:
        """What to show: a revisited earlier list step, else whatever step is current.

        Only for showing; anything that acts on the step uses `seen_step`."""
        wizard = await self._recall_or_read()
        if self.conv.revisit_step_id:
            revisited = find_step(wizard, self.conv.revisit_step_id)
            if revisited is not None:
                return wizard, revisited
        return wizard, wizard.current_step

    async def seen_step(self) -> tuple[Wizard, Step]:
        """The step the customer saw (a revisited earlier list step, else the current), for
        acting on it. When Kraken's wizard is no longer where the chat left it (the app or
        another chat moved it on), the fresh screen is shown with "that has moved on" and
        `MovedOn` ends the turn: an answer meant for one step never reaches another."""
        wizard = await self._recall_or_read()
        self.ensure_unmoved(wizard)
        revisit = self.conv.revisit_step_id
        step = find_step(wizard, revisit) if revisit else wizard.current_step
        if step is None:
            self._moved_on(wizard)
        return wizard, step

    def ensure_unmoved(self, wizard: Wizard) -> None:
        """Raise `MovedOn` (after showing the fresh screen) unless Kraken's current step is
        still the one the chat shows."""
        current = wizard.current_step
        if current is None or current.id != self.conv.step_id:
            self._moved_on(wizard)

    def _moved_on(self, wizard: Wizard) -> NoReturn:
        self.arrive(wizard, self.text("notice.stale"))
        raise MovedOn

    # ------------------------------------------------------------ showing steps

    def arrive(self, wizard: Wizard, notice: str | None = None) -> None:
        """Kraken reported the wizard: move the machine to its current step and show it."""
        self.snapshots.remember(wizard)
        conv = self.conv
        step = wizard.current_step
        step_id = step.id if step is not None else None
        if step_id != conv.step_id or conv.revisit_step_id:
            conv.reset_step_view()
        conv.wizard_id = wizard.id
        conv.device_name = wizard.display_name or conv.device_name
        conv.step_id = step_id
        conv.step_type = step.typename if step is not None else None
        conv.back_step_id = back_target(wizard)
        conv.last_error = None
        self.fire(Trigger.STEP_ARRIVED, target=state_for(step))
        self._step_effects(wizard, step)
        if step is None:
            self.ended = (wizard, notice)  # settled from Kraken's answer after this event
            return
        self.show(render_step(conv, step), notice)

    def _step_effects(self, wizard: Wizard, step: Step | None) -> None:
        conv = self.conv
        reason = wait_reason(step)
        if reason is not None:
            conv.waiting_since = conv.waiting_since or utcnow()
            self.effects.append(StartWatching(wizard.id, reason))
        else:
            self.stop_watching()
        if isinstance(step, AuthFlowStep):
            self.record_sign_in(wizard.id, step)
        if isinstance(step, TerminalErrorStep):
            codes = ",".join(e.error_code for e in step.errors)
            self.notify_support(f"terminal error {codes}")

    def record_sign_in(self, wizard_id: str, step: AuthFlowStep, *, again: bool = False) -> None:
        """Let the OAuth callback find this chat from the link's `state`. `again`: the
        callback consumed it but the same link stays valid (the provider said no)."""
        state = oauth_state(step.authorization_uri)
        if state and (again or state != self.conv.auth_state):
            self.conv.auth_state = state
            self.effects.append(RecordOAuthState(state, wizard_id))

    def stop_watching(self) -> None:
        """Tell the notifier to stop watching, once, when the conversation stops waiting."""
        if self.conv.waiting_since is not None and self.conv.wizard_id:
            self.conv.waiting_since = None
            self.effects.append(StopWatching(self.conv.wizard_id))

    async def refresh(self, notice: str | None = None) -> None:
        self.arrive(await self.read_wizard(), notice)

    async def show_current(self, notice: str | None = None) -> None:
        """Re-show where the conversation is (re-reading Kraken for step states)."""
        if self.conv.state in DEVICE_STATES and self.conv.account_number:
            await _devices.redraw(self, notice)  # the card (or list) as Kraken has it now
            return
        if self.conv.state is State.LIVE and self.conv.wizard_device_id:
            await _recheck_live(self, notice)  # only the device can have changed
            return
        render = _STATE_SCREENS.get(self.conv.state)
        if render is None and not self.conv.wizard_id:
            render = render_not_linked
        if render is not None:
            self.show(render(self.conv), notice)
            return
        wizard, step = await self.viewed_step()
        if self.conv.revisit_step_id and isinstance(step, SelectFromListStep):
            self.show(render_list(self.conv, step), notice)
        else:
            self.arrive(wizard, notice)

    def notify_support(self, what: str) -> None:
        """Summaries carry ids and codes only: never tokens or personal data."""
        self.effects.append(
            NotifySupport(
                f"{what}; reference {support_reference(self.conv)}; "
                f"account {self.conv.account_number}"
            )
        )

    # ------------------------------------------------------------ errors

    async def fail(self, error: KrakenError) -> None:
        """Every error category becomes a screen; nothing propagates to the bot."""
        if error.category is ErrorCategory.STEP_MOVED_ON:
            await self.refresh(self.text("notice.stale"))
            return
        if error.category is ErrorCategory.USER_CAN_FIX and await self._let_user_fix(error):
            return
        if error.category is ErrorCategory.UNSUPPORTED and self.conv.wizard_id:
            self._needs_the_app(self.conv.wizard_id, error)
            return
        self.conv.last_error = error.code or type(error).__name__
        self.fire(Trigger.FAIL)
        self.show(render_error(self.conv, error))
        if error.category is ErrorCategory.FATAL:
            self.notify_support(f"Kraken error {error.code}")

    def _needs_the_app(self, wizard_id: str, error: KrakenError) -> None:
        """This instance lacks what the step needs: the customer finishes it in the app, and
        the notifier watches for the wizard to move on (as for a step type we do not know)."""
        conv = self.conv
        conv.last_error = error.code
        self.fire(Trigger.STEP_ARRIVED, target=State.UNKNOWN_STEP)
        conv.waiting_since = conv.waiting_since or utcnow()
        self.effects.append(StartWatching(wizard_id, WaitReason.UNKNOWN_STEP))
        self.show(render_unknown(conv, None, error.code))
        self.notify_support(f"instance lacks {error.code}")

    async def _let_user_fix(self, error: KrakenError) -> bool:
        """Show the step again with what to fix; False when there is no step to fix on."""
        if not self.conv.wizard_id:
            return False
        _, step = await self.viewed_step()
        if isinstance(step, TestChargeStep):
            self.show(render_test_charge(self.conv, step, error.refusal_reasons or ["UNKNOWN"]))
            return True
        message = "; ".join(v.message for v in error.validation_errors if v.message)
        if isinstance(step, UserInputRequiredStep):
            self.conv.input_index, self.conv.inputs = 0, {}
            rejected = self.text("step.input.rejected", message=message or error.message)
            self.show(render_input(self.conv, step), rejected)
            return True
        if step is None:
            return False
        notice = self.text("error.fix_input", message=message or error_message(self.conv, error))
        self.show(render_step(self.conv, step), notice)
        return True


# ================================================================ the tap table

TapHandler = Callable[[Turn, CallbackData], Awaitable[None]]


@dataclass(frozen=True)
class TapSpec:
    action: Action
    trigger: Trigger
    handler: TapHandler
    # Bound buttons act only on the step they were drawn for; unbound ones (language,
    # take over) mean the same on any message.
    bound: bool = True


TAPS: dict[Action, TapSpec] = {}


def tap(
    action: Action, trigger: Trigger, *, bound: bool = True
) -> Callable[[TapHandler], TapHandler]:
    """Declare a button: its action id, the trigger that must be legal, and (decorated) its
    handler. Each action is declared exactly once."""

    def register(handler: TapHandler) -> TapHandler:
        if action in TAPS:
            raise ValueError(f"{action!r} is declared twice in the tap table")
        TAPS[action] = TapSpec(action, trigger, handler, bound)
        return handler

    return register


async def _tap(turn: Turn, data: str) -> None:
    """Validate a tap against the table and the chat's step, then run its handler."""
    pressed = decode(data)
    if pressed is None:
        await turn.show_current(turn.text("notice.invalid_button"))
        return
    spec = TAPS[pressed.action]
    drawn_here = not spec.bound or pressed.step_hash == step_hash(bound_step(turn.conv))
    if not drawn_here or not allows(turn.conv.state, spec.trigger):
        if pressed.action in _devices.ACTIONS:
            await _devices.stale(turn, pressed)  # "that has changed", and the fresh card
        else:
            await turn.show_current(turn.text("notice.stale"))
        return
    await spec.handler(turn, pressed)


async def _list_step(turn: Turn) -> SelectFromListStep | None:
    _, step = await turn.seen_step()
    return step if isinstance(step, SelectFromListStep) else None


@tap(Action.CHOOSE, Trigger.CHOOSE)
async def _choose(turn: Turn, pressed: CallbackData) -> None:
    step = await _list_step(turn)
    found = [o for o in step.options if option_hash(o.id) == pressed.arg] if step else []
    if step is None or len(found) != 1:
        await turn.show_current(turn.text("notice.invalid_button"))
        return
    (option,) = found
    # A car without an integration can still be onboarded through a smart charger, so an
    # unsupported option is selected with a warning rather than refused.
    warning = None if is_supported(option) else not_live_notice(turn.conv, option)
    wizard_id, _ = turn.ids()
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


@tap(Action.PAGE, Trigger.PAGE)
async def _page(turn: Turn, pressed: CallbackData) -> None:
    await _show_list(turn, pressed.int_arg() or 0)


@tap(Action.CLEAR_FILTER, Trigger.FILTER)
async def _clear_filter(turn: Turn, pressed: CallbackData) -> None:
    await _show_list(turn, 0, "")


@tap(Action.BACK, Trigger.BACK)
async def _back(turn: Turn, pressed: CallbackData) -> None:
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
    turn.fire(Trigger.STEP_ARRIVED, target=state_for(target))
    turn.show(render_list(conv, target))


@tap(Action.INTEGRATION, Trigger.PICK_INTEGRATION)
async def _integration(turn: Turn, pressed: CallbackData) -> None:
    if pressed.arg not in Integration.__members__:
        await turn.show_current(turn.text("notice.invalid_button"))
        return
    wizard_id, step_id = turn.ids()
    integration = Integration(pressed.arg)
    turn.arrive(await turn.kraken.select_vehicle_or_charge_point(wizard_id, step_id, integration))


@tap(Action.TESLA_REMEDY, Trigger.PICK_REMEDY)
async def _tesla_remedy(turn: Turn, pressed: CallbackData) -> None:
    """Tesla registration failed: grant the missing scopes, or sign in to Tesla again."""
    if pressed.arg not in TESLA_REMEDIES:
        await turn.show_current(turn.text("notice.invalid_button"))
        return
    _, step = await turn.seen_step()
    wizard_id, _ = turn.ids()
    turn.arrive(await turn.kraken.select_from_list(wizard_id, step.id, pressed.arg))


@tap(Action.SIGNED_IN, Trigger.DONE)
async def _signed_in(turn: Turn, pressed: CallbackData) -> None:
    wizard, step = await turn.seen_step()
    if isinstance(step, AuthFlowStep | TeslaModifyScopesStep):
        turn.conv.awaiting_url = True
        turn.show(render_sign_in(turn.conv, step))
    else:
        turn.arrive(wizard, turn.text("notice.stale"))


@tap(Action.KEY_ADDED, Trigger.DONE)
async def _key_added(turn: Turn, pressed: CallbackData) -> None:
    turn.arrive(await turn.kraken.complete_tesla_virtual_key(*turn.ids()))


@tap(Action.ACTION_DONE, Trigger.DONE)
async def _action_done(turn: Turn, pressed: CallbackData) -> None:
    turn.arrive(await turn.kraken.complete_user_action(*turn.ids()))


@tap(Action.CONFIRM_TEST, Trigger.START_TEST)
async def _confirm_test(turn: Turn, pressed: CallbackData) -> None:
    turn.arrive(await turn.kraken.start_test_charge(*turn.ids()))


@tap(Action.CHECK_NOW, Trigger.CHECK_NOW)
async def _check_now_tap(turn: Turn, pressed: CallbackData) -> None:
    await _check_now(turn)


@tap(Action.SKIP_INPUT, Trigger.SUBMIT_INPUT)
async def _skip(turn: Turn, pressed: CallbackData) -> None:
    if pressed.int_arg() != turn.conv.input_index:
        await turn.show_current(turn.text("notice.stale"))
    else:
        await _answer_input(turn, None)


@tap(Action.RETRY, Trigger.RETRY)
async def _retry(turn: Turn, pressed: CallbackData) -> None:
    if turn.conv.state is State.RETRY_OFFERED:
        turn.arrive(await turn.kraken.complete_retry(*turn.ids()))
    else:
        await turn.refresh()


@tap(Action.CANCEL, Trigger.CANCEL)
async def _cancel(turn: Turn, pressed: CallbackData) -> None:
    turn.fire(Trigger.CANCEL)
    turn.show(render_cancel_confirm(turn.conv))


@tap(Action.CANCEL_YES, Trigger.CANCEL_CONFIRMED)
async def _cancel_yes(turn: Turn, pressed: CallbackData) -> None:
    wizard_id, _ = turn.ids()
    await turn.kraken.cancel(wizard_id)
    turn.fire(Trigger.CANCEL_CONFIRMED)
    turn.stop_watching()
    turn.show(render_cancelled(turn.conv, await _half_set_up(turn)))


async def _half_set_up(turn: Turn) -> list[Device]:
    """Devices registered but never LIVE: Kraken keeps them after a cancel (ONBOARDING for
    ever), so the cancelled screen offers to remove them. One that is running its test
    charge cannot be removed now (KT-CT-4352) and is left out."""
    conv = turn.conv
    if conv.account_number is None:
        return []
    found = await turn.kraken.devices(conv.account_number, conv.property_id)
    return [d for d in found if d.status.current in _HALF_SET_UP]


_HALF_SET_UP = (
    DeviceLifecycleStatus.ONBOARDING,
    DeviceLifecycleStatus.PENDING_LIVE,
    DeviceLifecycleStatus.FAILED_ONBOARDING_TEST,
)


@tap(Action.CANCEL_NO, Trigger.KEEP_GOING)
async def _keep_going(turn: Turn, pressed: CallbackData) -> None:
    await turn.refresh()


@tap(Action.RESUME, Trigger.RESUME)
async def _resume(turn: Turn, pressed: CallbackData) -> None:
    await turn.refresh()


async def _start_over(turn: Turn, pressed: CallbackData) -> None:
    if turn.conv.wizard_id and turn.conv.state is State.RESUMING:
        await turn.kraken.cancel(turn.conv.wizard_id)
    await _start_new(turn)


tap(Action.START_OVER, Trigger.RESTART)(_start_over)
tap(Action.START_AGAIN, Trigger.RESTART)(_start_over)


@tap(Action.CONTINUE, Trigger.HELP)
async def _continue(turn: Turn, pressed: CallbackData) -> None:
    await turn.show_current()


@tap(Action.LANGUAGE, Trigger.CHANGE_LANGUAGE, bound=False)
async def _language(turn: Turn, pressed: CallbackData) -> None:
    await _change_language(turn, pressed.arg)


@tap(Action.SWITCH_YES, Trigger.SWITCH_DECIDED)
async def _switch_yes(turn: Turn, pressed: CallbackData) -> None:
    conv = turn.conv
    offered = conv.switch_offered_at
    digest = conv.switch_digest
    _forget_switch(conv)
    if digest is None or offered is None or utcnow() - offered > SWITCH_TTL:
        await turn.show_current(turn.text("bot.switch.expired"))
        return
    turn.effects.append(SwitchAccount(digest))  # the bot redeems the link and begins anew


@tap(Action.SWITCH_NO, Trigger.SWITCH_DECIDED)
async def _switch_no(turn: Turn, pressed: CallbackData) -> None:
    conv = turn.conv
    _forget_switch(conv)
    if conv.state is State.NOT_LINKED and conv.account_number and conv.property_id:
        # Asked in a chat whose conversation had been lost: reopen its own account.
        await _begin(turn, Begin(conv.account_number, conv.property_id))
        turn.screens[-1:] = [with_notice(turn.screens[-1], turn.text("bot.switch.kept"))]
        return
    await turn.show_current(turn.text("bot.switch.kept"))


def _forget_switch(conv: Conversation) -> None:
    """Back to where the question interrupted (the answer is an internal transition)."""
    conv.state = conv.state_before_switch or State.NOT_LINKED
    conv.switch_digest = conv.switch_account = conv.switch_offered_at = None
    conv.state_before_switch = None


@tap(Action.TAKE_OVER, Trigger.TAKE_OVER, bound=False)
async def _take_over(turn: Turn, pressed: CallbackData) -> None:
    """Continue the account's onboarding in this chat: pick up its open wizard afresh."""
    conv = turn.conv
    if conv.account_number is None or conv.property_id is None:
        await turn.show_current()
        return
    turn.effects.append(TakeOver(conv.account_number))
    await _begin(turn, Begin(conv.account_number, conv.property_id))


# ================================================================ the other events


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
                turn.fire(Trigger.RESUME_OFFERED)
                turn.show(render_resuming(turn.conv))
            else:
                await _start_new(turn)


async def _start_new(turn: Turn) -> None:
    """Start a fresh wizard, unless the property has nothing that can be smart-controlled."""
    conv = turn.conv
    assert conv.account_number is not None and conv.property_id is not None
    eligible = await turn.kraken.eligible_device_types(conv.account_number, conv.property_id)
    if not eligible:
        turn.fire(Trigger.FOUND_INELIGIBLE)
        turn.show(render_ineligible(conv))
        return
    turn.arrive(await turn.kraken.start_onboarding(conv.account_number, conv.property_id))


def _offer_switch(turn: Turn, event: OfferSwitch) -> None:
    conv = turn.conv
    if conv.account_number is None:  # the conversation was lost; the binding was not
        conv.account_number, conv.property_id = event.current_account, event.current_property
    if conv.state is not State.SWITCH_CONFIRM:
        conv.state_before_switch = conv.state
    conv.switch_digest = event.link_digest
    conv.switch_account = event.account_number
    conv.switch_offered_at = utcnow()
    turn.fire(Trigger.OFFER_SWITCH)
    turn.show(render_switch_confirm(conv))


async def _check_now(turn: Turn) -> None:
    """Re-read the wizard; say "still waiting" when nothing has changed."""
    if not allows(turn.conv.state, Trigger.CHECK_NOW):
        await turn.show_current()
        return
    wizard = await turn.read_wizard()
    if unchanged(turn.conv, wizard):
        turn.arrive(wizard, turn.text("notice.still_waiting"))
    else:
        turn.arrive(wizard)


def _wizard_changed(turn: Turn, wizard: Wizard) -> None:
    """The notifier saw a change: speak only when it is news for this chat."""
    conv = turn.conv
    if wizard.id != conv.wizard_id or conv.state in (State.CANCELLED, State.NOT_LINKED):
        return
    if unchanged(conv, wizard) and conv.state is not State.COMPLETING:
        return
    turn.arrive(wizard)


async def _settle(turn: Turn, wizard: Wizard, notice: str | None) -> None:
    """The wizard has no step left. `currentStep: null` is not LIVE: ask Kraken whether it
    was cancelled (outside the chat, perhaps) and what `devices` says of the device."""
    conv = turn.conv
    assert conv.account_number is not None
    ending = await read_ending(
        turn.kraken, conv.account_number, conv.property_id, wizard, turn.snapshots
    )
    _conclude(turn, ending, notice)


async def _recheck_live(turn: Turn, notice: str | None) -> None:
    """A LIVE chat shown again (a message, a language change): its wizard is complete and
    can no longer change, so `devices` alone says whether the device it set up is still
    there, under smart control and LIVE; if not, the chat ends as `_settle` would end it."""
    conv = turn.conv
    assert conv.account_number is not None and conv.wizard_device_id is not None
    ending = await read_device(
        turn.kraken, conv.account_number, conv.property_id, conv.wizard_device_id
    )
    _conclude(turn, ending, notice)


def _conclude(turn: Turn, ending: Ending, notice: str | None) -> None:
    """Where a wizard with no step left stands, from what Kraken said of it and its device."""
    conv = turn.conv
    assert conv.wizard_id is not None
    status = ending.status
    was = (conv.state, conv.device_status)
    if ending.cancelled:
        target, screen = State.CANCELLED, render_cancelled_elsewhere(conv)
    elif status is DeviceLifecycleStatus.LIVE:
        target, screen = State.LIVE, render_live(conv, ending.device)
    elif status in _ON_ITS_WAY:
        target, screen = State.COMPLETING, render_completing(conv, ending.device)
    else:
        target, screen = State.ENDED, render_ended(conv, ending.device)
        turn.notify_support(f"wizard ended with the device {status or 'not found'}")
    conv.state = State.COMPLETING  # where arriving at "no step" left it
    turn.fire(Trigger.SETTLE, target=target)
    conv.device_status = status.value if status and target is State.COMPLETING else None
    live = ending.device if target is State.LIVE else None
    conv.wizard_device_id = live.id if live is not None else None
    if target is State.COMPLETING:
        conv.waiting_since = conv.waiting_since or utcnow()
        turn.effects.append(StartWatching(conv.wizard_id, WaitReason.DEVICE_LIVE))
    else:
        turn.stop_watching()
    if turn.quiet_if_unchanged and was == (conv.state, conv.device_status):
        return  # a notifier look that found the same: nothing to tell
    turn.show(screen, notice)


# A device on its way to LIVE (or not found yet, just after registration): keep watching.
_ON_ITS_WAY = (
    None,
    DeviceLifecycleStatus.ONBOARDING,
    DeviceLifecycleStatus.PENDING_LIVE,
    DeviceLifecycleStatus.ONBOARDING_TEST_IN_PROGRESS,
)


# Cells of the progress bar of a wait whose length we know.
PROGRESS_CELLS = 7


def _progress(turn: Turn, event: Progress) -> None:
    """Refresh the progress line of the wait the chat shows (an edit, no notification),
    drawn from the conversation: a refresh is not a look and never asks Kraken."""
    conv = turn.conv
    if conv.state not in (State.WAITING, State.TEST_CHARGE_RUNNING) or not conv.waiting_since:
        return
    step = _shown_wait(conv)
    if step is None or step.id != event.step_id:
        return  # the chat moved on since the notifier found it waiting
    elapsed = max(0.0, (event.now - conv.waiting_since).total_seconds())
    expected = event.test_charge_seconds if isinstance(step, TestChargeStep) else None
    turn.delivery = Delivery.EDIT
    conv.progress_shown_at = event.now
    screen = render_step(conv, step)
    turn.show(replace(screen, footer=progress_line(conv, step, elapsed, expected)))


def _shown_wait(conv: Conversation) -> Step | None:
    """The step a waiting chat shows, as far as its screen needs it: a wait's screen says
    which kind of wait it is (and that a test charge runs), nothing Kraken would add."""
    if conv.step_id is None or conv.step_type is None:
        return None
    started = {"isStarted": True} if conv.state is State.TEST_CHARGE_RUNNING else {}
    return parse_step({"__typename": conv.step_type, "id": conv.step_id, **started})


def progress_line(
    conv: Conversation, step: Step | None, elapsed: float, expected: float | None
) -> str:
    """ "▰▰▰▱▱▱▱ about 4 minutes left" for a wait of known length, else how long so far."""
    if expected:
        done = min(1.0, elapsed / expected)
        filled = round(done * PROGRESS_CELLS)
        bar = "▰" * filled + "▱" * (PROGRESS_CELLS - filled)
        remaining = expected - elapsed
        if remaining < 30:
            return f"{bar} {t(conv.locale, 'progress.any_moment')}"
        return f"{bar} {t(conv.locale, 'progress.left', max(1, round(remaining / 60)))}"
    typename = step.typename if step is not None else ""
    key = f"progress.what.{typename}"
    what = t(conv.locale, key if has_key(key) else "progress.what.other")
    return t(conv.locale, "progress.so_far", int(elapsed // 60), what=what)


async def _auth_callback(turn: Turn, uri: str) -> None:
    if turn.conv.state is not State.SIGNING_IN:
        await turn.show_current(turn.text("notice.stale"))
        return
    await _complete_sign_in(turn, uri)


async def _cancel_command(turn: Turn) -> None:
    if allows(turn.conv.state, Trigger.CANCEL):
        turn.fire(Trigger.CANCEL)
        turn.show(render_cancel_confirm(turn.conv))
    else:
        await turn.show_current()


async def _change_language(turn: Turn, code: str) -> None:
    turn.conv.locale = resolve_locale(None, code, turn.conv.locale)
    turn.conv.locale_override = True
    await turn.show_current(turn.text("notice.language_changed"))


# ---------------------------------------------------------------- typed text


async def _text(turn: Turn, text: str) -> None:
    """Typed text means what the screen asks for: a list filter, an answer, a sign-in URL."""
    state = turn.conv.state
    if state in LISTS:
        await _filter_list(turn, text.strip()[:MAX_FILTER])
    elif state is State.ANSWERING_INPUT:
        await _answer_input(turn, text.strip())
    elif state is State.SIGNING_IN:
        await _complete_sign_in(turn, text.strip())
    elif state is State.DEVICE_INPUT:
        await _devices.typed(turn, text.strip()[:MAX_FILTER])
    else:
        await turn.show_current(turn.text("notice.unexpected_text"))


async def _filter_list(turn: Turn, text: str) -> None:
    turn.fire(Trigger.FILTER)
    turn.conv.list_filter, turn.conv.list_page = text, 0
    _, step = await turn.seen_step()
    if isinstance(step, SelectFromListStep):
        turn.show(render_list(turn.conv, step))
    else:
        await turn.show_current(turn.text("notice.stale"))


async def _answer_input(turn: Turn, text: str | None) -> None:
    """Record one answer (None = skipped); submit all of them after the last one."""
    turn.fire(Trigger.SUBMIT_INPUT)
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


async def _complete_sign_in(turn: Turn, url: str) -> None:
    turn.fire(Trigger.SUBMIT_INPUT)
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


# The devices after onboarding add their buttons to the tap table (they use `tap` above).
from dialogs import devices as _devices  # noqa: E402
