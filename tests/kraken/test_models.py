from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from kraken.errors import KrakenResponseError
from kraken.models import (
    STEP_TYPES,
    AuthFlowStep,
    Device,
    DeviceLifecycleStatus,
    DeviceRegistrationStep,
    Integration,
    RetryStep,
    SelectChargePointMakeStep,
    SelectChargePointVariantStep,
    SelectDeviceTypeStep,
    SelectFromListStep,
    SelectSessionDeviceStep,
    SelectUserVehicleStep,
    SelectVehicleMakeStep,
    SelectVehicleOrChargePointStep,
    SelectVehicleVariantStep,
    TerminalErrorStep,
    TeslaModifyScopesStep,
    TeslaRegistrationFailedStep,
    TeslaSetupVirtualKeyStep,
    TestChargeStep,
    UnknownStep,
    UnsupportedCombinationStep,
    UserActionRequiredStep,
    UserInputRequiredStep,
    WaitForLiveIntegrationStep,
    WaitForTransitionStep,
    parse_device,
    parse_step,
    parse_wizard,
)
from tests.kraken.fakes import step, wizard

EV_MODEL = {
    "model": "Model 3",
    "year": 2021,
    "availableFrom": 2019,
    "availableTo": None,
    "isIntegrationLive": True,
    "integrationStatus": "GENERALLY_AVAILABLE",
    "supportedProviders": ["TESLA", "ENODE"],
}


def list_step(typename: str, *items: dict[str, Any]) -> dict[str, Any]:
    options = [{"__typename": f"{typename}ListItem", **item} for item in items]
    return step(typename, "step-1", options=[*options, None], selectedOptionId=None)


def test_every_schema_step_type_has_a_model_and_none_is_unknown() -> None:
    for typename in STEP_TYPES:
        parsed = parse_step(step(typename, "s1"))
        assert not isinstance(parsed, UnknownStep), typename
        assert (parsed.id, parsed.typename) == ("s1", typename)


def test_device_type_options_use_their_label() -> None:
    parsed = parse_step(list_step("SelectDeviceType", {"id": "EV", "label": "Electric Vehicle"}))
    assert isinstance(parsed, SelectDeviceTypeStep)
    assert [(o.id, o.label) for o in parsed.options] == [("EV", "Electric Vehicle")]


def test_vehicle_make_option_summarises_its_models() -> None:
    live = {"vehicleMake": {"make": "Tesla", "models": [EV_MODEL, {**EV_MODEL, "model": "Y"}]}}
    dead = {"vehicleMake": {"make": "Lada", "models": [{**EV_MODEL, "isIntegrationLive": False}]}}
    parsed = parse_step(list_step("SelectVehicleMake", {"id": "m1", **live}, {"id": "m2", **dead}))
    assert isinstance(parsed, SelectVehicleMakeStep)
    tesla, lada = parsed.options
    assert (tesla.label, tesla.make, tesla.is_integration_live) == ("Tesla", "Tesla", True)
    assert tesla.supported_providers == ["TESLA", "ENODE"]
    assert (lada.label, lada.is_integration_live) == ("Lada", False)


def test_vehicle_variant_option_carries_model_years_and_support() -> None:
    item = {"id": "v1", "vehicleVariant": {"make": "Tesla", "models": [EV_MODEL]}}
    parsed = parse_step(list_step("SelectVehicleVariant", item))
    assert isinstance(parsed, SelectVehicleVariantStep)
    (option,) = parsed.options
    assert (option.label, option.make, option.year) == ("Model 3", "Tesla", 2021)
    assert (option.available_from, option.available_to) == (2019, None)
    assert option.is_integration_live is True
    assert option.integration_status == "GENERALLY_AVAILABLE"


def test_charge_point_options() -> None:
    cp_model = {"model": "Zappi", "amperage": 32, "powerInKw": "7.4", "isIntegrationLive": True}
    make = {"id": "c1", "chargePointMake": {"make": "myenergi", "models": [cp_model]}}
    variant = {"id": "c2", "chargePointVariant": {"make": "myenergi", "models": [cp_model]}}
    electric = {
        "id": "c3",
        "chargePointVariant": None,
        "electricChargePointVariant": {"make": "Ohme", "model": "Home Pro", "amperage": 32},
    }
    makes = parse_step(list_step("SelectChargePointMake", make))
    variants = parse_step(list_step("SelectChargePointVariant", variant, electric))
    assert isinstance(makes, SelectChargePointMakeStep)
    assert isinstance(variants, SelectChargePointVariantStep)
    assert makes.options[0].label == "myenergi"
    zappi, ohme = variants.options
    assert (zappi.label, zappi.amperage, zappi.power_kw) == ("Zappi", 32, Decimal("7.4"))
    assert (ohme.label, ohme.make) == ("Home Pro", "Ohme")


