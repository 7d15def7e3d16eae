"""After LIVE, over separate processes: the customer's devices in the chat — boost until
full, pause and resume, a change made in the app meanwhile, the charging schedule with
valid and invalid typed input, removing the device, and a heat pump's controls."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.harness import User

pytestmark = pytest.mark.e2e

CONNECTED = "is connected!"


async def my_device(user: User) -> dict[str, Any]:
    """The customer's one device as the sandbox simulates it (each test has its account)."""
    async with httpx.AsyncClient(base_url=user.sandbox.base_url, timeout=10.0) as http:
        answer = await http.get("/sandbox/devices")
    answer.raise_for_status()
    listed: list[dict[str, Any]] = answer.json()["devices"]
    mine = [d for d in listed if d["accountNumber"] == user.account]
    assert len(mine) == 1, mine
    return mine[0]


async def device_hook(user: User, hook: str, body: dict[str, Any] | None = None) -> None:
    device = await my_device(user)
    await user.sandbox.hook(f"devices/{device['id']}/{hook}", body)


async def car_is_live(user: User) -> None:
    """Renault Zoe through the Jedlix app: the shortest journey to a live car."""
    await user.choose("Electric car or charger", "Renault", "Zoe", "No smart charger")
    await user.wait_text("One more thing first")
    waiting = await user.tap("Done", expect="Waiting for the manufacturer")
    live = await user.wait_new_message(CONNECTED, after=waiting.id)
    assert "/alerts off" in live.text  # news comes by itself, and how to stop it
    assert any("Manage" in label for label in live.labels)


async def test_a_live_cars_controls_from_boost_to_removal(linked: User) -> None:
    user = linked
    await car_is_live(user)
    card = await user.type("/devices", expect="Smart control: on")
    assert "Weekdays: 80% by 07:00" in card.text

    await user.tap("Boost now", expect="Boosting")
    await device_hook(user, "battery", {"stateOfCharge": 100})  # full: the boost ends itself
    await user.type("/devices", expect="Battery:")
    refused = await user.tap("Boost now", expect="already full")
    assert "KT-CT" not in refused.text

    await device_hook(user, "battery", {"stateOfCharge": 50})
    await user.type("/devices", expect="Battery:")
    await user.tap("Boost now", expect="Boosting")
    stopped = await user.tap("Stop boost", expect="Boost stopped")
    assert any("Boost now" in label for label in stopped.labels)

    await user.tap("Pause smart control", expect="at any price")
    await user.tap("Yes, pause", expect="Smart control is paused")
    await user.tap("Resume smart control", expect="Smart control is back on")
    assert (await my_device(user))["isSuspended"] is False

    # Paused in the app meanwhile: the card's "Pause" is stale and is not acted on.
    await device_hook(user, "suspend")
    fresh = await user.tap("Pause smart control", expect="That has changed")
    assert "Smart control: paused" in fresh.text
    assert any("Resume smart control" in label for label in fresh.labels)
    await user.tap("Resume smart control", expect="Smart control is back on")

    await user.tap("Weekdays", expect="04:00–11:00")
    refused = await user.type("7:15", expect="can't be used")
    assert "every 30 minutes" in refused.text
    await user.type("7:30", expect="80% by 07:30")
    refused = await user.type("97%", expect="can't be used")
    assert "in steps of 5" in refused.text
    await user.type("90", expect="90% by 07:30")
    card = await user.tap("Back to the device", expect="Weekdays: 90% by 07:30")
    assert "Weekends: 80% by 09:00" in card.text

    await user.tap("Remove device", expect="Smart control stops")
    await user.tap("Yes, remove", expect="was removed")
    assert await user.sandbox.device_statuses(user.account) == ["RETIRED"]


async def test_a_heat_pumps_heating_hot_water_and_room_temperature(linked: User) -> None:
    user = linked
    await user.choose("Heat pump", "Daikin")
    waiting = await user.oauth_allow(expect="go live")
    await user.wait_new_message(CONNECTED, after=waiting.id)
    await user.tap("Manage", expect="Smart control: on")

    await user.tap("Heating off", expect="Heating: off")
    await user.tap("Room temperature", expect="7–30 °C")
    await user.tap("21 °C", expect="Switch the heating on first")  # KT-CT-4346, plainly
    await user.type("31", expect="can't be used")
    await user.tap("Back to the device", expect="Smart control: on")
    await user.tap("Heating on", expect="Heating: on")
    await user.tap("Room temperature", expect="7–30 °C")
    card = await user.type("21.5", expect="Room temperature: 21.5 °C")
    assert "Heating: on" in card.text
    await user.tap("Hot water off", expect="Hot water: off")
