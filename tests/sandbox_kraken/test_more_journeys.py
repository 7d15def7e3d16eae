"""Journeys for the step types the first journeys never produced, per flavour: batteries and
solar inverters, the 'not listed' car, Tesla's scope and virtual-key troubles, Retry and
TerminalError (UK), the account-level test charge, device removal and the legacy selects."""

from __future__ import annotations

from typing import Any

import pytest

from .gql import Chooser, Driver, KrakenError, label, make, variant

EV = label("Electric vehicle or charger")
NO_CHARGER = make("No smart charger / not listed")
TESLA: dict[str, Chooser | str] = {
    "SelectDeviceType": EV,
    "SelectVehicleMake": make("Tesla"),
    "SelectVehicleVariant": variant("Model 3"),
    "SelectChargePointMake": NO_CHARGER,
}
ENODE_CAR: dict[str, Chooser | str] = {**TESLA, "SelectVehicleMake": make("Volkswagen")}
ENODE_CAR["SelectVehicleVariant"] = variant("e-Golf")


def inverter(name: str) -> Chooser:
    return lambda o: (o.get("inverterMake") or {}).get("make") == name


def session_device(name: str) -> Chooser:
    return lambda o: (o.get("sessionDevice") or {}).get("name") == name


async def error_of(call: Any) -> KrakenError:
    with pytest.raises(KrakenError) as caught:
        await call
    return caught.value


async def run(
    kraken: Driver, choices: dict[str, Chooser | str], account: str = "A-SANDBOX1"
) -> tuple[dict[str, Any], list[str]]:
    return await kraken.follow(await kraken.start(account), choices)


@pytest.mark.parametrize(
    ("flavour", "asks_system"), [("eu", []), ("uk", ["SelectInverterSystemType"])]
)
async def test_home_battery_with_two_batteries_on_the_account(
    kraken: Driver, asks_system: list[str]
) -> None:
    wizard, seen = await run(
        kraken,
        {
            "SelectDeviceType": label("Home battery"),
            "SelectInverterMake": inverter("GivEnergy"),
            "SelectInverterSystemType": label(
                "Hybrid inverter (solar panels and battery on one inverter)"
            ),
            "SelectSessionDevice": session_device("Giv-Bat (loft)"),
        },
    )
    assert seen == [
        "SelectDeviceType",
        "SelectInverterMake",
        *asks_system,
        "AuthFlow",
        "SelectSessionDevice",
        "WaitForLiveIntegration",
    ]
    assert wizard["isComplete"] and wizard["deviceType"] == "BATTERIES"
    (device,) = await kraken.devices()
    assert (device["deviceType"], device["provider"], device["integrationDeviceId"]) == (
        "BATTERIES",
        "GIVENERGY",
        "CE2144G102",
    )
    assert device["name"] == "GivEnergy Giv-Bat 9.5" and device["status"]["current"] == "LIVE"


async def test_solar_inverter_alone_or_one_of_two(kraken: Driver) -> None:
    solar = {"SelectDeviceType": label("Solar inverter")}
    _, single = await run(kraken, {**solar, "SelectInverterMake": inverter("SolarEdge")})
    assert single == [
        "SelectDeviceType",
        "SelectInverterMake",
        "AuthFlow",
        "WaitForLiveIntegration",
    ]
    wizard = await kraken.start()
    wizard, seen = await kraken.follow(
        wizard,
        {
            **solar,
            "SelectInverterMake": inverter("Enphase"),
            "SelectSessionDevice": session_device("IQ Gateway (garage roof)"),
        },
    )
    assert "SelectSessionDevice" in seen and wizard["isComplete"]
    options = wizard["completedSteps"][-2]["options"]
    assert [o["sessionDevice"]["name"] for o in options] == [
        "IQ Gateway (house roof)",
        "IQ Gateway (garage roof)",
    ]
    devices = {d["integrationDeviceId"]: d for d in await kraken.devices()}
    assert devices["122301001002"]["deviceType"] == "INVERTERS"


async def test_inverter_make_without_a_live_integration_is_unsupported(kraken: Driver) -> None:
    wizard = await kraken.select(await kraken.start(), label("Solar inverter"))
    makes = [o["inverterMake"]["make"] for o in wizard["currentStep"]["options"]]
    assert "Fronius" in makes and "Tesla" not in makes  # Powerwalls are batteries only
    wizard = await kraken.select(wizard, inverter("Fronius"))
    assert wizard["currentStep"]["__typename"] == "UnsupportedCombination"