def test_session_device_and_user_vehicle_options() -> None:
    session = list_step("SelectSessionDevice", {"id": "d1", "sessionDevice": {"make": "BYD"}})
    vehicles = list_step(
        "SelectUserVehicle",
        {"id": "u1", "vehicle": {"displayName": "My car", "vin": "5YJ3E1EA7KF000001"}},
        {"id": "u2", "vehicle": {"brand": "BYD", "model": "Atto 3", "year": 2023}},
    )
    parsed_session = parse_step(session)
    parsed_vehicles = parse_step(vehicles)
    assert isinstance(parsed_session, SelectSessionDeviceStep)
    assert isinstance(parsed_vehicles, SelectUserVehicleStep)
    assert parsed_session.options[0].label == "BYD"
    mine, atto = parsed_vehicles.options
    assert (mine.label, mine.vin) == ("My car", "5YJ3E1EA7KF000001")
    assert atto.label == "BYD Atto 3 2023"


def test_option_without_any_label_falls_back_to_its_id() -> None:
    parsed = parse_step(list_step("SelectInverterMake", {"id": "inv-9", "inverterMake": None}))
    assert isinstance(parsed, SelectFromListStep)
    assert parsed.options[0].label == "inv-9"


def test_non_list_steps_parse_their_fields() -> None:
    auth = parse_step(
        step(
            "AuthFlow",
            "a",
            authorizationUri="https://oem/auth",
            redirectUri="https://bot/cb",
            error={"message": "Sign-in was cancelled"},
        )
    )
    assert isinstance(auth, AuthFlowStep)
    assert (auth.authorization_uri, auth.error_message) == (
        "https://oem/auth",
        "Sign-in was cancelled",
    )
    choice = parse_step(step("SelectVehicleOrChargePoint", "b", selectedIntegration=None))
    assert isinstance(choice, SelectVehicleOrChargePointStep)
    assert choice.selected_integration is None
    key = parse_step(step("TeslaSetupVirtualKey", "c", key="k", uri="https://tesla.com/_ak/x"))
    assert isinstance(key, TeslaSetupVirtualKeyStep)
    assert key.uri == "https://tesla.com/_ak/x"
    scopes = parse_step(step("TeslaModifyScopes", "d", modifyScopesUri="https://m"))
    assert isinstance(scopes, TeslaModifyScopesStep)
    assert scopes.modify_scopes_uri == "https://m"
    failed = parse_step(step("TeslaRegistrationFailed", "e", modifyScopesSelected=True))
    assert isinstance(failed, TeslaRegistrationFailedStep)
    assert failed.modify_scopes_selected is True


def test_user_action_and_user_input_steps() -> None:
    action = parse_step(
        step(
            "UserActionRequired",
            "a",
            userActions=[{"description": "Update", "uri": "https://u", "userAction": "UPDATE"}],
        )
    )
    assert isinstance(action, UserActionRequiredStep)
    assert action.user_actions[0].user_action == "UPDATE"
    vin = {"key": "vin", "description": "VIN", "isRequired": True, "regex": "[A-Z0-9]{17}"}
    form = parse_step(
        step("UserInputRequired", "b", userInputs=[vin, None], error={"message": "Bad VIN"})
    )
    assert isinstance(form, UserInputRequiredStep)
    assert [(i.key, i.is_required, i.regex) for i in form.user_inputs] == [
        ("vin", True, "[A-Z0-9]{17}")
    ]
    assert form.error_message == "Bad VIN"


def test_test_charge_and_waiting_steps() -> None:
    failure = {
        "message": "TestChargeRefused",
        "errorType": "UNABLE_TO_INITIATE_TEST_CHARGE",
        "reasons": ["DEVICE_AWAY_FROM_HOME"],
        "descriptions": ["device is away from home"],
    }
    charge = parse_step(step("TestCharge", "a", isReady=True, isStarted=False, error=failure))
    assert isinstance(charge, TestChargeStep)
    assert charge.error is not None
    assert charge.error.reasons == ["DEVICE_AWAY_FROM_HOME"]
    assert isinstance(
        parse_step(step("SmartFlexOnboardingDeviceRegistration", "b", deviceRegistered=False)),
        DeviceRegistrationStep,
    )
    live = parse_step(step("WaitForLiveIntegration", "c", isLive=False))
    assert isinstance(live, WaitForLiveIntegrationStep)
    assert live.is_live is False
    assert isinstance(parse_step(step("WaitForTransition", "d")), WaitForTransitionStep)
    assert isinstance(parse_step(step("UnsupportedCombination", "e")), UnsupportedCombinationStep)
    assert isinstance(parse_step(step("Retry", "f")), RetryStep)
    terminal = parse_step(
        step("TerminalError", "g", errors=[{"errorCode": "X", "description": "d"}])
    )
    assert isinstance(terminal, TerminalErrorStep)
    assert terminal.errors[0].error_code == "X"


