"""Every documented journey, followed generically from the current step to its end."""

from __future__ import annotations

from typing import Any

import pytest

from .gql import Chooser, Driver, KrakenError, first, label, make, variant

EV = label("Electric vehicle or charger")
NO_CHARGER = make("No smart charger / not listed")


async def run(
    kraken: Driver, choices: dict[str, Chooser | str]
) -> tuple[dict[str, Any], list[str]]:
    return await kraken.follow(await kraken.start(), choices)


async def test_a_tesla_with_two_cars_ends_live(kraken: Driver) -> None:
    wizard, seen = await run(
        kraken,
        {
            "SelectDeviceType": EV,
            "SelectVehicleMake": make("Tesla"),
            "SelectVehicleVariant": variant("Model S"),
            "SelectChargePointMake": NO_CHARGER,
            "SelectUserVehicle": first,
        },
    )
    assert seen == [
        "SelectDeviceType",
        "SelectVehicleMake",
        "SelectVehicleVariant",
        "SelectChargePointMake",
        "AuthFlow",
        "TeslaSetupVirtualKey",
        "SelectUserVehicle",
        "TestCharge",
        "WaitForTransition",
    ]
    assert wizard["isComplete"] and wizard["currentStep"] is None
    (device,) = await kraken.devices()
    assert device["provider"] == "TESLA" and device["status"]["current"] == "LIVE"
    assert device["integrationDeviceId"].startswith("5YJ")


async def test_a_tesla_with_one_car_skips_vehicle_choice(kraken: Driver) -> None:
    _, seen = await run(
        kraken,
        {
            "SelectDeviceType": EV,
            "SelectVehicleMake": make("Tesla"),
            "SelectVehicleVariant": variant("Model 3"),
            "SelectChargePointMake": NO_CHARGER,
        },
    )
    assert "SelectUserVehicle" not in seen and seen[-3:] == [
        "TeslaSetupVirtualKey",
        "TestCharge",
        "WaitForTransition",
    ]


@pytest.mark.parametrize(
    ("make_name", "model", "provider"),
    [
        ("Volkswagen", "e-Golf", "ENODE"),
        ("Kia", "Soul EV", "SMARTCAR"),
        ("Ford", "E-Transit", "FORD"),
    ],
)
async def test_b_oauth_vehicle_registers_then_test_charges(
    kraken: Driver, make_name: str, model: str, provider: str
) -> None:
    wizard, seen = await run(
        kraken,
        {
            "SelectDeviceType": EV,
            "SelectVehicleMake": make(make_name),
            "SelectVehicleVariant": variant(model),
            "SelectChargePointMake": NO_CHARGER,
        },
    )
    assert seen[4:] == [
        "AuthFlow",
        "SmartFlexOnboardingDeviceRegistration",
        "TestCharge",
        "WaitForTransition",
    ]
    assert wizard["isComplete"]
    (device,) = await kraken.devices()
    assert (device["provider"], device["status"]["current"]) == (provider, "LIVE")


@pytest.mark.parametrize(
    ("integration", "provider", "typename"),
    [
        ("ELECTRIC_VEHICLE", "TESLA", "SmartFlexVehicle"),
        ("CHARGE_POINT", "MYENERGI", "SmartFlexChargePoint"),
    ],
)
async def test_c_vehicle_or_charge_point_decides_the_integration(
    kraken: Driver, integration: str, provider: str, typename: str
) -> None:
    wizard, seen = await run(
        kraken,
        {
            "SelectDeviceType": EV,
            "SelectVehicleMake": make("Tesla"),
            "SelectVehicleVariant": variant("Model Y"),
            "SelectChargePointMake": make("myenergi"),
            "SelectChargePointVariant": variant("zappi v2 7kW"),
            "SelectVehicleOrChargePoint": integration,
        },
    )
    assert seen[4:6] == ["SelectChargePointVariant", "SelectVehicleOrChargePoint"]
    assert wizard["isComplete"]
    (device,) = await kraken.devices()
    assert (device["provider"], device["__typename"]) == (provider, typename)


async def test_d_ocpp_charger_uses_serial_number_and_ocpp_url(kraken: Driver) -> None:
    wizard, seen = await run(
        kraken,
        {
            "SelectDeviceType": EV,
            "SelectVehicleMake": make("Fiat"),
            "SelectVehicleVariant": variant("500e"),
            "SelectChargePointMake": make("Wallbox"),
            "SelectChargePointVariant": variant("Pulsar Plus 7kW"),
            "UserInputRequired": '{"serialNumber": "WB12345678"}',
        },
    )
    assert seen[5:] == ["UserInputRequired", "UserActionRequired", "WaitForTransition"]
    action = next(s for s in wizard["completedSteps"] if s["__typename"] == "UserActionRequired")
    assert action["userActions"][0]["uri"].endswith("/ocpp/WB12345678")
    (device,) = await kraken.devices()
    assert device["provider"] == "OCPP_WALLBOX" and device["integrationDeviceId"] == "WB12345678"
    assert device["status"]["current"] == "LIVE"


async def test_e_jedlix_vehicle_is_set_up_in_the_app(kraken: Driver) -> None:
    wizard, seen = await run(
        kraken,
        {
            "SelectDeviceType": EV,
            "SelectVehicleMake": make("Renault"),
            "SelectVehicleVariant": variant("Megane E-Tech"),
            "SelectChargePointMake": NO_CHARGER,
        },
    )
    assert seen[4:] == ["UserActionRequired", "WaitForTransition"]
    action = wizard["completedSteps"][4]["userActions"][0]
    assert action["userAction"] == "USE_JEDLIX_APP"
    (device,) = await kraken.devices()
    assert (device["provider"], device["status"]["current"]) == ("JEDLIX", "LIVE")


