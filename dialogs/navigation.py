"""Going back: Kraken reverses a choice when an earlier list step is re-selected.

The earlier step keeps the id and options it had in ``completedSteps``; re-selecting on it
resets the wizard to that point. Device registration cannot be undone, so history before it
is out of reach.
"""

from __future__ import annotations

from kraken.models import DeviceRegistrationStep, SelectFromListStep, Step, Wizard

_IRREVERSIBLE = (DeviceRegistrationStep,)


def previous_list_step(wizard: Wizard, before: str | None = None) -> SelectFromListStep | None:
    """The latest completed list step (earlier than step ``before`` when it is given)."""
    history = list(wizard.completed_steps)
    ids = [step.id for step in history]
    if before is not None and before in ids:
        history = history[: ids.index(before)]
    for step in reversed(history):
        if isinstance(step, _IRREVERSIBLE):
            return None
        if isinstance(step, SelectFromListStep):
            return step
    return None


def find_step(wizard: Wizard, step_id: str | None) -> Step | None:
    """The current or a completed step with this id."""
    candidates = [wizard.current_step, *wizard.completed_steps]
    return next((s for s in candidates if s is not None and s.id == step_id), None)


def back_target(wizard: Wizard, before: str | None = None) -> str | None:
    """Id of the list step "back" leads to, unless Kraken says the wizard cannot rewind."""
    if wizard.is_rewindable is False:
        return None
    step = previous_list_step(wizard, before)
    return step.id if step is not None else None