def test_unknown_type_name_keeps_id_and_name() -> None:
    parsed = parse_step(step("SelectSolarRoofTiles", "s-9", options=[{"weird": 1}]))
    assert isinstance(parsed, UnknownStep)
    assert (parsed.id, parsed.typename) == ("s-9", "SelectSolarRoofTiles")


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "AuthFlow",
        {"id": "no-typename"},
        {"__typename": "AuthFlow"},
        {"__typename": "AuthFlow", "id": None},
        {"__typename": "AuthFlow", "id": ["x"]},
        {"__typename": "Mystery"},
        {"__typename": "TestCharge", "id": "a", "isReady": "maybe"},
        {"__typename": "SelectVehicleMake", "id": "a", "options": [{"label": "no id"}]},
        {"__typename": "SelectVehicleMake", "id": "a", "options": "not a list"},
        {"__typename": "UserInputRequired", "id": "a", "userInputs": [{"value": "no key"}]},
    ],
)
def test_malformed_steps_raise_response_error(raw: Any) -> None:
    with pytest.raises(KrakenResponseError):
        parse_step(raw)


def test_wizard_with_null_current_step_is_complete_even_without_is_complete() -> None:
    raw = wizard(current=None)
    del raw["isComplete"]
    parsed = parse_wizard(raw)
    assert parsed.current_step is None
    assert parsed.is_complete is True


def test_wizard_parses_completed_steps_including_unknown_ones() -> None:
    raw = wizard(
        current=step("AuthFlow", "s3"),
        completedSteps=[
            step("SelectDeviceType", "s1", options=None),
            step("Brand-new", "s2"),
            None,
        ],
    )
    parsed = parse_wizard(raw)
    assert [type(s) for s in parsed.completed_steps] == [SelectDeviceTypeStep, UnknownStep]
    assert isinstance(parsed.current_step, AuthFlowStep)
    assert parsed.is_complete is False


@pytest.mark.parametrize(
    "raw",
    [None, [], {"currentStep": None}, {"id": "1", "currentStep": {"id": "x"}}, {"id": {"a": 1}}],
)
def test_malformed_wizard_raises_response_error(raw: Any) -> None:
    with pytest.raises(KrakenResponseError):
        parse_wizard(raw)


def test_device_status_tolerates_unknown_lifecycle_values() -> None:
    raw = {
        "id": "dev-1",
        "deviceType": "ELECTRIC_VEHICLES",
        "provider": "TESLA",
        "status": {"current": "LIVE", "stateOfCharge": 80, "isSuspended": False},
    }
    device = parse_device(raw)
    assert isinstance(device, Device)
    assert device.is_live
    assert device.status.state_of_charge == 80
    odd = parse_device({**raw, "status": {"current": "HIBERNATING"}})
    assert odd.status.current is None
    assert not odd.is_live
    assert DeviceLifecycleStatus("ONBOARDING") is DeviceLifecycleStatus.ONBOARDING
    with pytest.raises(KrakenResponseError):
        parse_device({**raw, "status": None})


def test_models_are_frozen_and_constructible_by_field_name() -> None:
    choice = SelectVehicleOrChargePointStep(
        id="a", typename="SelectVehicleOrChargePoint", selected_integration=Integration.CHARGE_POINT
    )
    with pytest.raises(ValueError, match="frozen"):
        choice.id = "b"  # type: ignore[misc]


def test_device_alerts_and_re_authentication_are_read_when_kraken_sends_them() -> None:
    raw = {
        "id": "dev-1",
        "deviceType": "ELECTRIC_VEHICLES",
        "provider": "TESLA",
        "status": {"current": "LIVE"},
        "alerts": [
            {"message": "Kraken lost access to your car", "publishedAt": "2026-12-07T10:00:00Z"},
            None,
        ],
        "reAuthenticationState": {"isEligible": True},
    }
    device = parse_device(raw)
    assert [a.message for a in device.alerts] == ["Kraken lost access to your car"]
    assert device.re_authentication_state is not None
    assert device.re_authentication_state.is_eligible is True
    bare = parse_device(
        {k: v for k, v in raw.items() if k not in ("alerts", "reAuthenticationState")}
    )
    assert bare.alerts == [] and bare.re_authentication_state is None
