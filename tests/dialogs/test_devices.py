"""After onboarding: the customer's devices, their cards and what can be done from them."""

from __future__ import annotations

from dialogs.conversation import Conversation
from dialogs.machine import State
from harness.conversation import DialogTester
from kraken.errors import CapabilityMissing, KrakenError, ValidationError

from .fakes import FakeKraken, car_preferences, device, step, wizard

WAIT = step("WaitForTransition", "wait")


async def live_with(*devices: object) -> tuple[DialogTester, FakeKraken]:
    fake = FakeKraken(wizard(WAIT), device_list=list(devices))  # type: ignore[arg-type]
    tester = DialogTester(fake)
    await tester.begin("A-1", 1)
    return tester, fake


async def test_one_device_opens_straight_on_its_card() -> None:
    tester, _ = await live_with(device("LIVE", name="Model 3"))
    card = await tester.devices()
    assert tester.state == State.DEVICE
    assert "Model 3" in card.text and "Smart control: on" in card.text
    assert "Pause smart control" in " ".join(tester.labels())
    assert "Boost now" in " ".join(tester.labels())


async def test_pausing_asks_first_then_shows_what_kraken_answered() -> None:
    tester, fake = await live_with(device("LIVE", name="Model 3"))
    await tester.devices()
    confirm = await tester.tap("Pause smart control")
    assert "at any price" in confirm.text and tester.state == State.DEVICE_CONFIRM
    assert fake.called("set_smart_control") == []  # nothing before "yes"
    card = await tester.tap("Yes, pause")
    assert fake.called("set_smart_control") == [("d1", True)]
    assert "Smart control is paused" in card.text and "Smart control: paused" in card.text
    assert "smart charging is on" not in card.text  # never said of a paused device
    assert "Resume smart control" in " ".join(tester.labels())
    card = await tester.tap("Resume smart control")
    assert fake.called("set_smart_control")[-1] == ("d1", False)
    assert "Smart control is back on" in card.text


async def test_a_card_that_went_stale_is_redrawn_not_acted_on() -> None:
    tester, fake = await live_with(device("LIVE", name="Model 3"))
    await tester.devices()
    fake.device_list = [device("LIVE", name="Model 3", suspended=True)]  # paused in the app
    card = await tester.tap("Pause smart control")
    assert "That has changed" in card.text and "Resume smart control" in " ".join(tester.labels())
    assert fake.called("set_smart_control") == []


async def test_a_refused_boost_says_why_in_plain_words() -> None:
    tester, fake = await live_with(device("LIVE", name="Model 3"))
    await tester.devices()
    fake.errors["boost"] = KrakenError(
        "Unable to trigger boost charge.",
        code="KT-CT-4357",
        refusal_reasons=["BC_DEVICE_DISCONNECTED", "BC_DEVICE_FULLY_CHARGED"],
    )
    card = await tester.tap("Boost now")
    assert "isn't plugged in" in card.text and "already full" in card.text
    assert "KT-CT" not in card.text and tester.state == State.DEVICE


async def test_removing_asks_first_and_the_device_leaves_the_list() -> None:
    tester, fake = await live_with(
        device("LIVE", name="Model 3"), device("LIVE", name="Zappi", device_id="d2")
    )
    listing = await tester.devices()
    assert tester.state == State.DEVICES and len(listing.buttons()) == 2
    await tester.tap("Zappi")
    await tester.tap("Remove device")
    screen = await tester.tap("Yes, remove")
    assert fake.called("deauthenticate_device") == [("A-1", "d2")]
    assert "Zappi was removed" in screen.text
    assert tester.state == State.DEVICE and "Model 3" in screen.text  # the one left


async def test_a_chat_not_linked_gets_the_link_explanation() -> None:
    tester = DialogTester(FakeKraken(wizard(WAIT)))
    screen = await tester.devices()
    assert "isn't linked" in screen.text


# ---------------------------------------------------------------- settings


def car(**more: object) -> object:
    return device("LIVE", name="Model 3", **{**car_preferences(), **more})


