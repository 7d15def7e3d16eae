"""Which machine state a Kraken step puts the conversation in, and what it waits on."""

from __future__ import annotations

from dialogs import machine as m
from dialogs.outcome import PollReason
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

_BY_TYPE: tuple[tuple[type[StepBase], str], ...] = (
    (SelectDeviceTypeStep, m.CHOOSING_DEVICE_TYPE),
    (SelectFromListStep, m.CHOOSING),
    (SelectVehicleOrChargePointStep, m.CHOOSING_INTEGRATION),
    (UserInputRequiredStep, m.ANSWERING_INPUT),
    (AuthFlowStep, m.SIGNING_IN),
    (TeslaModifyScopesStep, m.SIGNING_IN),
    (TeslaSetupVirtualKeyStep, m.ADDING_VIRTUAL_KEY),
    (UserActionRequiredStep, m.CONFIRMING_ACTION),
    (DeviceRegistrationStep, m.WAITING),
    (WaitForTransitionStep, m.WAITING),
    (WaitForLiveIntegrationStep, m.WAITING),
    (RetryStep, m.RETRY_OFFERED),
    (UnsupportedCombinationStep, m.UNSUPPORTED),
    (TerminalErrorStep, m.TERMINAL),
    (TeslaRegistrationFailedStep, m.TERMINAL),
)

_POLL_REASONS: tuple[tuple[type[StepBase], PollReason], ...] = (
    (DeviceRegistrationStep, PollReason.DEVICE_REGISTRATION),
    (WaitForTransitionStep, PollReason.TRANSITION),
    (WaitForLiveIntegrationStep, PollReason.LIVE_INTEGRATION),
    (TestChargeStep, PollReason.TEST_CHARGE),
)


def state_for(step: Step | None) -> str:
    """The state a step puts the conversation in; no step means the wizard is complete."""
    if step is None:
        return m.LIVE
    if isinstance(step, TestChargeStep):
        if step.error is not None:
            return m.TEST_CHARGE_FAILED
        return m.TEST_CHARGE_RUNNING if step.is_started else m.TEST_CHARGE
    if isinstance(step, UserInputRequiredStep) and not step.user_inputs:
        return m.UNKNOWN_STEP  # nothing to ask: only the app can complete it
    for step_type, state in _BY_TYPE:
        if isinstance(step, step_type):
            return state
    return m.UNKNOWN_STEP


def poll_reason(step: Step | None) -> PollReason | None:
    """Why the notifier should watch the wizard while this step is current (None: don't)."""
    state = state_for(step)
    if state == m.UNKNOWN_STEP:
        return PollReason.UNKNOWN_STEP
    if state not in (m.WAITING, m.TEST_CHARGE_RUNNING):
        return None
    return next(reason for step_type, reason in _POLL_REASONS if isinstance(step, step_type))
