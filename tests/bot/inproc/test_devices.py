"""After LIVE, through the real bot and the sandbox: /devices, boost until full, pause and
resume — what the customer taps, and what Kraken recorded."""

from __future__ import annotations

from harness.deployment import KRAKEN_BASE, InProcessDeployment
from tests.bot.inproc.conftest import USER


async def newest(d: InProcessDeployment) -> str:
    return (await d.sim.transcript(USER))[-1].text


async def car_registered(d: InProcessDeployment) -> None:
    """A Renault Zoe without a smart charger, up to Kraken registering it (ONBOARDING)."""
    await d.user_taps(USER, "Electric car or charger")
    await d.user_says(USER, "renault")
    await d.user_taps(USER, "Renault")
    await d.user_says(USER, "zoe")
    await d.user_taps(USER, "Zoe")
    await d.user_taps(USER, "No smart charger")
    await d.user_taps(USER, "Done")  # the Jedlix action: the car is registered


async def car_is_live(d: InProcessDeployment) -> None:
    await car_registered(d)
    d.advance(3600)
    assert await d.notifier_look(USER) == "changed"
    assert "is connected" in await newest(d)


async def test_a_live_car_can_be_boosted_until_full_paused_and_resumed(
    started: InProcessDeployment,
) -> None:
    d = started
    await car_is_live(d)
    await d.user_says(USER, "/devices")
    card = await newest(d)
    assert "Smart control: on" in card and "Battery:" in card

    await d.user_taps(USER, "Boost now")
    assert "Boosting" in await newest(d)
    await d.browser.post(
        f"{KRAKEN_BASE}/sandbox/devices/latest/battery",
        json={"stateOfCharge": 100, "stateOfChargeLimit": 100},
    )
    await d.user_says(USER, "/devices")  # the boost has ended by itself: the car is full
    await d.user_taps(USER, "Boost now")
    assert "already full" in await newest(d)

    await d.user_taps(USER, "Pause smart control")
    assert "at any price" in await newest(d)
    await d.user_taps(USER, "Yes, pause")
    assert "Smart control is paused" in await newest(d)
    devices = await d.runtime.kraken.devices("A-SANDBOX1", 1)
    assert [x.status.is_suspended for x in devices if x.status.current == "LIVE"] == [True]
    await d.user_taps(USER, "Resume smart control")
    assert "Smart control is back on" in await newest(d)


async def test_a_cars_schedule_set_by_tap_and_by_typing(started: InProcessDeployment) -> None:
    d = started
    await car_is_live(d)
    await d.user_taps(USER, "Manage")  # from the success screen to the card
    card = await newest(d)
    assert "Weekdays: 80% by 07:00" in card and "Weekends: 80% by 09:00" in card
    await d.user_taps(USER, "Weekdays")
    await d.user_says(USER, "7:15")
    assert "every 30 minutes" in await newest(d)  # refused before Kraken, still on the input
    await d.user_says(USER, "7:30")
    assert "80% by 07:30" in await newest(d)
    await d.user_taps(USER, "90%")
    assert "90% by 07:30" in await newest(d)
    (car,) = [x for x in await d.runtime.kraken.devices("A-SANDBOX1", 1) if x.is_live]
    assert car.preferences is not None
    friday, sunday = car.preferences.day("FRIDAY"), car.preferences.day("SUNDAY")
    assert friday is not None and (friday.clock, friday.max) == ("07:30", 90)
    assert sunday is not None and (sunday.clock, sunday.max) == ("09:00", 80)
    await d.user_taps(USER, "Back to the device")
    assert "Weekdays: 90% by 07:30" in await newest(d)
    await d.user_taps(USER, "Cap the charging time")
    assert "Charging-time cap: on" in await newest(d)


async def test_a_heat_pumps_heating_and_room_temperature(started: InProcessDeployment) -> None:
    d = started
    await d.user_taps(USER, "Heat pump")
    await d.user_taps(USER, "Daikin")
    await d.sign_in(USER, "Sign in")
    d.advance(3600)
    assert await d.notifier_look(USER) == "changed"
    await d.user_says(USER, "/devices")
    await d.user_taps(USER, "Heating off")
    assert "Heating: off" in await newest(d)
    await d.user_taps(USER, "Room temperature")
    await d.user_taps(USER, "21 °C")
    assert "Switch the heating on first" in await newest(d)  # KT-CT-4346 in plain words
    await d.user_says(USER, "45")
    assert "7–30 °C" in await newest(d)  # the heat pump's own bounds, before Kraken
    await d.user_taps(USER, "Back to the device")
    await d.user_taps(USER, "Heating on")
    await d.user_taps(USER, "Room temperature")
    await d.user_says(USER, "21.5")
    card = await newest(d)
    assert "Room temperature: 21.5 °C" in card and "Heating: on" in card


async def test_a_setup_cancelled_after_registration_can_remove_its_device(
    started: InProcessDeployment,
) -> None:
    d = started
    await car_registered(d)  # ONBOARDING in Kraken
    await d.user_says(USER, "/cancel")
    await d.user_taps(USER, "Yes, stop")
    stopped = await newest(d)
    assert "already registered a device" in stopped
    await d.user_taps(USER, "Remove the half-set-up")
    await d.user_taps(USER, "Yes, remove")
    assert "was removed" in await newest(d)
    devices = await d.runtime.kraken.devices("A-SANDBOX1", 1)
    assert [x.status.current for x in devices] == ["RETIRED"]
