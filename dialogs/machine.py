"""The conversation's state machine: which user events make sense in which state.

Built once at import with ``model=None``; every event attaches a throw-away model at the
stored state, fires one trigger and detaches it, so the machine itself holds no per-chat data
and any worker can serve any chat. Kraken decides the order of steps, so a single
``step_arrived`` trigger reaches every step state, guarded by the target the engine derived
from the step it received. User events that need Kraken are internal transitions: they only
say whether the event is legal here; the engine calls Kraken and then fires ``step_arrived``
with the result, keeping remote calls out of machine callbacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transitions import EventData, Machine, MachineError

NOT_LINKED = "not_linked"
CHOOSING_DEVICE_TYPE = "choosing_device_type"
RESUMING = "resuming"
CHOOSING = "choosing"
CHOOSING_INTEGRATION = "choosing_integration"
ANSWERING_INPUT = "answering_input"
SIGNING_IN = "signing_in"
ADDING_VIRTUAL_KEY = "adding_virtual_key"
CONFIRMING_ACTION = "confirming_action"
TEST_CHARGE = "test_charge"
TEST_CHARGE_RUNNING = "test_charge_running"
TEST_CHARGE_FAILED = "test_charge_failed"
WAITING = "waiting"
RETRY_OFFERED = "retry_offered"
LIVE = "live"
CANCEL_CONFIRM = "cancel_confirm"
CANCELLED = "cancelled"
UNSUPPORTED = "unsupported"
TERMINAL = "terminal"
UNKNOWN_STEP = "unknown_step"
ERROR = "error"
INELIGIBLE = "ineligible"

# States a Kraken step (or the end of the wizard) can put the conversation in.
STEP_STATES = (
    CHOOSING_DEVICE_TYPE,
    CHOOSING,
    CHOOSING_INTEGRATION,
    ANSWERING_INPUT,
    SIGNING_IN,
    ADDING_VIRTUAL_KEY,
    CONFIRMING_ACTION,
    TEST_CHARGE,
    TEST_CHARGE_RUNNING,
    TEST_CHARGE_FAILED,
    WAITING,
    RETRY_OFFERED,
    LIVE,
    UNSUPPORTED,
    TERMINAL,
    UNKNOWN_STEP,
)
STATES = (NOT_LINKED, RESUMING, *STEP_STATES, CANCEL_CONFIRM, CANCELLED, INELIGIBLE, ERROR)
LISTS = [CHOOSING_DEVICE_TYPE, CHOOSING]
_IN_WIZARD = [s for s in STEP_STATES if s != LIVE] + [ERROR]

# (trigger, sources, dest); dest None = internal: legal here, state unchanged.
USER_TRANSITIONS: tuple[tuple[str, list[str], str | None], ...] = (
    ("choose", LISTS, None),
    ("page", LISTS, None),
    ("filter", LISTS, None),
    ("back", [*LISTS, CHOOSING_INTEGRATION, UNSUPPORTED, SIGNING_IN, ANSWERING_INPUT], None),
    ("pick_integration", [CHOOSING_INTEGRATION], None),
    ("submit_input", [ANSWERING_INPUT, SIGNING_IN], None),
    ("done", [SIGNING_IN, ADDING_VIRTUAL_KEY, CONFIRMING_ACTION], None),
    ("start_test", [TEST_CHARGE, TEST_CHARGE_FAILED], None),
    ("retry", [ERROR, RETRY_OFFERED, TEST_CHARGE_FAILED], None),
    ("check_now", [WAITING, TEST_CHARGE_RUNNING, UNKNOWN_STEP, TERMINAL, ERROR], None),
    ("restart", [RESUMING, CANCELLED, LIVE, TERMINAL, UNSUPPORTED, ERROR, INELIGIBLE], None),
    ("resume", [RESUMING], None),
    ("keep_going", [CANCEL_CONFIRM], None),
    ("help", list(STATES), None),
    ("cancel", [*_IN_WIZARD, RESUMING], CANCEL_CONFIRM),
    ("cancel_confirmed", [CANCEL_CONFIRM], CANCELLED),
    ("resume_offered", list(STATES), RESUMING),
    ("found_ineligible", list(STATES), INELIGIBLE),
    ("fail", list(STATES), ERROR),
)


class InvalidEvent(Exception):
    """The event does not apply in the conversation's current state (e.g. a stale tap)."""


def _arrives_at(target: str) -> Any:
    def condition(event: EventData) -> bool:
        return bool(event.kwargs.get("target") == target)

    condition.__name__ = f"target_is_{target}"
    return condition


def _build() -> Machine:
    machine = Machine(
        model=None,
        states=list(STATES),
        initial=NOT_LINKED,
        auto_transitions=False,
        send_event=True,
    )
    for target in STEP_STATES:
        machine.add_transition("step_arrived", "*", target, conditions=[_arrives_at(target)])
    for trigger, sources, dest in USER_TRANSITIONS:
        source_states: list[Any] = list(sources)
        machine.add_transition(trigger, source_states, dest)
    return machine


MACHINE = _build()


@dataclass
class _Model:
    state: str = NOT_LINKED


def fire(state: str, trigger: str, **kwargs: object) -> str:
    """Fire ``trigger`` from ``state``; returns the new state or raises `InvalidEvent`."""
    model = _Model()
    MACHINE.add_model(model, initial=state)
    try:
        moved = model.trigger(trigger, **kwargs)  # type: ignore[attr-defined]
        if not moved:
            raise InvalidEvent(f"{trigger} did not apply in {state}")
        return model.state
    except MachineError as exc:
        raise InvalidEvent(str(exc)) from exc
    finally:
        MACHINE.remove_model(model)


def allows(state: str, trigger: str) -> bool:
    """Whether ``trigger`` is legal in ``state`` (without firing it)."""
    event = MACHINE.events.get(trigger)
    return event is not None and state in event.transitions
