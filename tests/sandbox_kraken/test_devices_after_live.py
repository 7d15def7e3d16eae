"""Devices after LIVE: every device mutation of the seed with its codes and refusal reasons,
and what persists and shows through `devices` (issue 11, the sandbox part)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from graphql import build_schema, parse, validate

from sandbox.kraken import compat_names, removal_dates, schema_sdl

from .gql import DEVICE_FIELDS, HEAT_PUMP_FIELDS, Chooser, Driver, label
from .test_more_journeys import TESLA, inverter, run, session_device

DAIKIN: dict[str, Chooser | str] = {
    "SelectDeviceType": label("Heat pump"),
    "SelectHeatPumpMake": label("Daikin"),
}
COSY: dict[str, Chooser | str] = {**DAIKIN, "SelectHeatPumpMake": label("Octopus Energy")}
COSY["SelectHeatPumpVariant"] = label("Cosy 6")
BATTERY: dict[str, Chooser | str] = {
    "SelectDeviceType": label("Home battery"),
    "SelectInverterMake": inverter("GivEnergy"),
    "SelectInverterSystemType": label("Hybrid inverter (solar panels and battery on one inverter)"),
    "SelectSessionDevice": session_device("Giv-Bat (loft)"),
}
SOLAR: dict[str, Chooser | str] = {
    "SelectDeviceType": label("Solar inverter"),
    "SelectInverterMake": inverter("SolarEdge"),
    "SelectInverterSystemType": label("Solar inverter without a battery"),
}
WEEK = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


async def live(kraken: Driver, choices: dict[str, Chooser | str]) -> list[dict[str, Any]]:
    """Onboard a device to LIVE; the devices it registered, newest last."""
    before = {d["id"] for d in await kraken.devices()}
    wizard, _ = await run(kraken, choices)
    assert wizard["isComplete"]
    return [d for d in await kraken.devices() if d["id"] not in before]


async def live_car(kraken: Driver) -> str:
    (car,) = await live(kraken, TESLA)
    return str(car["id"])


def error(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The first error's code and its extensions (the call must have failed)."""
    assert body.get("errors"), body
    extensions: dict[str, Any] = body["errors"][0]["extensions"]
    return extensions["errorCode"], extensions


def refused_paths(body: dict[str, Any]) -> dict[tuple[str, ...], str]:
    code, extensions = error(body)
    assert code == "KT-CT-4321" and body["errors"][0]["message"] == "Serializer validation error."
    return {tuple(e["inputPath"]): e["message"] for e in extensions["validationErrors"]}


async def smart_control(kraken: Driver, device_id: str, action: str) -> dict[str, Any]:
    return await kraken.device_mutation(
        "updateDeviceSmartControl", "SmartControlInput!", {"deviceId": device_id, "action": action}
    )


async def boost(kraken: Driver, device_id: str, action: str = "BOOST") -> dict[str, Any]:
    return await kraken.device_mutation(
        "updateBoostCharge", "UpdateBoostChargeInput", {"deviceId": device_id, "action": action}
    )


async def preferences(kraken: Driver, device_id: str, **given: Any) -> dict[str, Any]:
    return await kraken.device_mutation(
        "setDevicePreferences",
        "SmartFlexDevicePreferencesInput!",
        {"deviceId": device_id, "mode": "CHARGE", "unit": "PERCENTAGE", **given},
    )


# --- what `devices` shows -------------------------------------------------------------------------


