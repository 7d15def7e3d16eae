"""After onboarding: the customer's devices, their cards and what can be done from them."""

from __future__ import annotations

from dialogs.machine import State
from harness.conversation import DialogTester
from kraken.errors import KrakenError

from .fakes import FakeKraken, device, step, wizard

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
