"""One turn of the conversation: the working copy, the Kraken port and what to hand back.

Handlers for individual events (in `dialogs.engine` and `dialogs.taps`) share these moves:
show a step that Kraken reported, re-read the wizard, show the current screen, and turn a
`KrakenError` into the screen its category calls for. Showing is lenient (whatever step is
current); acting is strict (`Turn.seen_step`: only on the step the customer saw).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import NoReturn

from dialogs import machine as m
from dialogs.conversation import Conversation, utcnow
from dialogs.families import poll_reason, state_for
from dialogs.i18n import t
from dialogs.landing import oauth_state
from dialogs.navigation import back_target, find_step
from dialogs.outcome import (
    Effect,
    NotifySupport,
    Outcome,
    RecordOAuthState,
    StartPolling,
    StopPolling,
)
from dialogs.port import KrakenPort
from dialogs.render import render_step, with_notice
from dialogs.render.common import support_reference
from dialogs.render.inputs import render_input
from dialogs.render.lists import render_list
from dialogs.render.states import (
    error_message,
    render_cancel_confirm,
    render_cancelled,
    render_error,
    render_help,
    render_ineligible,
    render_not_linked,
    render_resuming,
)
from dialogs.render.test_charge import render_test_charge
from dialogs.screen import Delivery, Screen
from dialogs.snapshots import WizardSnapshots
from kraken.errors import ErrorCategory, KrakenError
from kraken.models import (
    AuthFlowStep,
    SelectFromListStep,
    Step,
    TerminalErrorStep,
    TestChargeStep,
    UserInputRequiredStep,
    Wizard,
)

_STATE_SCREENS = {
    m.NOT_LINKED: render_not_linked,
    m.RESUMING: render_resuming,
    m.CANCEL_CONFIRM: render_cancel_confirm,
    m.CANCELLED: render_cancelled,
    m.INELIGIBLE: render_ineligible,
}


class MovedOn(Exception):
    """The wizard left the step the customer acted on; the fresh screen has been shown.

    Raised by `Turn.seen_step`; the engine ends the turn with what was shown."""


@dataclass
class Turn:
    conv: Conversation
    kraken: KrakenPort
    snapshots: WizardSnapshots = field(default_factory=WizardSnapshots)
    delivery: Delivery = Delivery.SEND
    screens: list[Screen] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)

    def outcome(self) -> Outcome:
        screens = [replace(screen, delivery=self.delivery) for screen in self.screens]
        return Outcome(conversation=self.conv, screens=screens, effects=self.effects)

    def show(self, screen: Screen, notice: str | None = None) -> None:
        self.screens.append(with_notice(screen, notice))

    def text(self, key: str, **params: object) -> str:
        return t(self.conv.locale, key, None, **params)

    def fire(self, trigger: str, **kwargs: object) -> None:
        self.conv.state = m.fire(self.conv.state, trigger, **kwargs)

    # ------------------------------------------------------------ reading the wizard

    async def read_wizard(self) -> Wizard:
        assert self.conv.account_number and self.conv.wizard_id, "no wizard to read"
        return await self.kraken.wizard(self.conv.account_number, self.conv.wizard_id)

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
        acting on it.

        When Kraken's wizard is no longer where the chat left it (the customer's app or
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
        self.fire("step_arrived", target=state_for(step))
        self._step_effects(wizard, step)
        self.show(render_step(conv, step), notice)

    def _step_effects(self, wizard: Wizard, step: Step | None) -> None:
        conv = self.conv
        reason = poll_reason(step)
        if reason is not None:
            conv.waiting_since = conv.waiting_since or utcnow()
            self.effects.append(StartPolling(wizard.id, reason))
        else:
            self.stop_polling()
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

    def stop_polling(self) -> None:
        """Tell the notifier to stop watching, once, when the conversation stops waiting."""
        if self.conv.waiting_since is not None and self.conv.wizard_id:
            self.conv.waiting_since = None
            self.effects.append(StopPolling(self.conv.wizard_id))

    async def refresh(self, notice: str | None = None) -> None:
        self.arrive(await self.read_wizard(), notice)

    async def show_current(self, notice: str | None = None) -> None:
        """Re-show where the conversation is (re-reading Kraken for step states)."""
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

    def show_help(self) -> None:
        self.fire("help")
        self.show(render_help(self.conv))

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
        self.conv.last_error = error.code or type(error).__name__
        self.fire("fail")
        self.show(render_error(self.conv, error))
        if error.category is ErrorCategory.FATAL:
            self.notify_support(f"Kraken error {error.code}")

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