async def test_a_live_car_shows_status_charge_preferences_and_no_alerts(kraken: Driver) -> None:
    car = await kraken.device(await live_car(kraken))
    assert car["status"] == {
        "current": "LIVE",
        "currentState": "SMART_CONTROL_CAPABLE",
        "isSuspended": False,
        "stateOfCharge": 62,
        "stateOfChargeLimit": 100,
        "testDispatchFailureReason": None,
    }
    assert car["alerts"] == [] and car["reAuthenticationState"] is None
    prefs = car["preferences"]
    assert (prefs["mode"], prefs["unit"], prefs["targetType"]) == (
        "CHARGE",
        "PERCENTAGE",
        "ABSOLUTE_STATE_OF_CHARGE",
    )
    assert (prefs["gridExport"], prefs["isChargingDurationCapped"]) == (
        "NOT_APPLICABLE",
        "DISABLED",
    )
    assert [s["dayOfWeek"] for s in prefs["schedules"]] == list(WEEK)
    assert prefs["schedules"][0] == {
        "dayOfWeek": "MONDAY",
        "time": "07:00:00",
        "max": 80.0,
        "min": None,
    }
    assert prefs["schedules"][5]["time"] == "09:00:00"
    (bounds,) = car["preferenceSetting"]["scheduleSettings"]
    assert bounds == {
        "min": 20,
        "max": 100,
        "step": 5,
        "timeFrom": "04:00:00",
        "timeTo": "11:00:00",
        "timeStep": 30,
    }
    assert car["chargingPreferences"] == {
        "weekdayTargetSoc": 80,
        "weekdayTargetTime": "07:00:00",
        "weekendTargetSoc": 80,
        "weekendTargetTime": "09:00:00",
    }


async def test_each_kind_of_device_has_its_own_preferences(kraken: Driver) -> None:
    (heat_pump,) = await live(kraken, DAIKIN)
    (battery,) = await live(kraken, BATTERY)
    (solar,) = await live(kraken, SOLAR)
    hp = await kraken.device(heat_pump["id"])
    assert (hp["preferences"]["mode"], hp["preferences"]["unit"]) == ("HEAT", "CELSIUS")
    assert hp["preferences"]["schedules"][0]["min"] == 20.0
    assert hp["status"]["currentState"] == "SMART_CONTROL_CAPABLE"
    bat = (await kraken.device(battery["id"]))["preferences"]
    assert (bat["gridExport"], bat["isChargingDurationCapped"]) == ("ENABLED", "DISABLED")
    inv = await kraken.device(solar["id"])
    assert inv["preferences"]["schedules"] == [] and inv["preferenceSetting"] is None
    assert inv["preferences"]["gridExport"] == "ENABLED"


# --- updateDeviceSmartControl ---------------------------------------------------------------------


async def test_suspend_and_resume_persist_and_repeat_harmlessly(kraken: Driver) -> None:
    car = await live_car(kraken)
    for _ in range(2):  # asking again for the state it is in changes nothing
        done = await smart_control(kraken, car, "SUSPEND")
        assert done["data"]["updateDeviceSmartControl"]["status"]["isSuspended"] is True
    shown = (await kraken.device(car))["status"]
    assert (shown["isSuspended"], shown["currentState"]) == (True, "SMART_CONTROL_OFF")
    await smart_control(kraken, car, "UNSUSPEND")
    shown = (await kraken.device(car))["status"]
    assert (shown["isSuspended"], shown["currentState"]) == (False, "SMART_CONTROL_CAPABLE")


async def test_smart_control_codes(kraken: Driver) -> None:
    assert error(await smart_control(kraken, "nope", "SUSPEND"))[0] == "KT-CT-4313"
    await kraken.follow(await kraken.start(), TESLA, stop_at="TestCharge")
    (onboarding,) = await kraken.devices()
    assert error(await smart_control(kraken, onboarding["id"], "SUSPEND"))[0] == "KT-CT-4358"
    assert error(await smart_control(kraken, onboarding["id"], "UNSUSPEND"))[0] == "KT-CT-4359"
    car = await live_car(kraken)
    await kraken.hook(car, "expire-authentication")
    assert error(await smart_control(kraken, car, "SUSPEND"))[0] == "KT-CT-4314"
    body = await smart_control(kraken, "nope", "SUSPEND")
    assert body["errors"][0]["message"] == "Could not find KrakenFlex device."