async def test_f_heat_pump_waits_for_live_integration(kraken: Driver) -> None:
    wizard, seen = await run(
        kraken,
        {"SelectDeviceType": label("Heat pump"), "SelectHeatPumpMake": label("Daikin")},
    )
    assert seen == ["SelectDeviceType", "SelectHeatPumpMake", "AuthFlow", "WaitForLiveIntegration"]
    assert wizard["deviceType"] == "HEAT_PUMPS" and wizard["isComplete"]
    (device,) = await kraken.devices()
    assert (device["provider"], device["status"]["current"]) == ("DAIKIN", "LIVE")


async def test_g_unsupported_combination_until_an_earlier_choice_changes(kraken: Driver) -> None:
    choices: dict[str, Chooser | str] = {
        "SelectDeviceType": EV,
        "SelectVehicleMake": make("Fiat"),
        "SelectVehicleVariant": variant("500e"),
        "SelectChargePointMake": NO_CHARGER,
    }
    wizard, seen = await run(kraken, choices)
    assert seen[-1] == "UnsupportedCombination" and not wizard["isComplete"]
    make_step = wizard["completedSteps"][1]
    wizard = await kraken.mutate(
        "select",
        wizardId=wizard["id"],
        stepId=make_step["id"],
        selectedOption=next(o["id"] for o in make_step["options"] if make("Tesla")(o)),
    )
    assert wizard["currentStep"]["__typename"] == "SelectVehicleVariant"
    wizard, _ = await kraken.follow(wizard, {**choices, "SelectVehicleVariant": variant("Model 3")})
    assert wizard["isComplete"]


def _ev(make_name: str, model: str) -> dict[str, Chooser | str]:
    return {
        "SelectDeviceType": EV,
        "SelectVehicleMake": make(make_name),
        "SelectVehicleVariant": variant(model),
        "SelectChargePointMake": NO_CHARGER,
    }


async def _start_test_charge(kraken: Driver, wizard: dict[str, Any]) -> dict[str, Any]:
    step = wizard["currentStep"]
    return await kraken.mutate("test_charge", wizardId=wizard["id"], stepId=step["id"])


async def test_h_refused_test_charge_is_retried_on_the_reminted_step(kraken: Driver) -> None:
    wizard, _ = await kraken.follow(
        await kraken.start(), _ev("Nissan", "Leaf"), stop_at="TestCharge"
    )
    first_id = wizard["currentStep"]["id"]
    wizard = await _start_test_charge(kraken, wizard)
    step = wizard["currentStep"]
    assert step["__typename"] == "TestCharge" and step["id"] != first_id
    assert not step["isStarted"]
    assert step["error"]["errorType"] == "UNABLE_TO_INITIATE_TEST_CHARGE"
    assert step["error"]["reasons"] == ["DEVICE_AWAY_FROM_HOME"]
    wizard = await _start_test_charge(kraken, wizard)
    assert wizard["currentStep"]["isStarted"] and wizard["currentStep"]["error"] is None
    (device,) = await kraken.devices()
    assert device["status"]["current"] == "ONBOARDING_TEST_IN_PROGRESS"
    wizard, _ = await kraken.follow(wizard, {})
    assert wizard["isComplete"]


async def test_h_failed_test_charge_marks_device_then_succeeds_on_retry(kraken: Driver) -> None:
    wizard, _ = await kraken.follow(
        await kraken.start(), _ev("Hyundai", "Kona Electric"), stop_at="TestCharge"
    )
    wizard = await _start_test_charge(kraken, wizard)
    await kraken.advance_clock(7 * 60)
    wizard = await kraken.read(wizard["id"])
    step = wizard["currentStep"]
    assert step["__typename"] == "TestCharge" and not step["isStarted"]
    assert step["error"]["errorType"] == "UNABLE_TO_COMPLETE_TEST_CHARGE"
    assert step["error"]["reasons"] == ["ASSESSMENTS_FAILED"]
    (device,) = await kraken.devices()
    assert device["status"]["current"] == "FAILED_ONBOARDING_TEST"
    wizard, seen = await kraken.follow(wizard, {})
    assert seen == ["TestCharge", "WaitForTransition"] and wizard["isComplete"]


async def test_h_scenario_hook_overrides_outcomes_per_account(kraken: Driver) -> None:
    response = await kraken.http.post(
        "/sandbox/scenario",
        json={
            "accountNumber": "A-SANDBOX1",
            "testChargeOutcomes": ["DEVICE_DISCONNECTED", "NOT_AT_HOME", "OK"],
        },
    )
    assert response.status_code == 200
    wizard, seen = await kraken.follow(await kraken.start(), _ev("Kia", "EV6"))
    assert seen.count("TestCharge") == 3 and wizard["isComplete"]


async def test_test_charge_before_the_vehicle_is_ready_is_refused(kraken: Driver) -> None:
    await kraken.http.post(
        "/sandbox/scenario",
        json={"accountNumber": "A-SANDBOX1", "vehicleReadyAfterSeconds": 120},
    )
    wizard, _ = await kraken.follow(await kraken.start(), _ev("Kia", "EV6"), stop_at="TestCharge")
    assert wizard["currentStep"]["isReady"] is False
    with pytest.raises(KrakenError) as refused:
        await _start_test_charge(kraken, wizard)
    assert refused.value.code == "KT-CT-4379"
    assert refused.value.extensions["testChargeRefusalReasons"] == ["DEVICE_DISCONNECTED"]
    await kraken.advance_clock(120)
    wizard = await kraken.read(wizard["id"])
    assert wizard["currentStep"]["isReady"] is True
    wizard = await _start_test_charge(kraken, wizard)
    assert wizard["currentStep"]["isStarted"]
