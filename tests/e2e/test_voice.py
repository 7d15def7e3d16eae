"""Voice end to end: the bot (`python -m bot run`, recognition in its worker processes), the
Telegram emulator and the Kraken sandbox as separate processes; the customer records voice
notes (the shipped voice saying the words, sent as OGG/Opus the way Telegram delivers them)
and gets spoken replies back."""

from __future__ import annotations

import pytest

from sandbox.telegram.client import SimMessage
from tests.e2e.harness import TIMEOUT, User
from tests.voice.conftest import spoken_note

pytestmark = pytest.mark.e2e

CONNECTED = "is connected!"
SERIAL = "WB12345678"


async def say(user: User, words: str, expect: str) -> SimMessage:
    """Record `words` as a voice note; the bot's answer is a new message showing `expect`."""
    sent = await user.sim.send_voice(user.user_id, spoken_note(words))
    return await user.wait_new_message(expect, after=sent["message_id"])


async def tap(user: User, label: str, expect: str) -> SimMessage:
    """Tap, see `expect`, and hear it read out (voice replies are on once the customer has
    spoken): as a person listening would, the next answer comes after the turn is over."""
    before = await spoken_replies(user)
    message, exact = await user.button(label)
    await user.sim.tap(user.user_id, exact, message_id=message.id)
    shown = await user.wait_text(expect)

    async def read_out() -> SimMessage | None:
        replies = [m for m in await user.bot_messages() if m.voice]
        return replies[-1] if len(replies) > before else None

    await user.sim.wait_for(read_out, TIMEOUT, user_id=user.user_id)
    return shown


async def say_value(user: User, words: str, value: str, expect: str) -> SimMessage:
    """Say an input step's answer: acted on when the reading is sure, else offered as a
    button (never acted on unasked), which the customer taps."""
    heard = await say(user, words, expect="I heard")
    if "Did you mean" in heard.text:
        assert value in heard.labels
        await tap(user, value, expect=expect)
    else:
        assert heard.text == f"🎙 I heard: “{value}”"
    return await user.wait_text(expect)


async def spoken_replies(user: User) -> int:
    return sum(1 for m in await user.bot_messages() if m.voice)


async def test_a_heat_pump_goes_live_by_voice_alone(linked: User) -> None:
    heard = await say(linked, "heat pump", expect="I heard")
    assert heard.text == "🎙 I heard: “Heat pump”"
    await linked.wait_new_message("Who made your heat pump?", after=heard.id)
    heard = await say(linked, "daikin", expect="I heard: “Daikin”")
    await linked.wait_new_message("Sign in to your device's account", after=heard.id)

    await linked.land(await linked.consent(allow=True))  # the consent page is the browser's
    waiting = await linked.wait_text("go live")
    connected = await linked.wait_new_message(CONNECTED, after=waiting.id)
    assert "Daikin" in connected.text
    assert await linked.sandbox.device_statuses(linked.account) == ["LIVE"]
    # The customer spoke, so every new screen is also read out as a voice note.
    read_out = await linked.sim.wait_for_message(
        linked.user_id,
        lambda m: m.sender == "bot" and m.voice is not None and m.id > connected.id,
        TIMEOUT,
    )
    assert await spoken_replies(linked) >= 4
    assert read_out.voice is not None and read_out.voice["mime_type"] == "audio/ogg"
    note = await linked.sim.file(read_out.voice["file_id"])
    assert note.startswith(b"OggS") and b"OpusHead" in note[:200]


async def test_a_charger_serial_number_and_a_ready_by_time_by_voice(linked: User) -> None:
    await linked.choose("Electric car or charger", "Fiat", "500e", "Wallbox", "Pulsar Plus 7kW")
    await linked.wait_text("serial number")
    words = "w b one two three four five six seven eight"
    action = await say_value(linked, words, SERIAL, expect="One more thing first")
    assert SERIAL in action.text

    heard = await say(linked, "done", expect="I heard")
    waiting = await linked.wait_new_message("Waiting for the manufacturer", after=heard.id)
    await linked.wait_new_message(CONNECTED, after=waiting.id)
    assert await linked.sandbox.device_statuses(linked.account) == ["LIVE"]

    await tap(linked, "Manage", expect="Weekdays:")
    await tap(linked, "Weekdays", expect="Tap a new ready-by time")
    await say_value(linked, "seven thirty", "07:30", expect="Weekdays: 80% by 07:30")
