"""The conversation's state machine: its states, its triggers, which step leads where.

Built once at import with ``model=None``; every event attaches a throw-away model at the
stored state, fires one trigger and detaches it, so the machine itself holds no per-chat data
and any worker can serve any chat. Kraken decides the order of steps, so a single
``STEP_ARRIVED`` trigger reaches every step state, guarded by the target the engine derived
from the step it received (`state_for`). User events that need Kraken are internal
transitions: they only say whether the event is legal here; the engine calls Kraken and then
fires ``STEP_ARRIVED`` with the result, keeping remote calls out of machine callbacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from transitions import EventData, Machine, MachineError

from kraken.models import (
    AuthFlowStep,
    DeviceRegistrationStep,
    RetryStep,
    SelectDeviceTypeStep,
    SelectFromListStep,
    SelectVehicleOrChargePointStep,
    Step,
    StepBase,
    TerminalErrorStep,
    TeslaModifyScopesStep,
    TeslaRegistrationFailedStep,
    TeslaSetupVirtualKeyStep,
    TestChargeStep,
    UnsupportedCombinationStep,
    UserActionRequiredStep,
    UserInputRequiredStep,
    WaitForLiveIntegrationStep,
    WaitForTransitionStep,
)


class State(StrEnum):
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
    SWITCH_CONFIRM = "switch_confirm"
    # The wizard has no step left: settled from Kraken's answer into LIVE, CANCELLED,
    # ENDED, or it stays COMPLETING while the device is not LIVE yet.
    TESLA_FAILED = "tesla_failed"  # Tesla registration failed: grant scopes, or sign in again
    DEVICES = "devices"  # the account's devices, after onboarding
    DEVICE = "device"  # one device's card
    DEVICE_CONFIRM = "device_confirm"  # "pause / remove it?"
    DEVICE_INPUT = "device_input"  # a device setting awaiting a tap or typed value
    COMPLETING = "completing"
    ENDED = "ended"  # complete, but the device is retired or failed: support must look


class Trigger(StrEnum):
    """Every event the machine knows. Buttons name theirs in the tap table (`engine.TAPS`)."""

    STEP_ARRIVED = "step_arrived"
    CHOOSE = "choose"
    PAGE = "page"
    FILTER = "filter"
    BACK = "back"
    PICK_INTEGRATION = "pick_integration"
    SUBMIT_INPUT = "submit_input"
    DONE = "done"
    START_TEST = "start_test"
    RETRY = "retry"
    CHECK_NOW = "check_now"
    RESTART = "restart"
    RESUME = "resume"
    KEEP_GOING = "keep_going"
    HELP = "help"
    CANCEL = "cancel"
    CANCEL_CONFIRMED = "cancel_confirmed"
    RESUME_OFFERED = "resume_offered"
    FOUND_INELIGIBLE = "found_ineligible"
    FAIL = "fail"
    CHANGE_LANGUAGE = "change_language"
    OFFER_SWITCH = "offer_switch"
    SWITCH_DECIDED = "switch_decided"
    TAKE_OVER = "take_over"
    SETTLE = "settle"
    PICK_REMEDY = "pick_remedy"
    SHOW_DEVICES = "show_devices"
    OPEN_DEVICE = "open_device"
    DEVICE_ACTION = "device_action"
    ASK_DEVICE = "ask_device"
    DEVICE_ANSWER = "device_answer"
    EDIT_DEVICE = "edit_device"
    DEVICE_VALUE = "device_value"


class WaitReason(StrEnum):
    """Why the notifier watches the wizard while a step is current."""

    DEVICE_REGISTRATION = "device_registration"
    TRANSITION = "transition"
    LIVE_INTEGRATION = "live_integration"
    TEST_CHARGE = "test_charge"
    UNKNOWN_STEP = "unknown_step"
    DEVICE_LIVE = "device_live"


# States a Kraken step (or the end of the wizard) can put the conversation in.
STEP_STATES = (
    State.CHOOSING_DEVICE_TYPE,
    State.CHOOSING,
    State.CHOOSING_INTEGRATION,
    State.ANSWERING_INPUT,
    State.SIGNING_IN,
    State.ADDING_VIRTUAL_KEY,
    State.CONFIRMING_ACTION,
    State.TEST_CHARGE,
    State.TEST_CHARGE_RUNNING,
    State.TEST_CHARGE_FAILED,
    State.WAITING,
    State.RETRY_OFFERED,
    State.TESLA_FAILED,
    State.COMPLETING,
    State.UNSUPPORTED,
    State.TERMINAL,
    State.UNKNOWN_STEP,
)
ALL = tuple(State)
LISTS = (State.CHOOSING_DEVICE_TYPE, State.CHOOSING)
DEVICE_STATES = (State.DEVICES, State.DEVICE, State.DEVICE_CONFIRM, State.DEVICE_INPUT)
FINISHED = (State.LIVE, State.CANCELLED, State.ENDED)
# What settling a wizard with no step left can lead to (see the engine's `_settle`).
SETTLED = (State.LIVE, State.CANCELLED, State.ENDED, State.COMPLETING)
_IN_WIZARD = (*(s for s in STEP_STATES if s is not State.COMPLETING), State.ERROR)

# The transition table: (trigger, sources, dest); dest None = internal: legal here, state
# unchanged (the engine then calls Kraken and fires STEP_ARRIVED with what it answered).
TRANSITIONS: tuple[tuple[Trigger, tuple[State, ...], State | None], ...] = (
    (Trigger.CHOOSE, LISTS, None),
    (Trigger.PAGE, LISTS, None),
    (Trigger.FILTER, LISTS, None),
    (
        Trigger.BACK,
        (
            *LISTS,
            State.CHOOSING_INTEGRATION,
            State.UNSUPPORTED,
            State.SIGNING_IN,
            State.ANSWERING_INPUT,
        ),
        None,
    ),
    (Trigger.PICK_INTEGRATION, (State.CHOOSING_INTEGRATION,), None),
    (Trigger.PICK_REMEDY, (State.TESLA_FAILED,), None),
    (Trigger.SHOW_DEVICES, ALL, State.DEVICES),
    # The success screen's "Manage" opens the device's card.
    (Trigger.OPEN_DEVICE, (*DEVICE_STATES, State.LIVE), State.DEVICE),
    (Trigger.DEVICE_ACTION, (State.DEVICE,), None),
    # A wizard cancelled after its device was registered offers to remove that device.
    (Trigger.ASK_DEVICE, (State.DEVICE, State.CANCELLED), State.DEVICE_CONFIRM),
    (Trigger.DEVICE_ANSWER, (State.DEVICE_CONFIRM,), State.DEVICE),
    (Trigger.EDIT_DEVICE, (State.DEVICE, State.DEVICE_INPUT), State.DEVICE_INPUT),
    (Trigger.DEVICE_VALUE, (State.DEVICE_INPUT,), None),
    (Trigger.SUBMIT_INPUT, (State.ANSWERING_INPUT, State.SIGNING_IN), None),
    (Trigger.DONE, (State.SIGNING_IN, State.ADDING_VIRTUAL_KEY, State.CONFIRMING_ACTION), None),
    (Trigger.START_TEST, (State.TEST_CHARGE, State.TEST_CHARGE_FAILED), None),
    (Trigger.RETRY, (State.ERROR, State.RETRY_OFFERED, State.TEST_CHARGE_FAILED), None),
    (
        Trigger.CHECK_NOW,
        (
            State.WAITING,
            State.TEST_CHARGE_RUNNING,
            State.UNKNOWN_STEP,
            State.TERMINAL,
            State.ERROR,
            State.COMPLETING,
        ),
        None,
    ),
    (
        Trigger.RESTART,
        (
            State.RESUMING,
            State.CANCELLED,
            State.LIVE,
            State.TERMINAL,
            State.UNSUPPORTED,
            State.ERROR,
            State.INELIGIBLE,
            State.ENDED,
        ),
        None,
    ),
    (Trigger.RESUME, (State.RESUMING,), None),
    (Trigger.KEEP_GOING, (State.CANCEL_CONFIRM,), None),
    (Trigger.HELP, ALL, None),
    (Trigger.CHANGE_LANGUAGE, ALL, None),
    (Trigger.TAKE_OVER, ALL, None),
    (Trigger.CANCEL, (*_IN_WIZARD, State.RESUMING), State.CANCEL_CONFIRM),
    (Trigger.CANCEL_CONFIRMED, (State.CANCEL_CONFIRM,), State.CANCELLED),
    (Trigger.RESUME_OFFERED, ALL, State.RESUMING),
    (Trigger.FOUND_INELIGIBLE, ALL, State.INELIGIBLE),
    (Trigger.FAIL, ALL, State.ERROR),
    (Trigger.OFFER_SWITCH, ALL, State.SWITCH_CONFIRM),
    (Trigger.SWITCH_DECIDED, (State.SWITCH_CONFIRM,), None),
)

# Which state each Kraken step leads to; the first matching type wins.
_BY_TYPE: tuple[tuple[type[StepBase], State], ...] = (
    (SelectDeviceTypeStep, State.CHOOSING_DEVICE_TYPE),
    (SelectFromListStep, State.CHOOSING),
    (SelectVehicleOrChargePointStep, State.CHOOSING_INTEGRATION),
    (UserInputRequiredStep, State.ANSWERING_INPUT),
    (AuthFlowStep, State.SIGNING_IN),
    (TeslaModifyScopesStep, State.SIGNING_IN),
    (TeslaSetupVirtualKeyStep, State.ADDING_VIRTUAL_KEY),
    (UserActionRequiredStep, State.CONFIRMING_ACTION),
    (DeviceRegistrationStep, State.WAITING),
    (WaitForTransitionStep, State.WAITING),
    (WaitForLiveIntegrationStep, State.WAITING),
    (RetryStep, State.RETRY_OFFERED),
    (UnsupportedCombinationStep, State.UNSUPPORTED),
    (TerminalErrorStep, State.TERMINAL),
    (TeslaRegistrationFailedStep, State.TESLA_FAILED),
)

_WAIT_REASONS: tuple[tuple[type[StepBase], WaitReason], ...] = (
    (DeviceRegistrationStep, WaitReason.DEVICE_REGISTRATION),
    (WaitForTransitionStep, WaitReason.TRANSITION),
    (WaitForLiveIntegrationStep, WaitReason.LIVE_INTEGRATION),
    (TestChargeStep, WaitReason.TEST_CHARGE),
)


def state_for(step: Step | None) -> State:
    """The state a step puts the conversation in; no step means the wizard has ended, which
    the engine then settles from what Kraken says (complete or cancelled, the device)."""
    if step is None:
        return State.COMPLETING
    if isinstance(step, TestChargeStep):
        if step.error is not None:
            return State.TEST_CHARGE_FAILED
        return State.TEST_CHARGE_RUNNING if step.is_started else State.TEST_CHARGE
    if isinstance(step, UserInputRequiredStep) and not step.user_inputs:
        return State.UNKNOWN_STEP  # nothing to ask: only the app can complete it
    for step_type, state in _BY_TYPE:
        if isinstance(step, step_type):
            return state
    return State.UNKNOWN_STEP


def wait_reason(step: Step | None) -> WaitReason | None:
    """Why the notifier should watch the wizard while this step is current (None: don't)."""
    state = state_for(step)
    if state is State.UNKNOWN_STEP:
        return WaitReason.UNKNOWN_STEP
    if state not in (State.WAITING, State.TEST_CHARGE_RUNNING):
        return None
    return next(reason for step_type, reason in _WAIT_REASONS if isinstance(step, step_type))


class InvalidEvent(Exception):
    """The event does not apply in the conversation's current state (e.g. a stale tap)."""


def _arrives_at(target: State) -> Any:
    def condition(event: EventData) -> bool:
        return bool(event.kwargs.get("target") == target)

    condition.__name__ = f"target_is_{target}"
    return condition


def _build() -> Machine:
    # Plain strings for the library (it would key Enum states by their *names*); the enums
    # stay the only way the rest of the code names a state or a trigger.
    machine = Machine(
        model=None,
        states=[state.value for state in State],
        initial=State.NOT_LINKED.value,
        auto_transitions=False,
        send_event=True,
    )
    for target in STEP_STATES:
        machine.add_transition(
            Trigger.STEP_ARRIVED.value, "*", target.value, conditions=[_arrives_at(target)]
        )
    for target in SETTLED:
        machine.add_transition(
            Trigger.SETTLE.value,
            State.COMPLETING.value,
            target.value,
            conditions=[_arrives_at(target)],
        )
    for trigger, sources, dest in TRANSITIONS:
        machine.add_transition(
            trigger.value, [s.value for s in sources], dest.value if dest else None
        )
    return machine


MACHINE = _build()


@dataclass
class _Model:
    state: State = State.NOT_LINKED


# One model, attached once: attaching a model per fire cost `transitions` a pass over every
# state and event (a profile's 13,000 calls for 450 fires). `fire` is synchronous and calls
# back into nothing, so no two fires can ever share it at the same time.
_MODEL = _Model()
MACHINE.add_model(_MODEL, initial=State.NOT_LINKED.value)


def fire(state: State, trigger: Trigger, **kwargs: object) -> State:
    """Fire ``trigger`` from ``state``; returns the new state or raises `InvalidEvent`."""
    _MODEL.state = state.value  # type: ignore[assignment]  # the library keys plain strings
    try:
        moved = _MODEL.trigger(trigger.value, **kwargs)  # type: ignore[attr-defined]
    except MachineError as exc:
        raise InvalidEvent(str(exc)) from exc
    if not moved:
        raise InvalidEvent(f"{trigger} did not apply in {state}")
    return State(_MODEL.state)


def allows(state: State, trigger: Trigger) -> bool:
    """Whether ``trigger`` is legal in ``state`` (without firing it)."""
    event = MACHINE.events.get(trigger.value)
    return event is not None and state.value in event.transitions
