import pytest

from dialogs import machine as m
from dialogs.diagram import OUTPUT, render


@pytest.mark.parametrize("source", m.STATES)
@pytest.mark.parametrize("target", m.STEP_STATES)
def test_any_step_can_arrive_from_any_state(source: str, target: str) -> None:
    assert m.fire(source, "step_arrived", target=target) == target


def test_step_arrived_without_a_known_target_is_invalid() -> None:
    with pytest.raises(m.InvalidEvent):
        m.fire(m.CHOOSING, "step_arrived", target="nowhere")


@pytest.mark.parametrize(
    ("state", "trigger", "expected"),
    [
        (m.CHOOSING, "choose", m.CHOOSING),
        (m.CHOOSING, "page", m.CHOOSING),
        (m.WAITING, "check_now", m.WAITING),
        (m.SIGNING_IN, "submit_input", m.SIGNING_IN),
        (m.WAITING, "cancel", m.CANCEL_CONFIRM),
        (m.CANCEL_CONFIRM, "cancel_confirmed", m.CANCELLED),
        (m.LIVE, "fail", m.ERROR),
        (m.CANCELLED, "restart", m.CANCELLED),
    ],
)
def test_user_events(state: str, trigger: str, expected: str) -> None:
    assert m.fire(state, trigger) == expected
    assert m.allows(state, trigger)


@pytest.mark.parametrize(
    ("state", "trigger"),
    [
        (m.WAITING, "choose"),
        (m.LIVE, "cancel"),
        (m.CANCELLED, "cancel_confirmed"),
        (m.CHOOSING, "check_now"),
        (m.LIVE, "submit_input"),
    ],
)
def test_events_that_do_not_apply_are_refused(state: str, trigger: str) -> None:
    assert not m.allows(state, trigger)
    with pytest.raises(m.InvalidEvent):
        m.fire(state, trigger)


def test_machine_holds_no_models_between_events() -> None:
    m.fire(m.CHOOSING, "choose")
    assert m.MACHINE.models == []


def test_committed_state_diagram_is_current() -> None:
    assert OUTPUT.read_text(encoding="utf-8") == render(), "run python -m dialogs.diagram"
    assert "stateDiagram-v2" in render()