async def test_the_card_shows_the_schedule_and_the_cap() -> None:
    tester, _ = await live_with(car())
    card = await tester.devices()
    assert "Weekdays: 80% by 07:00" in card.text and "Weekends: 80% by 09:00" in card.text
    assert "Charging-time cap: off" in card.text
    assert "Cap the charging time" in " ".join(tester.labels())
    assert "Sell to the grid" not in " ".join(tester.labels())  # NOT_APPLICABLE for a car


async def test_a_ready_by_time_and_a_target_typed_or_tapped() -> None:
    tester, fake = await live_with(car())
    await tester.devices()
    editor = await tester.tap("Weekdays")
    assert tester.state == State.DEVICE_INPUT
    assert "04:00–11:00" in editor.text and "20–100%" in editor.text
    assert {"by 06:00", "by 07:00", "by 08:00", "80%", "90%", "100%"} <= set(tester.labels())
    saved = await tester.type("7:30")
    weekdays = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]
    assert fake.called("set_preferences") == [("d1", [(d, "07:30", 80.0) for d in weekdays])]
    assert "Saved" in saved.text and "80% by 07:30" in saved.text
    assert tester.state == State.DEVICE_INPUT  # still open: the target can follow
    saved = await tester.tap("90%")
    assert fake.called("set_preferences")[-1][1][0] == ("MONDAY", "07:30", 90.0)
    assert "90% by 07:30" in saved.text
    card = await tester.tap("Back to the device")
    assert tester.state == State.DEVICE and "Weekdays: 90% by 07:30" in card.text
    assert "Weekends: 80% by 09:00" in card.text  # the weekend stays as it was


async def test_invalid_typed_values_keep_the_customer_on_the_input() -> None:
    tester, fake = await live_with(car())
    await tester.devices()
    await tester.tap("Weekends")
    for typed, said in (
        ("12:00", "choose one from 04:00 to 11:00, every 30 minutes"),
        ("7:15", "every 30 minutes"),
        ("25:00", "That time can't be used"),
        ("97%", "choose 20–100%, in steps of 5"),
        ("15", "That target can't be used"),
        ("soon", "I didn't understand that"),
    ):
        screen = await tester.type(typed)
        assert said in screen.text, typed
        assert tester.state == State.DEVICE_INPUT
    assert fake.called("set_preferences") == []  # Kraken never saw any of them
    screen = await tester.type("08:30")
    assert "80% by 08:30" in screen.text
    assert fake.called("set_preferences")[0][1][0] == ("SATURDAY", "08:30", 80.0)


async def test_a_value_kraken_refuses_is_named() -> None:
    tester, fake = await live_with(car())
    await tester.devices()
    await tester.tap("Weekdays")
    fake.errors["set_preferences"] = KrakenError(
        "Serializer validation error.",
        code="KT-CT-4321",
        validation_errors=[
            ValidationError(
                "KT-CT-4321",
                "95 is not allowed: choose 20-100 percentage in steps of 10.",
                ("input", "schedules", "0", "max"),
            )
        ],
    )
    screen = await tester.tap("90%")
    assert "The target charge wasn't accepted: 95 is not allowed" in screen.text
    assert tester.state == State.DEVICE_INPUT and "KT-CT" not in screen.text
    fake.errors["set_preferences"] = KrakenError("x", code="KT-CT-4314")
    screen = await tester.tap("100%")
    assert "sign in again" in screen.text


async def test_the_cap_switches_from_the_card() -> None:
    tester, fake = await live_with(car())
    await tester.devices()
    card = await tester.tap("Cap the charging time")
    assert fake.called("cap_charging_duration") == [("d1", True)]
    assert "Charging-time cap: on" in card.text
    assert "Stop capping" in " ".join(tester.labels())
    fake.errors["cap_charging_duration"] = KrakenError("x", code="KT-CT-4389")
    card = await tester.tap("Stop capping")
    assert "has to be live and reachable" in card.text


async def test_a_batterys_grid_export() -> None:
    prefs = car_preferences()
    prefs["preferences"] = {**prefs["preferences"], "gridExport": "ENABLED"}
    battery = device("LIVE", name="Powerwall", device_type="BATTERIES", **prefs)
    tester, fake = await live_with(battery)
    card = await tester.devices()
    assert "Selling to the grid: on" in card.text
    card = await tester.tap("Stop selling to the grid")
    assert fake.called("set_grid_export") == [("d1", False)]
    assert "Selling to the grid: off" in card.text


