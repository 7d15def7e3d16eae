"""After LIVE, through the real bot and the sandbox: /devices, boost until full, pause and
resume — what the customer taps, and what Kraken recorded."""

from __future__ import annotations

from harness.deployment import KRAKEN_BASE, InProcessDeployment
from tests.bot.inproc.conftest import USER


async def newest(d: InProcessDeployment) -> str:
    return (await d.sim.transcript(USER))[-1].text


async def car_is_live(d: InProcessDeployment) -> None:
    await d.user_taps(USER, "Electric car or charger")
    await d.user_says(USER, "renault")
    await d.user_taps(USER, "Renault")
    await d.user_says(USER, "zoe")
    await d.user_taps(USER, "Zoe")
    await d.user_taps(USER, "No smart charger")
    await d.user_taps(USER, "Done")
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