@pytest.mark.parametrize("flavour", ["uk"])
async def test_uk_battery_on_a_solar_only_system_is_unsupported(kraken: Driver) -> None:
    wizard, seen = await kraken.follow(
        await kraken.start(),
        {
            "SelectDeviceType": label("Home battery"),
            "SelectInverterMake": inverter("Huawei"),
            "SelectInverterSystemType": label("Solar inverter without a battery"),
        },
    )
    assert seen[-1] == "UnsupportedCombination"
    system_step = wizard["completedSteps"][-1]
    again = await kraken.mutate(
        "select",
        wizardId=wizard["id"],
        stepId=system_step["id"],
        selectedOption="inverter-system:ac-coupled",
    )
    assert again["currentStep"]["__typename"] == "AuthFlow"


@pytest.mark.parametrize(
    ("flavour", "variant_step"), [("eu", []), ("uk", ["SelectHeatPumpVariant"])]
)
async def test_heat_pump_variant_is_asked_on_uk_only(
    kraken: Driver, variant_step: list[str]
) -> None:
    wizard, seen = await run(
        kraken,
        {
            "SelectDeviceType": label("Heat pump"),
            "SelectHeatPumpMake": label("Daikin"),
            "SelectHeatPumpVariant": label("Altherma 3 R"),
        },
    )
    assert seen == [
        "SelectDeviceType",
        "SelectHeatPumpMake",
        *variant_step,
        "AuthFlow",
        "WaitForLiveIntegration",
    ]
    expected = "Daikin Altherma 3 R" if variant_step else "Daikin heat pump"
    assert wizard["displayName"] == expected


async def test_car_not_listed_falls_back_to_the_charger(kraken: Driver) -> None:
    wizard = await kraken.select(await kraken.start(), EV)
    assert wizard["currentStep"]["options"][-1]["vehicleMake"]["make"] == "My car is not listed"
    _, seen = await kraken.follow(
        wizard,
        {
            "SelectVehicleMake": make("My car is not listed"),
            "SelectChargePointMake": make("myenergi"),
            "SelectChargePointVariant": variant("zappi v2 7kW"),
        },
    )
    assert "SelectVehicleVariant" not in seen
    assert seen[:3] == ["SelectVehicleMake", "SelectChargePointMake", "SelectChargePointVariant"]
    assert seen[-3:] == ["SmartFlexOnboardingDeviceRegistration", "TestCharge", "WaitForTransition"]
    (device,) = await kraken.devices()
    assert device["__typename"] == "SmartFlexChargePoint"
    _, nothing = await run(
        kraken,
        {
            "SelectDeviceType": EV,
            "SelectVehicleMake": make("My car is not listed"),
            "SelectChargePointMake": NO_CHARGER,
        },
    )
    assert nothing[-1] == "UnsupportedCombination"


async def test_tesla_sign_in_without_the_scopes_asks_to_modify_them(kraken: Driver) -> None:
    wizard, _ = await kraken.follow(
        await kraken.start("A-TESLA-SCOPES"), TESLA, stop_at="TeslaModifyScopes"
    )
    step = wizard["currentStep"]
    assert "vehicle_cmds" in step["modifyScopesUri"] and step["redirectUri"]
    wizard, seen = await kraken.follow(wizard, TESLA)
    assert seen == ["TeslaModifyScopes", "TeslaSetupVirtualKey", "TestCharge", "WaitForTransition"]
    assert wizard["isComplete"]


@pytest.mark.parametrize(
    ("remedy", "then"),
    [("MODIFY_SCOPES", "TeslaModifyScopes"), ("RETRY_AUTHENTICATION", "AuthFlow")],
)
async def test_tesla_registration_failed_offers_two_remedies(
    kraken: Driver, remedy: str, then: str
) -> None:
    wizard, _ = await kraken.follow(
        await kraken.start("A-TESLA-FAILED"), TESLA, stop_at="TeslaRegistrationFailed"
    )
    step = wizard["currentStep"]
    assert step["modifyScopesSelected"] is None
    ids = {"wizardId": wizard["id"], "stepId": step["id"]}
    bad = await error_of(kraken.mutate("select", selectedOption="SHRUG", **ids))
    assert bad.code == "KT-CT-4375"
    chosen = await kraken.mutate("select", selectedOption=remedy, **ids)
    assert chosen["currentStep"]["__typename"] == then
    assert chosen["completedSteps"][-1]["modifyScopesSelected"] is (remedy == "MODIFY_SCOPES")
    done, seen = await kraken.follow(chosen, TESLA)
    assert done["isComplete"] and seen[:2] == [then, "TeslaSetupVirtualKey"]


