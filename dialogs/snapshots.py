"""Wizards as Kraken last returned them, so a tap does not re-read what a mutation just said.

A step's content never changes under the same id for the steps this serves — list, input
and sign-in steps (Kraken mints a new id whenever a step is re-entered) — so the wizard a
mutation answered with is still the truth when the user taps a button on it. Steps whose
fields move while their id stays (a running test charge, waits) are never served from here;
a miss (another worker took the previous tap, a restart) reads Kraken, and an answer then goes
ahead only if Kraken is still on the step the chat shows (`Turn.seen_step`). If Kraken moved
on behind our back after a hit, the mutation still carries only the step id the customer saw:
Kraken refuses it ("step moved on", and the engine re-reads), or, for a list step it has
since completed, takes it as going back to that step.
"""

from __future__ import annotations

from collections import OrderedDict

from kraken.models import AuthFlowStep, SelectFromListStep, UserInputRequiredStep, Wizard

_STABLE_STEPS = (SelectFromListStep, UserInputRequiredStep, AuthFlowStep)
DEFAULT_SIZE = 2048


class WizardSnapshots:
    def __init__(self, maxsize: int = DEFAULT_SIZE) -> None:
        self._maxsize = maxsize
        self._wizards: OrderedDict[str, Wizard] = OrderedDict()

    def remember(self, wizard: Wizard) -> None:
        self._wizards.pop(wizard.id, None)
        if isinstance(wizard.current_step, _STABLE_STEPS):
            self._wizards[wizard.id] = wizard
            while len(self._wizards) > self._maxsize:
                self._wizards.popitem(last=False)

    def recall(self, wizard_id: str | None, step_id: str | None) -> Wizard | None:
        """The remembered wizard if it is still at `step_id` (the step the chat shows)."""
        wizard = self._wizards.get(wizard_id or "")
        if wizard is None or wizard.current_step is None or wizard.current_step.id != step_id:
            return None
        self._wizards.move_to_end(wizard.id)
        return wizard

    def __len__(self) -> int:
        return len(self._wizards)