async def test_a_heat_pumps_zones_pause_together_and_go_with_their_controller(
    kraken: Driver,
) -> None:
    zone_1, zone_2 = await live(kraken, COSY)
    assert (zone_1["name"], zone_2["name"]) == (
        "Octopus Energy heat pump (zone 1)",
        "Octopus Energy heat pump (zone 2)",
    )
    await smart_control(kraken, zone_2["id"], "SUSPEND")
    assert [(await kraken.device(z["id"]))["status"]["isSuspended"] for z in (zone_1, zone_2)] == [
        True,
        True,
    ]
    await smart_control(kraken, zone_1["id"], "UNSUSPEND")
    assert (await kraken.device(zone_2["id"]))["status"]["isSuspended"] is False
    await kraken.gql(
        "mutation($d: String!) { deauthenticateFlexDevice(input: {deviceId: $d}) "
        "{ krakenflexDevice { krakenflexDeviceId } } }",
        {"d": zone_1["id"]},
    )
    assert {d["status"]["current"] for d in await kraken.devices()} == {"RETIRED"}
    code, _ = error(await smart_control(kraken, zone_2["id"], "SUSPEND"))
    assert code == "KT-CT-4387"


# --- updateBoostCharge --------------------------------------------------------------------------


async def test_boost_then_cancel_shows_through_devices(kraken: Driver) -> None:
    car = await live_car(kraken)
    started = await boost(kraken, car)
    assert started["data"]["updateBoostCharge"]["status"]["currentState"] == "BOOSTING"
    assert (await kraken.device(car))["status"]["currentState"] == "BOOSTING"
    again = error(await boost(kraken, car))[1]
    assert again["boostChargeRefusalReasons"] == ["BC_BOOST_CHARGE_IN_PROGRESS"]
    await boost(kraken, car, "CANCEL")
    assert (await kraken.device(car))["status"]["currentState"] == "SMART_CONTROL_CAPABLE"
    assert error(await boost(kraken, car, "CANCEL"))[0] == "KT-CT-4354"


@pytest.mark.parametrize(
    ("hooks", "reasons"),
    [
        (["suspend"], ["BC_DEVICE_SUSPENDED"]),
        (["unplug"], ["BC_DEVICE_DISCONNECTED"]),
        (["away"], ["BC_DEVICE_NOT_AT_HOME"]),
        (["unplug", "away"], ["BC_DEVICE_DISCONNECTED", "BC_DEVICE_NOT_AT_HOME"]),
    ],
)
async def test_boost_refusal_reasons(kraken: Driver, hooks: list[str], reasons: list[str]) -> None:
    car = await live_car(kraken)
    for name in hooks:
        await kraken.hook(car, name)
    body = await boost(kraken, car)
    code, extensions = error(body)
    assert (code, body["errors"][0]["message"]) == ("KT-CT-4357", "Unable to trigger boost charge.")
    assert extensions["boostChargeRefusalReasons"] == reasons


async def test_boost_of_a_retired_car_or_one_kraken_cannot_reach(kraken: Driver) -> None:
    car = await live_car(kraken)
    await kraken.hook(car, "expire-authentication")
    assert error(await boost(kraken, car))[0] == "KT-CT-4356"
    retire = (
        "mutation($d: String!) { deauthenticateFlexDevice(input: {deviceId: $d}) "
        "{ krakenflexDevice { krakenflexDeviceId } } }"
    )
    other = await live_car(kraken)
    await kraken.gql(retire, {"d": other})
    shown = await kraken.device(other)
    assert shown["status"]["current"] == "RETIRED" and shown["reAuthenticationState"] is None
    assert error(await boost(kraken, other))[1]["boostChargeRefusalReasons"] == [
        "BC_DEVICE_RETIRED"
    ]


# --- setDevicePreferences / setVehicleChargePreferences ------------------------------------------