async def test_test_charge_fails_without_the_virtual_key_and_returns_to_it(kraken: Driver) -> None:
    account = "A-TESLA-NOKEY"
    wizard, _ = await kraken.follow(await kraken.start(account), TESLA, stop_at="TestCharge")
    step = wizard["currentStep"]
    await kraken.mutate("test_charge", wizardId=wizard["id"], stepId=step["id"])
    await kraken.advance_clock(7 * 60)
    back = await kraken.read(wizard["id"])
    assert back["currentStep"]["__typename"] == "TeslaSetupVirtualKey"
    (device,) = await kraken.devices(account)
    assert device["status"]["current"] == "FAILED_ONBOARDING_TEST"
    reason = await kraken.gql(
        "query($a: String!) { devices(accountNumber: $a) { status { "
        "... on SmartFlexVehicleStatus { testDispatchFailureReason } } } }",
        {"a": account},
    )
    assert reason["devices"][0]["status"]["testDispatchFailureReason"] == "UNABLE_TO_COMMUNICATE"
    done, seen = await kraken.follow(back, TESLA)
    assert seen == ["TeslaSetupVirtualKey", "TestCharge", "WaitForTransition"]
    assert done["isComplete"]


@pytest.mark.parametrize(
    ("flavour", "retry"), [("eu", []), ("uk", ["Retry", "SmartFlexOnboardingDeviceRegistration"])]
)
async def test_failed_registration_is_retried_on_uk(kraken: Driver, retry: list[str]) -> None:
    wizard, seen = await run(kraken, ENODE_CAR, account="A-REG-RETRY")
    expected = [
        "AuthFlow",
        "SmartFlexOnboardingDeviceRegistration",
        *retry,
        "TestCharge",
        "WaitForTransition",
    ]
    assert seen[-len(expected) :] == expected
    assert wizard["isComplete"] and seen.count("Retry") == len(retry) // 2


@pytest.mark.parametrize("flavour", ["eu", "uk"])
async def test_device_registered_elsewhere_is_a_terminal_error_on_uk(
    kraken: Driver, flavour: str
) -> None:
    choices: dict[str, Chooser | str] = {
        "SelectDeviceType": label("Heat pump"),
        "SelectHeatPumpMake": label("Octopus Energy"),
        "SelectHeatPumpVariant": label("Cosy 6"),
    }
    wizard, seen = await run(kraken, choices, account="A-DEVICE-TAKEN")
    if flavour == "eu":
        assert wizard["isComplete"] and seen[-1] == "WaitForLiveIntegration"
        return
    step = wizard["currentStep"]
    assert step["__typename"] == "TerminalError" and seen[-1] == "TerminalError"
    assert step["errors"] == [
        {"errorCode": "KT-CT-4324", "description": "Device already registered error."}
    ]
    assert wizard["resumable"]["isResumable"] is False
    assert await kraken.devices("A-DEVICE-TAKEN") == []


async def test_trigger_test_charge_refusals_use_tc_reasons(kraken: Driver) -> None:
    nothing = await kraken.trigger_test_charge()
    assert nothing["errors"][0]["extensions"]["errorCode"] == "KT-CT-4362"
    assert nothing["errors"][0]["message"] == "Device not ready for test charge."
    leaf = {**TESLA, "SelectVehicleMake": make("Nissan"), "SelectVehicleVariant": variant("Leaf")}
    wizard, _ = await kraken.follow(await kraken.start(), leaf, stop_at="TestCharge")
    refused = (await kraken.trigger_test_charge())["errors"][0]
    assert refused["message"] == "Unable to trigger charge."
    assert refused["extensions"]["errorCode"] == "KT-CT-4355"
    assert refused["extensions"]["testChargeRefusalReasons"] == ["TC_DEVICE_AWAY_FROM_HOME"]
    step = (await kraken.read(wizard["id"]))["currentStep"]
    assert step["error"]["reasons"] == ["DEVICE_AWAY_FROM_HOME"] and not step["isStarted"]
    assert "errors" not in await kraken.trigger_test_charge()
    running = (await kraken.trigger_test_charge())["errors"][0]["extensions"]
    assert running["testChargeRefusalReasons"] == ["TC_DEVICE_ONBOARDING_IN_PROGRESS"]
    await kraken.advance_clock(10 * 60)
    assert (await kraken.read(wizard["id"]))["isComplete"]
    live = (await kraken.trigger_test_charge())["errors"][0]["extensions"]
    assert live["testChargeRefusalReasons"] == ["TC_DEVICE_LIVE"]