async def test_a_heat_pumps_controls() -> None:
    pump = device("LIVE", name="Daikin", device_type="HEAT_PUMPS")
    tester, fake = await live_with(pump)
    await tester.devices()
    assert {"🔥 Heating on", "Heating off", "🚿 Hot water on", "Hot water off"} <= set(
        tester.labels()
    )  # `devices` does not say which they are
    card = await tester.tap("Heating off")
    assert fake.called("set_climate_control") == [("d1", False)]
    assert "Heating: off" in card.text and "🔥 Heating on" in tester.labels()
    fake.errors["set_room_temperature"] = KrakenError("x", code="KT-CT-4346")
    await tester.tap("Room temperature")
    screen = await tester.tap("21 °C")
    assert "Switch the heating on first" in screen.text and tester.state == State.DEVICE_INPUT
    screen = await tester.type("40")
    assert "That temperature can't be used" in screen.text
    card = await tester.type("21,5")
    assert fake.called("set_room_temperature")[-1] == ("d1", 21.5)
    assert "Room temperature: 21.5 °C" in card.text and tester.state == State.DEVICE


async def test_a_stale_setting_button_gets_the_fresh_card() -> None:
    tester, fake = await live_with(car())
    await tester.devices()
    fake.device_list = [device("LIVE", name="Model 3", **car_preferences(capped="ENABLED"))]
    card = await tester.tap("Cap the charging time")
    assert "That has changed" in card.text and "Charging-time cap: on" in card.text
    assert fake.called("cap_charging_duration") == []


async def test_the_success_screen_offers_manage_and_says_how_alerts_stop() -> None:
    tester, _ = await live_with(car())
    await tester.wizard_changed(wizard(None))
    screen = tester.last_screen
    assert tester.state == State.LIVE and "/alerts off" in screen.text
    card = await tester.tap("Manage")
    assert tester.state == State.DEVICE and "Weekdays: 80% by 07:00" in card.text


async def test_a_cancelled_setup_offers_to_remove_its_half_set_up_device() -> None:
    fake = FakeKraken(wizard(WAIT), device_list=[device("ONBOARDING", name="Zoe")])
    tester = DialogTester(fake)
    await tester.begin("A-1", 1)
    await tester.cancel()
    screen = await tester.tap("Yes")
    assert tester.state == State.CANCELLED and "already registered a device" in screen.text
    await tester.tap("Remove the half-set-up Zoe")
    screen = await tester.tap("Yes, remove")
    assert fake.called("deauthenticate_device") == [("A-1", "d1")]
    assert "Zoe was removed" in screen.text


async def test_a_value_button_of_a_closed_setting_gets_the_fresh_card() -> None:
    tester, fake = await live_with(car())
    await tester.devices()
    await tester.tap("Weekdays")
    old = next(b for b in tester.last_screen.buttons() if b.label == "90%")
    await tester.tap("Back to the device")
    card = await tester.tap_data(old.data)  # type: ignore[union-attr]
    assert "That has changed" in card.text and tester.state == State.DEVICE
    assert fake.called("set_preferences") == []


def test_a_conversation_stored_before_device_settings_still_loads() -> None:
    stored = '{"version":1,"account_number":"A-1","state":"device","device_id":"d1"}'
    conv = Conversation.from_json(stored)
    assert conv.state == State.DEVICE and conv.device_editing is None


async def test_a_control_this_kraken_lacks_is_said_on_the_card() -> None:
    tester, fake = await live_with(car())
    await tester.devices()
    fake.errors["cap_charging_duration"] = CapabilityMissing("charging_duration_cap")
    card = await tester.tap("Cap the charging time")
    assert "please use their app" in card.text and tester.state == State.DEVICE


async def test_a_language_change_on_a_device_screen_redraws_the_card() -> None:
    tester, _ = await live_with(car())
    await tester.devices()
    await tester.tap("Weekdays")
    card = await tester.language("de")
    assert tester.state == State.DEVICE and "Werktags: 80 % bis 07:00" in card.text
    await tester.devices()
    screen = await tester.type("hello")  # nothing is asked on the card: it stays
    assert tester.state == State.DEVICE and "Werktags" in screen.text