async def test_set_device_preferences_persists_weekday_and_weekend(kraken: Driver) -> None:
    car = await live_car(kraken)
    weekdays = [{"dayOfWeek": d, "time": "06:30", "max": 90} for d in WEEK[:5]]
    weekend = [{"dayOfWeek": d, "time": "10:00", "max": "70"} for d in WEEK[5:]]
    done = await preferences(kraken, car, schedules=weekdays + weekend)
    assert "errors" not in done
    shown = await kraken.device(car)
    assert shown["preferences"]["schedules"][0]["time"] == "06:30:00"
    assert [s["max"] for s in shown["preferences"]["schedules"]] == [90.0] * 5 + [70.0] * 2
    assert shown["chargingPreferences"]["weekendTargetTime"] == "10:00:00"
    # Only the days given change.
    await preferences(kraken, car, schedules=[{"dayOfWeek": "SUNDAY", "time": "11:00", "max": 100}])
    schedules = (await kraken.device(car))["preferences"]["schedules"]
    assert [s["max"] for s in schedules] == [90.0] * 5 + [70.0, 100.0]


async def test_set_device_preferences_names_every_refused_value(kraken: Driver) -> None:
    car = await live_car(kraken)
    body = await preferences(
        kraken,
        car,
        mode="HEAT",
        unit="CELSIUS",
        schedules=[
            {"dayOfWeek": "MONDAY", "time": "12:00", "max": 15},
            {"dayOfWeek": "MONDAY", "time": "07:10", "max": 82},
            {"dayOfWeek": "TUESDAY", "time": "late", "max": "lots"},
        ],
    )
    refused = refused_paths(body)
    assert set(refused) == {
        ("input", "mode"),
        ("input", "unit"),
        ("input", "schedules", "0", "time"),
        ("input", "schedules", "0", "max"),
        ("input", "schedules", "1", "dayOfWeek"),
        ("input", "schedules", "1", "time"),
        ("input", "schedules", "1", "max"),
        ("input", "schedules", "2", "time"),
        ("input", "schedules", "2", "max"),
    }
    assert "20-100 percentage in steps of 5" in refused[("input", "schedules", "0", "max")]
    assert "04:00-11:00" in refused[("input", "schedules", "0", "time")]
    # Nothing was applied.
    assert (await kraken.device(car))["preferences"]["schedules"][0]["max"] == 80.0


async def test_set_device_preferences_codes(kraken: Driver) -> None:
    assert error(await preferences(kraken, "nope", schedules=[]))[0] == "KT-CT-1111"
    (solar,) = await live(kraken, SOLAR)
    one_day = [{"dayOfWeek": "MONDAY", "time": "07:00", "max": 80}]
    assert error(await preferences(kraken, solar["id"], schedules=one_day))[0] == "KT-CT-4374"
    car = await live_car(kraken)
    await kraken.hook(car, "expire-authentication")
    body = await preferences(kraken, car, schedules=one_day)
    assert (error(body)[0], body["errors"][0]["message"]) == (
        "KT-CT-4314",
        "Unable to get provider details.",
    )
    other = await live_car(kraken)
    await kraken.gql(
        "mutation($d: String!) { deauthenticateFlexDevice(input: {deviceId: $d}) "
        "{ krakenflexDevice { krakenflexDeviceId } } }",
        {"d": other},
    )
    assert error(await preferences(kraken, other, schedules=one_day))[0] == "KT-CT-4374"


async def test_heat_pump_preferences_take_a_heating_set_point(kraken: Driver) -> None:
    (heat_pump,) = await live(kraken, DAIKIN)
    schedule = {"dayOfWeek": "MONDAY", "time": "05:30", "max": 24}
    body = await preferences(
        kraken, heat_pump["id"], mode="HEAT", unit="CELSIUS", schedules=[schedule]
    )
    assert set(refused_paths(body)) == {("input", "schedules", "0", "min")}
    await preferences(
        kraken,
        heat_pump["id"],
        mode="HEAT",
        unit="CELSIUS",
        schedules=[{**schedule, "min": 20.5}],
    )
    monday = (await kraken.device(heat_pump["id"]))["preferences"]["schedules"][0]
    assert (monday["time"], monday["min"], monday["max"]) == ("05:30:00", 20.5, 24.0)