async def test_trigger_test_charge_waits_for_the_wizard_and_the_plug(
    kraken: Driver,
) -> None:
    wizard, _ = await kraken.follow(await kraken.start(), TESLA, stop_at="TeslaSetupVirtualKey")
    step = wizard["currentStep"]
    await kraken.http.post(
        "/sandbox/scenario", json={"accountNumber": "A-SANDBOX1", "vehicleReadyAfterSeconds": 60}
    )
    await kraken.mutate("virtual_key", wizardId=wizard["id"], stepId=step["id"])
    unplugged = (await kraken.trigger_test_charge())["errors"][0]["extensions"]
    assert unplugged["testChargeRefusalReasons"] == ["TC_DEVICE_DISCONNECTED"]
    await kraken.advance_clock(60)
    assert "errors" not in await kraken.trigger_test_charge()


async def test_deauthenticate_retires_a_device(kraken: Driver) -> None:
    await run(
        kraken, {"SelectDeviceType": label("Heat pump"), "SelectHeatPumpMake": label("Daikin")}
    )
    (device,) = await kraken.devices()
    query = (
        "mutation($d: String!) { deauthenticateFlexDevice(input: {deviceId: $d}) "
        "{ krakenflexDevice { krakenflexDeviceId deviceType provider } } }"
    )
    done = await kraken.gql(query, {"d": device["id"]})
    assert done["deauthenticateFlexDevice"]["krakenflexDevice"] == {
        "krakenflexDeviceId": device["id"],
        "deviceType": "HEAT_PUMPS",
        "provider": "DAIKIN",
    }
    assert (await kraken.devices())[0]["status"]["current"] == "RETIRED"
    again = await error_of(kraken.gql(query, {"d": device["id"]}))
    assert again.code == "KT-CT-4352"
    unknown = await error_of(kraken.gql(query, {"d": "nope"}))
    assert unknown.code == "KT-CT-4350"
    legacy = (
        'mutation { deauthenticateDevice(input: {accountNumber: "A-SANDBOX1", '
        "deviceType: HEAT_PUMPS}) { krakenflexDevice { krakenflexDeviceId } } }"
    )
    assert (await error_of(kraken.gql(legacy))).code == "KT-CT-4301"


async def test_deprecated_per_list_selects_answer_their_own_kind_only(kraken: Driver) -> None:
    wizard = await kraken.start()
    ids = {"wizardId": wizard["id"], "stepId": wizard["currentStep"]["id"]}
    query = (
        "mutation($i: {input}!) { {field}(input: $i) { wizard { currentStep { __typename } } } }"
    )
    wrong = query.replace("{input}", "SelectVehicleMakeInput").replace(
        "{field}", "selectVehicleMakeForSmartFlexOnboarding"
    )
    mismatch = await error_of(kraken.gql(wrong, {"i": {**ids, "selectedOption": "HEAT_PUMPS"}}))
    assert mismatch.code == "KT-CT-4378"
    right = query.replace("{input}", "SelectDeviceTypeInput").replace(
        "{field}", "selectDeviceTypeForSmartFlexOnboarding"
    )
    moved = await kraken.gql(right, {"i": {**ids, "selectedOption": "HEAT_PUMPS"}})
    current = moved["selectDeviceTypeForSmartFlexOnboarding"]["wizard"]["currentStep"]
    assert current["__typename"] == "SelectHeatPumpMake"


async def test_boost_codes_follow_the_seed(kraken: Driver) -> None:
    await run(
        kraken, {"SelectDeviceType": label("Heat pump"), "SelectHeatPumpMake": label("Daikin")}
    )
    await kraken.follow(await kraken.start(), TESLA, stop_at="TestCharge")
    by_type = {d["deviceType"]: d["id"] for d in await kraken.devices()}
    boost = (
        "mutation($d: String!, $a: UpdateBoostChargeAction!) "
        "{ updateBoostCharge(input: {deviceId: $d, action: $a}) { id } }"
    )
    heat_pump = await error_of(kraken.gql(boost, {"d": by_type["HEAT_PUMPS"], "a": "BOOST"}))
    assert heat_pump.code == "KT-CT-4356"
    not_live = await error_of(kraken.gql(boost, {"d": by_type["ELECTRIC_VEHICLES"], "a": "BOOST"}))
    assert (not_live.code, not_live.errors[0]["message"]) == (
        "KT-CT-4357",
        "Unable to trigger boost charge.",
    )
    assert not_live.extensions["boostChargeRefusalReasons"] == ["BC_DEVICE_NOT_YET_LIVE"]
    cancel = await error_of(kraken.gql(boost, {"d": by_type["ELECTRIC_VEHICLES"], "a": "CANCEL"}))
    assert cancel.code == "KT-CT-4354"
