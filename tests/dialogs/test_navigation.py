from dialogs.machine import State, WaitReason, state_for, wait_reason
from dialogs.wizard import back_target, find_step, previous_list_step
from kraken.models import Wizard

from .fakes import step, wizard

TYPES = step("SelectDeviceType", "types")
MAKES = step("SelectVehicleMake", "makes")
AUTH = step("AuthFlow", "auth")
REGISTRATION = step("SmartFlexOnboardingDeviceRegistration", "reg")
VARIANTS = step("SelectVehicleVariant", "variants")


def test_back_goes_to_the_latest_list_step() -> None:
    w = wizard(AUTH, TYPES, MAKES)
    assert back_target(w) == "makes"
    assert back_target(w, before="makes") == "types"
    assert back_target(w, before="types") is None


def test_no_way_back_past_device_registration() -> None:
    assert previous_list_step(wizard(AUTH, MAKES, REGISTRATION)) is None


def test_no_way_back_when_kraken_says_the_wizard_cannot_rewind() -> None:
    w = Wizard(id="w", current_step=VARIANTS, completed_steps=[MAKES], is_rewindable=False)
    assert back_target(w) is None


def test_find_step_looks_at_current_and_completed_steps() -> None:
    w = wizard(VARIANTS, MAKES)
    assert find_step(w, "makes") == MAKES and find_step(w, "variants") == VARIANTS
    assert find_step(w, "nope") is None


def test_test_charge_states_follow_its_fields() -> None:
    assert state_for(step("TestCharge", isStarted=False)) == State.TEST_CHARGE
    assert state_for(step("TestCharge", isStarted=True)) == State.TEST_CHARGE_RUNNING
    assert state_for(step("TestCharge", error={"reasons": ["ERROR"]})) == State.TEST_CHARGE_FAILED


def test_only_steps_that_resolve_by_themselves_are_polled() -> None:
    assert wait_reason(REGISTRATION) is WaitReason.DEVICE_REGISTRATION
    assert wait_reason(step("TestCharge", isStarted=True)) is WaitReason.TEST_CHARGE
    assert wait_reason(step("Mystery")) is WaitReason.UNKNOWN_STEP
    assert wait_reason(step("TestCharge")) is None
    assert wait_reason(MAKES) is None and wait_reason(None) is None