async def test_legacy_vehicle_charge_preferences(kraken: Driver) -> None:
    legacy = (
        "mutation($i: VehicleChargingPreferencesInput) { setVehicleChargePreferences(input: $i) "
        "{ krakenflexDevice { krakenflexDeviceId provider } } }"
    )
    none_yet = await kraken.raw(legacy, {"i": {"accountNumber": "A-SANDBOX1"}})
    assert error(none_yet)[0] == "KT-CT-4301"
    car = await live_car(kraken)
    given = {"accountNumber": "A-SANDBOX1", "weekdayTargetSoc": 85, "weekendTargetTime": "10:30"}
    done = await kraken.gql(legacy, {"i": given})
    assert done["setVehicleChargePreferences"]["krakenflexDevice"] == {
        "krakenflexDeviceId": car,
        "provider": "TESLA",
    }
    shown = (await kraken.device(car))["chargingPreferences"]
    assert (shown["weekdayTargetSoc"], shown["weekdayTargetTime"]) == (85, "07:00:00")
    assert (shown["weekendTargetSoc"], shown["weekendTargetTime"]) == (80, "10:30:00")
    bad = await kraken.raw(legacy, {"i": {**given, "weekdayTargetSoc": 150}})
    assert set(refused_paths(bad)) == {("input", "weekdayTargetSoc")}
    await kraken.hook(car, "expire-authentication")
    assert error(await kraken.raw(legacy, {"i": given}))[0] == "KT-CT-4353"


# --- updateIsChargingDurationCapped / updateDeviceGridExport --------------------------------------


async def test_charging_duration_cap(kraken: Driver) -> None:
    def cap(device_id: str, enabled: bool = True) -> Any:
        return kraken.device_mutation(
            "updateIsChargingDurationCapped",
            "UpdateIsChargingDurationCappedInput",
            {"deviceId": device_id, "enabled": enabled},
        )

    car = await live_car(kraken)
    await cap(car)
    assert (await kraken.device(car))["preferences"]["isChargingDurationCapped"] == "ENABLED"
    await cap(car, enabled=False)
    assert (await kraken.device(car))["preferences"]["isChargingDurationCapped"] == "DISABLED"
    (heat_pump,) = await live(kraken, DAIKIN)
    assert error(await cap(heat_pump["id"]))[0] == "KT-CT-4390"
    await kraken.hook(car, "expire-authentication")
    body = await cap(car)
    assert error(body)[0] == "KT-CT-4389"
    assert "isChargingDurationCapped setting" in body["errors"][0]["message"]
    assert error(await cap("nope"))[0] == "KT-CT-1111"


async def test_grid_export(kraken: Driver) -> None:
    def export(device_id: str, enabled: bool) -> Any:
        return kraken.device_mutation(
            "updateDeviceGridExport",
            "UpdateDeviceGridExportInput",
            {"deviceId": device_id, "enabled": enabled},
        )

    (battery,) = await live(kraken, BATTERY)
    await export(battery["id"], False)
    assert (await kraken.device(battery["id"]))["preferences"]["gridExport"] == "DISABLED"
    car = await live_car(kraken)
    assert error(await export(car, True))[0] == "KT-CT-4386"


# --- heat pumps ----------------------------------------------------------------------------------


