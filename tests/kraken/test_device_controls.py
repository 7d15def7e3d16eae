"""The client's device controls after LIVE, against the Kraken sandbox in process: the
schedule, the charging-duration cap, grid export and a heat pump's controls, with the
refusals Kraken words for each."""

from __future__ import annotations

import httpx
import pytest

from kraken.client import KrakenClient
from kraken.errors import KrakenError
from kraken.models import WEEKDAYS, Device, PreferenceSchedule
from sandbox.kraken import SandboxConfig, create_app
from tests.kraken.sandbox_driver import ACCOUNT, PROPERTY, Driver, sandbox_client
from tests.kraken.test_sandbox_journeys import JOURNEYS


async def live(client: KrakenClient, driver: Driver, journey: str) -> list[Device]:
    await driver.walk(await client.start_onboarding(ACCOUNT, PROPERTY), JOURNEYS[journey][0])
    return list(await client.devices(ACCOUNT, PROPERTY))


def weekdays(time: str, target: float) -> list[PreferenceSchedule]:
    return [PreferenceSchedule(day_of_week=d, time=time, max=target) for d in WEEKDAYS]


async def test_a_cars_schedule_is_read_and_set(client: KrakenClient, driver: Driver) -> None:
    (car,) = await live(client, driver, "tesla_single_car")
    assert car.preferences is not None and car.preference_setting is not None
    monday = car.preferences.day("MONDAY")
    assert monday is not None and (monday.clock, monday.max) == ("07:00", 80)
    bounds = car.preference_setting.bounds
    assert bounds is not None and (bounds.min, bounds.max, bounds.step) == (20, 100, 5)
    updated = await client.set_preferences(ACCOUNT, car, weekdays("07:30", 90))
    assert updated is not None and updated.preferences is not None
    friday, saturday = updated.preferences.day("FRIDAY"), updated.preferences.day("SATURDAY")
    assert friday is not None and (friday.clock, friday.max) == ("07:30", 90)
    assert saturday is not None and saturday.clock == "09:00"  # the weekend stays


async def test_a_refused_value_is_named(client: KrakenClient, driver: Driver) -> None:
    (car,) = await live(client, driver, "tesla_single_car")
    with pytest.raises(KrakenError) as refused:
        await client.set_preferences(ACCOUNT, car, weekdays("07:00", 97))
    assert refused.value.code == "KT-CT-4321"
    paths = {v.input_path[-1] for v in refused.value.validation_errors}
    assert paths == {"max"} and "20-100" in refused.value.validation_errors[0].message


async def test_cap_and_export_where_they_apply(client: KrakenClient, driver: Driver) -> None:
    (car,) = await live(client, driver, "tesla_single_car")
    capped = await client.cap_charging_duration(car.id, True)
    assert capped.preferences is not None
    assert capped.preferences.is_charging_duration_capped == "ENABLED"
    with pytest.raises(KrakenError) as refused:
        await client.set_grid_export(car.id, True)
    assert refused.value.code == "KT-CT-4386"


async def test_a_heat_pumps_controls(client: KrakenClient, driver: Driver) -> None:
    (pump,) = await live(client, driver, "heat_pump")
    off = await client.set_climate_control(pump.id, False)
    assert off.climate_control_enabled is False
    with pytest.raises(KrakenError) as refused:  # heating off: no room temperature
        await client.set_room_temperature(pump.id, 21.0)
    assert refused.value.code == "KT-CT-4346"
    await client.set_climate_control(pump.id, True)
    warm = await client.set_room_temperature(pump.id, 21.5)
    assert warm.room_temperature == 21.5 and warm.max_room_temperature == 30
    water = await client.set_hot_water(pump.id, False)
    assert water.hot_water_enabled is False


async def test_where_only_the_deprecated_mutation_is_left_it_sets_weekdays_and_weekend() -> None:
    app = create_app(SandboxConfig(commit_seconds=0.0, removed=("setDevicePreferences",)))
    transport = httpx.ASGITransport(app=app)
    async with (
        sandbox_client(transport) as client,
        httpx.AsyncClient(transport=transport, base_url="http://sandbox") as hooks,
    ):
        (car,) = await live(client, Driver(client, hooks), "tesla_single_car")
        capabilities = await client.capabilities()
        assert capabilities.uses()["device_preferences"] == "setVehicleChargePreferences"
        answer = await client.set_preferences(ACCOUNT, car, weekdays("06:30", 85))
        assert answer is None  # the deprecated mutation answers no device: read it back
        (car,) = await client.devices(ACCOUNT, PROPERTY)
    assert car.preferences is not None
    friday, sunday = car.preferences.day("FRIDAY"), car.preferences.day("SUNDAY")
    assert friday is not None and (friday.clock, friday.max) == ("06:30", 85)
    assert sunday is not None and (sunday.clock, sunday.max) == ("09:00", 80)
