import pytest

from dialogs import machine as m
from dialogs.diagram import OUTPUT, render
from dialogs.machine import State, Trigger


@pytest.mark.parametrize("source", tuple(State))
@pytest.mark.parametrize("target", m.STEP_STATES)
def test_any_step_can_arrive_from_any_state(source: State, target: State) -> None:
    assert m.fire(source, Trigger.STEP_ARRIVED, target=target) == target


def test_step_arrived_without_a_known_target_is_invalid() -> None:
    with pytest.raises(m.InvalidEvent):
        m.fire(State.CHOOSING, Trigger.STEP_ARRIVED, target="nowhere")


@pytest.mark.parametrize(
    ("state", "trigger", "expected"),
    [
        (State.CHOOSING, Trigger.CHOOSE, State.CHOOSING),
        (State.CHOOSING, Trigger.PAGE, State.CHOOSING),
        (State.WAITING, Trigger.CHECK_NOW, State.WAITING),
        (State.SIGNING_IN, Trigger.SUBMIT_INPUT, State.SIGNING_IN),
        (State.WAITING, Trigger.CANCEL, State.CANCEL_CONFIRM),
        (State.CANCEL_CONFIRM, Trigger.CANCEL_CONFIRMED, State.CANCELLED),
        (State.LIVE, Trigger.FAIL, State.ERROR),
        (State.CANCELLED, Trigger.RESTART, State.CANCELLED),
    ],
)
def test_user_events(state: State, trigger: Trigger, expected: State) -> None:
    assert m.fire(state, trigger) == expected
    assert m.allows(state, trigger)


@pytest.mark.parametrize(
    ("state", "trigger"),
    [
        (State.WAITING, Trigger.CHOOSE),
        (State.LIVE, Trigger.CANCEL),
        (State.CANCELLED, Trigger.CANCEL_CONFIRMED),
        (State.CHOOSING, Trigger.CHECK_NOW),
        (State.LIVE, Trigger.SUBMIT_INPUT),
    ],
)
def test_events_that_do_not_apply_are_refused(state: State, trigger: Trigger) -> None:
    assert not m.allows(state, trigger)
    with pytest.raises(m.InvalidEvent):
        m.fire(state, trigger)


def test_the_machine_keeps_one_model_and_no_fire_depends_on_the_one_before() -> None:
    first = m.fire(State.CHOOSING, Trigger.CHOOSE)
    with pytest.raises(m.InvalidEvent):
        m.fire(State.NOT_LINKED, Trigger.CHOOSE)  # a refused event leaves nothing behind
    assert m.fire(State.CHOOSING, Trigger.CHOOSE) == first
    assert len(m.MACHINE.models) == 1  # attached once, not once per event


def test_committed_state_diagram_is_current() -> None:
    assert OUTPUT.read_text(encoding="utf-8") == render(), "run python -m dialogs.diagram"
    assert "stateDiagram-v2" in render()