async def test_heat_pump_controls(kraken: Driver) -> None:
    zone_1, zone_2 = await live(kraken, COSY)

    async def control(field: str, input_type: str, **given: Any) -> dict[str, Any]:
        return await kraken.device_mutation(field, input_type, given, HEAT_PUMP_FIELDS)

    def device_of(body: dict[str, Any], field: str) -> dict[str, Any]:
        shown: dict[str, Any] = body["data"][field]["heatPumpDevice"]
        return shown

    room = ("setRoomTemperature", "RoomTemperatureInput")
    warmer = device_of(await control(*room, deviceId=zone_1["id"], temperature=21.5), room[0])
    assert (warmer["zone"], warmer["roomTemperature"]) == ("ZONE_1", 21.5)
    assert (warmer["minRoomTemperature"], warmer["maxRoomTemperature"]) == (7.0, 30.0)
    for wrong in (35, 21.3):
        body = await control(*room, deviceId=zone_1["id"], temperature=wrong)
        code, extensions = error(body)
        assert (code, body["errors"][0]["message"]) == ("KT-CT-4329", "Invalid data.")
        assert extensions["validationErrors"][0]["inputPath"] == ["input", "temperature"]
    assert error(await control(*room, deviceId="nope", temperature=20))[0] == "KT-CT-7223"
    climate = ("setClimateControlState", "ClimateControlStateInput")
    off = device_of(await control(*climate, deviceId=zone_1["id"], enabled=False), climate[0])
    assert off["climateControlEnabled"] is False
    assert error(await control(*room, deviceId=zone_1["id"], temperature=20))[0] == "KT-CT-4346"
    water = ("setHotWaterState", "HotWaterStateInput")
    assert device_of(await control(*water, deviceId=zone_1["id"], enabled=False), water[0])
    # One tank: zone 2 shows it too, and still heats.
    zone_2_now = device_of(await control(*room, deviceId=zone_2["id"], temperature=19), room[0])
    assert zone_2_now["hotWaterEnabled"] is False and zone_2_now["climateControlEnabled"] is True
    assert error(await control(*climate, deviceId="nope", enabled=True))[0] == "KT-CT-4301"
    car = await live_car(kraken)
    assert error(await control(*climate, deviceId=car, enabled=True))[0] == "KT-CT-4337"
    assert error(await control(*water, deviceId=car, enabled=True))[0] == "KT-CT-4336"
    assert error(await control(*room, deviceId=car, temperature=20))[0] == "KT-CT-4346"


# --- both flavours -------------------------------------------------------------------------------

DOCUMENTS = {
    "Devices": f"query($a: String!) {{ devices(accountNumber: $a) {{ {DEVICE_FIELDS} }} }}",
    **{
        field: f"mutation($i: {input_type}) {{ {field}(input: $i) {{ {DEVICE_FIELDS} }} }}"
        for field, input_type in (
            ("updateDeviceSmartControl", "SmartControlInput!"),
            ("updateBoostCharge", "UpdateBoostChargeInput"),
            ("setDevicePreferences", "SmartFlexDevicePreferencesInput!"),
            ("updateIsChargingDurationCapped", "UpdateIsChargingDurationCappedInput"),
            ("updateDeviceGridExport", "UpdateDeviceGridExportInput"),
        )
    },
    **{
        field: f"mutation($i: {input_type}) {{ {field}(input: $i) {{ {HEAT_PUMP_FIELDS} }} }}"
        for field, input_type in (
            ("setClimateControlState", "ClimateControlStateInput"),
            ("setHotWaterState", "HotWaterStateInput"),
            ("setRoomTemperature", "RoomTemperatureInput"),
        )
    },
    "setVehicleChargePreferences": "mutation($i: VehicleChargingPreferencesInput) "
    "{ setVehicleChargePreferences(input: $i) { krakenflexDevice { krakenflexDeviceId } } }",
}
LEGACY_REMOVAL = dt.date(2026, 1, 26)


@pytest.mark.parametrize(("flavour", "removed"), [("eu", ()), ("eu", compat_names()), ("uk", ())])
def test_the_device_documents_validate_on_every_flavour(
    flavour: str, removed: tuple[str, ...]
) -> None:
    schema = build_schema(schema_sdl(flavour, removed))
    for name, document in DOCUMENTS.items():
        assert validate(schema, parse(document)) == [], name


@pytest.mark.parametrize("flavour", ["eu", "uk"])
def test_the_legacy_vehicle_preferences_go_on_their_removal_date(flavour: str) -> None:
    assert removal_dates(flavour)["Mutation.setVehicleChargePreferences"] == LEGACY_REMOVAL
    later = build_schema(schema_sdl(flavour, date=LEGACY_REMOVAL))
    legacy = validate(later, parse(DOCUMENTS["setVehicleChargePreferences"]))
    messages = " ".join(e.message for e in legacy)  # the field and its input type are gone
    assert "'setVehicleChargePreferences'" in messages
    assert "'VehicleChargingPreferencesInput'" in messages
    assert validate(later, parse(DOCUMENTS["setDevicePreferences"])) == []
