"""The car on the sandbox clock (boost until full, smart charging by the ready-by time) and the
`/sandbox/devices/...` hooks: alerts, expired authentication, outside suspension, unplugging,
leaving home."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from .gql import Driver, make, variant
from .test_devices_after_live import COSY, boost, error, live, live_car, smart_control
from .test_more_journeys import TESLA, run

HOUR = 3600.0


async def later(kraken: Driver, seconds: float) -> None:
    """Move the sandbox clock on, and sign in again (a token lives an hour of it)."""
    await kraken.advance_clock(seconds)
    await kraken.login()


async def advance_to(kraken: Driver, weekday: int, hour: int, minute: int = 0) -> None:
    """Move the sandbox clock to the next such UTC time (weekday: Monday is 0)."""
    now = dt.datetime.fromtimestamp(await kraken.now(), dt.UTC)
    days = (weekday - now.weekday()) % 7
    when = (now + dt.timedelta(days=days)).replace(hour=hour, minute=minute, second=0)
    if when <= now:
        when += dt.timedelta(days=7)
    await later(kraken, (when - now).total_seconds())


async def status(kraken: Driver, device_id: str) -> tuple[str, int]:
    shown = (await kraken.device(device_id))["status"]
    return shown["currentState"], shown["stateOfCharge"]


async def test_a_boost_charges_until_full_ends_itself_then_is_refused(kraken: Driver) -> None:
    car = await live_car(kraken)
    await kraken.hook(car, "battery", stateOfCharge=90)
    await boost(kraken, car)
    await later(kraken, 0.25 * HOUR)  # 20 points an hour
    assert await status(kraken, car) == ("BOOSTING", 95)
    await later(kraken, 0.5 * HOUR)
    assert await status(kraken, car) == ("SMART_CONTROL_CAPABLE", 100)
    body = await boost(kraken, car)
    assert error(body)[1]["boostChargeRefusalReasons"] == ["BC_DEVICE_FULLY_CHARGED"]
    assert error(await boost(kraken, car, "CANCEL"))[0] == "KT-CT-4354"


async def test_a_boost_stops_at_the_cars_own_limit(kraken: Driver) -> None:
    car = await live_car(kraken)
    await kraken.hook(car, "battery", stateOfCharge=70, stateOfChargeLimit=80)
    await boost(kraken, car)
    await later(kraken, 2 * HOUR)
    shown = (await kraken.device(car))["status"]
    assert (shown["stateOfCharge"], shown["stateOfChargeLimit"]) == (80, 80)
    assert error(await boost(kraken, car))[1]["boostChargeRefusalReasons"] == [
        "BC_DEVICE_FULLY_CHARGED"
    ]


async def test_unplugging_stops_a_boost_and_then_boosting_is_refused(kraken: Driver) -> None:
    car = await live_car(kraken)
    await kraken.hook(car, "battery", stateOfCharge=50)
    await boost(kraken, car)
    await later(kraken, 0.5 * HOUR)
    seen = await kraken.hook(car, "unplug")
    assert (seen["pluggedIn"], seen["boosting"], seen["stateOfCharge"]) == (False, False, 60)
    await later(kraken, HOUR)
    assert await status(kraken, car) == ("SMART_CONTROL_CAPABLE", 60)
    assert error(await boost(kraken, car))[1]["boostChargeRefusalReasons"] == [
        "BC_DEVICE_DISCONNECTED"
    ]
    await kraken.hook(car, "plug")
    assert "errors" not in await boost(kraken, car)


async def test_smart_charging_fills_the_car_just_in_time_for_the_ready_by_time(
    kraken: Driver,
) -> None:
    car = await live_car(kraken)
    await kraken.hook(car, "battery", stateOfCharge=40)
    # Weekdays: 80 % by 07:00; 40 points at 20 an hour start at 05:00.
    await advance_to(kraken, weekday=2, hour=4, minute=30)
    assert await status(kraken, car) == ("SMART_CONTROL_CAPABLE", 40)
    await later(kraken, 1.5 * HOUR)  # 06:00
    assert await status(kraken, car) == ("SMART_CONTROL_IN_PROGRESS", 60)
    await later(kraken, 2 * HOUR)  # 08:00
    assert await status(kraken, car) == ("SMART_CONTROL_CAPABLE", 80)


async def test_no_smart_charging_while_suspended_or_away(kraken: Driver) -> None:
    car = await live_car(kraken)
    await kraken.hook(car, "battery", stateOfCharge=40)
    await smart_control(kraken, car, "SUSPEND")
    await advance_to(kraken, weekday=3, hour=6)
    assert await status(kraken, car) == ("SMART_CONTROL_OFF", 40)
    await smart_control(kraken, car, "UNSUSPEND")
    await kraken.hook(car, "away")
    await advance_to(kraken, weekday=4, hour=8)
    assert await status(kraken, car) == ("SMART_CONTROL_CAPABLE", 40)
    assert error(await boost(kraken, car))[1]["boostChargeRefusalReasons"] == [
        "BC_DEVICE_NOT_AT_HOME"
    ]
    await kraken.hook(car, "home")
    assert "errors" not in await boost(kraken, car)


async def test_a_later_ready_by_time_moves_the_charging(kraken: Driver) -> None:
    car = await live_car(kraken)
    await advance_to(kraken, weekday=3, hour=7)  # Thursday; Wednesday's 80 % is done
    await kraken.hook(car, "battery", stateOfCharge=60)
    schedule = {"dayOfWeek": "THURSDAY", "time": "10:00", "max": 100}
    await kraken.device_mutation(
        "setDevicePreferences",
        "SmartFlexDevicePreferencesInput!",
        {"deviceId": car, "mode": "CHARGE", "unit": "PERCENTAGE", "schedules": [schedule]},
    )
    assert await status(kraken, car) == ("SMART_CONTROL_CAPABLE", 60)  # starts at 08:00
    await later(kraken, 1.5 * HOUR)
    assert await status(kraken, car) == ("SMART_CONTROL_IN_PROGRESS", 70)
    await later(kraken, 2 * HOUR)
    assert await status(kraken, car) == ("SMART_CONTROL_CAPABLE", 100)


# --- hooks -------------------------------------------------------------------------------------


async def test_published_alerts_show_latest_first_and_can_be_cleared(kraken: Driver) -> None:
    car = await live_car(kraken)
    await kraken.hook(car, "alerts", message="Your car did not charge last night.")
    await later(kraken, 60)
    seen = await kraken.hook(car, "alerts", message="Charging is paused: the car is full.")
    assert seen["alerts"][0] == "Charging is paused: the car is full."
    alerts = (await kraken.device(car))["alerts"]
    assert [a["message"] for a in alerts] == [
        "Charging is paused: the car is full.",
        "Your car did not charge last night.",
    ]
    first, second = (dt.datetime.fromisoformat(a["publishedAt"]) for a in alerts)
    assert first - second == dt.timedelta(seconds=60) and first.tzinfo is not None
    await kraken.hook(car, "alerts", method="DELETE")
    assert (await kraken.device(car))["alerts"] == []


async def test_expired_authentication_asks_for_re_authentication_until_it_is_done(
    kraken: Driver,
) -> None:
    car = await live_car(kraken)
    await boost(kraken, car)
    await kraken.hook(car, "expire-authentication")
    shown = await kraken.device(car)
    assert shown["reAuthenticationState"] == {"isEligible": True}
    assert shown["status"]["currentState"] == "AUTHENTICATION_FAILED"  # and the boost stopped
    assert "sign in to Tesla again" in shown["alerts"][0]["message"]
    wizard = await kraken.mutate("reauth", accountNumber="A-SANDBOX1", deviceId=car, propertyId=1)
    wizard, seen = await kraken.follow(wizard, {})
    assert wizard["isComplete"] and seen == ["AuthFlow", "WaitForTransition"]
    shown = await kraken.device(car)
    assert shown["reAuthenticationState"] is None and shown["alerts"] == []
    assert shown["status"]["currentState"] == "SMART_CONTROL_CAPABLE"


async def test_a_device_that_cannot_re_authenticate_says_so(kraken: Driver) -> None:
    jedlix = {
        **TESLA,
        "SelectVehicleMake": make("Renault"),
        "SelectVehicleVariant": variant("Zoe"),
    }
    (car,) = await live(kraken, jedlix)
    await kraken.hook(car["id"], "expire-authentication")
    assert (await kraken.device(car["id"]))["reAuthenticationState"] == {"isEligible": False}


async def test_suspension_from_outside_shows_and_covers_every_zone(kraken: Driver) -> None:
    car = await live_car(kraken)
    await boost(kraken, car)
    await kraken.hook(car, "suspend")
    shown = (await kraken.device(car))["status"]
    assert (shown["isSuspended"], shown["currentState"]) == (True, "SMART_CONTROL_OFF")
    await kraken.hook(car, "unsuspend")
    assert (await kraken.device(car))["status"]["currentState"] == "SMART_CONTROL_CAPABLE"
    zone_1, _ = await live(kraken, COSY)
    await kraken.hook("latest", "suspend")  # the newest device: zone 2
    assert (await kraken.device(zone_1["id"]))["status"]["isSuspended"] is True


async def test_an_unplugged_or_absent_car_cannot_start_its_test_charge(kraken: Driver) -> None:
    wizard, _ = await kraken.follow(await kraken.start(), TESLA, stop_at="TestCharge")
    seen = await kraken.hook("latest", "unplug")
    assert (await kraken.read(wizard["id"]))["currentStep"]["isReady"] is False
    refused = error(await kraken.trigger_test_charge())[1]
    assert refused["testChargeRefusalReasons"] == ["TC_DEVICE_DISCONNECTED"]
    await kraken.hook(seen["id"], "plug")
    await kraken.hook(seen["id"], "away")
    wizard = await kraken.read(wizard["id"])
    step = wizard["currentStep"]
    wizard = await kraken.mutate("test_charge", wizardId=wizard["id"], stepId=step["id"])
    assert wizard["currentStep"]["error"]["reasons"] == ["DEVICE_AWAY_FROM_HOME"]
    await kraken.hook(seen["id"], "home")
    wizard, _ = await kraken.follow(wizard, TESLA)
    assert wizard["isComplete"]


async def test_hooks_list_devices_and_refuse_bad_input(
    kraken: Driver, http: httpx.AsyncClient
) -> None:
    assert (await http.post("/sandbox/devices/latest/unplug")).status_code == 404
    car = await live_car(kraken)
    listed = (await http.get("/sandbox/devices")).json()["devices"]
    assert [(d["id"], d["pluggedIn"], d["stateOfCharge"]) for d in listed] == [(car, True, 62)]
    for path, body, code in (
        (f"/sandbox/devices/{car}/fly", {}, 404),
        ("/sandbox/devices/nope/unplug", {}, 404),
        (f"/sandbox/devices/{car}/alerts", {"message": " "}, 400),
        (f"/sandbox/devices/{car}/battery", {"stateOfCharge": 120}, 400),
        (f"/sandbox/devices/{car}/battery", {"stateOfCharge": True}, 400),
    ):
        assert (await http.post(path, json=body)).status_code == code, path
    assert (await http.delete(f"/sandbox/devices/{car}/unplug")).status_code == 405
    assert (await http.post("/sandbox/reset")).json() == {"status": "reset"}
    assert (await http.get("/sandbox/devices")).json() == {"devices": []}


@pytest.mark.parametrize("flavour", ["eu", "uk"])
async def test_both_flavours_serve_the_device_mutations(kraken: Driver, flavour: str) -> None:
    wizard, _ = await run(kraken, TESLA)
    assert wizard["isComplete"]
    (car,) = await kraken.devices()
    await kraken.hook(car["id"], "battery", stateOfCharge=99)
    await boost(kraken, car["id"])
    await later(kraken, HOUR)
    assert error(await boost(kraken, car["id"]))[1]["boostChargeRefusalReasons"] == [
        "BC_DEVICE_FULLY_CHARGED"
    ]
