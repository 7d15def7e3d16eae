"""Voice notes through the real bot: spoken with the shipped voice, sent through the emulator as
a customer's voice note arrives (OGG/Opus, fetched with getFile), understood against the screen
the customer sees, and answered like the tap they stand for — or refused, or asked about."""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import redis.asyncio as aioredis

from bot.state.keys import KeySpace
from bot.voice import RedisSpeechCache, VoiceKeys
from harness.deployment import InProcessDeployment, in_process_deployment
from sandbox.telegram.client import SimMessage
from tests.bot.inproc.conftest import ACCOUNT, OTHER_ACCOUNT, USER
from tests.bot.inproc.test_devices import car_is_live
from tests.voice.conftest import silence, spoken_note
from voice.audio import encode_ogg_opus

OTHER_USER = 1002
HEARD = "🎙 I heard"


@pytest.fixture
async def deployment(
    redis_url: str, redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[InProcessDeployment]:
    """As the package's, with recognition in a thread: one test, one short-lived pipeline
    (the e2e tests run the worker processes a deployment uses)."""
    monkeypatch.setenv("VOICE_EXECUTOR", "thread")
    async with in_process_deployment(redis_url, accounts=(ACCOUNT, OTHER_ACCOUNT)) as built:
        yield built


async def say(d: InProcessDeployment, text: str, user: int = USER, **profile: str) -> None:
    """The customer records `text` as a voice note."""
    await d.sim.send_voice(user, spoken_note(text), **profile)
    await d.pump()
    await spoken(d)


async def spoken(d: InProcessDeployment) -> None:
    """Screens are read aloud after their turn: wait for those under way."""
    assert d.runtime.voice is not None
    await d.runtime.voice.settled()


async def say_value(d: InProcessDeployment, words: str, value: str) -> None:
    """Say an answer: acted on when the reading is sure ("I heard: “value”"), else offered
    as a button (never acted on unasked, a value only by reference), which is tapped."""
    await say(d, words)
    shown = [m for m in await bot_messages(d) if not m.voice]
    asked = next(m for m in reversed(shown) if HEARD in m.text)
    if "Did you mean" in asked.text:
        assert any(value in label for label in asked.labels), asked.labels
        assert all(value not in (b.callback_data or "") for row in asked.buttons for b in row)
        await d.user_taps(USER, value)
        await spoken(d)
    else:
        assert asked.text == f"{HEARD}: “{value}”"


async def tap_offered(d: InProcessDeployment, label: str) -> None:
    """A spoken "yes" to something that cannot be undone is answered with the button to tap
    ("I need a tap"; or, when the reading was unsure, "Did you mean"), and nothing else."""
    asked = [m for m in await bot_messages(d) if not m.voice][-1]
    assert HEARD in asked.text and any(label in offered for offered in asked.labels)
    assert "I need a tap" in asked.text or "Did you mean" in asked.text


async def bot_messages(d: InProcessDeployment, user: int = USER) -> list[SimMessage]:
    return [m for m in await d.sim.transcript(user) if m.sender == "bot"]


async def newest_text(d: InProcessDeployment, user: int = USER) -> str:
    return [m for m in await bot_messages(d, user) if not m.voice][-1].text


async def downloads(d: InProcessDeployment) -> int:
    return len(await d.sim.outbox(method="getFile"))


async def state(d: InProcessDeployment, user: int = USER) -> str | None:
    conv = await d.runtime.turns.peek(user)
    return conv.state if conv is not None else None


async def tesla_models(d: InProcessDeployment) -> None:
    """On to the Tesla models (typing the make's whole name picks it)."""
    await d.user_taps(USER, "Electric car or charger")
    await d.user_says(USER, "tesla")


def counted(d: InProcessDeployment, metric: str, **labels: str) -> float:
    value = d.runtime.metrics.registry.get_sample_value(metric, labels)
    return value or 0.0


async def test_a_spoken_option_is_heard_and_does_what_the_tap_does(
    started: InProcessDeployment,
) -> None:
    d = started
    await say(d, "heat pump")
    texts = [m.text for m in await bot_messages(d)]
    assert f"{HEARD}: “Heat pump”" in texts
    assert "Who made your heat pump?" in await newest_text(d)
    assert await downloads(d) == 1
    assert await state(d) == "choosing"
    assert counted(d, "voice_notes_total", outcome="acted") == 1
    assert counted(d, "voice_recognition_seconds_count") == 1

    await say(d, "daikin")
    assert "Sign in to your device's account" in await newest_text(d)
    # The customer spoke last, so the bot speaks too: the new screen also came as a voice note.
    assert (await bot_messages(d))[-1].voice is not None


async def test_typed_words_pick_an_option_a_filter_cannot_and_ask_when_unsure(
    started: InProcessDeployment,
) -> None:
    d = started
    await tesla_models(d)

    await d.user_says(USER, "the 3")  # three Model 3 batteries fit as well as each other
    asked = (await d.sim.transcript(USER))[-1]
    assert "Did you mean one of these?" in asked.text and HEARD not in asked.text
    assert asked.labels[:3] == [
        "Model 3 (2019–2023) · 54 kWh",
        "Model 3 (2019–2023) · 75 kWh",
        "Model 3 (2019–2023) · 82 kWh",
    ]
    assert "None of these" in asked.labels[-1]
    await d.user_taps(USER, "None of these")  # the whole screen again
    assert "Which model is it?" in await newest_text(d)

    await d.user_says(USER, "model 3 78kwh")  # names one option outright: picked
    assert "Who made your charger?" in await newest_text(d)


async def test_typing_an_options_whole_name_picks_it_and_a_part_of_one_filters(
    started: InProcessDeployment,
) -> None:
    d = started
    await d.user_taps(USER, "Electric car or charger")
    await d.user_says(USER, "tes")  # part of a name: the list narrowed, nothing chosen
    assert "Which model is it?" not in await newest_text(d)
    assert "Tesla" in (await d.sim.transcript(USER))[-1].labels
    await d.user_says(USER, "TESLA")  # the whole name: chosen
    assert "Which model is it?" in await newest_text(d)


async def test_a_spoken_answer_that_fits_several_options_asks_before_acting(
    started: InProcessDeployment,
) -> None:
    d = started
    await tesla_models(d)
    chosen_before = counted(d, "kraken_calls_total", operation="SelectFromList")
    assert chosen_before == 2  # the device type and the make

    await say(d, "model three")
    asked = (await d.sim.transcript(USER))[-1]
    if asked.voice is not None:  # the question, read aloud
        asked = (await d.sim.transcript(USER))[-2]
    assert f"{HEARD}: “Model three”" in asked.text and "Did you mean" in asked.text
    assert sum("Model 3 (2019–2023)" in label for label in asked.labels) == 3
    assert counted(d, "kraken_calls_total", operation="SelectFromList") == chosen_before
    await d.user_taps(USER, "82 kWh")  # the candidate is the list's own button
    assert "charger" in await newest_text(d)


async def test_a_spoken_cancel_needs_a_tap_to_confirm(started: InProcessDeployment) -> None:
    d = started
    await say_value(d, "cancel", "Cancel")
    assert "Stop the setup?" in await newest_text(d)  # the engine's own question
    assert await state(d) == "cancel_confirm"

    await say(d, "yes")
    await tap_offered(d, "Yes")
    assert await state(d) == "cancel_confirm"  # nothing happened

    await d.user_taps(USER, "Yes")
    assert await state(d) == "cancelled"


async def test_long_notes_and_big_files_are_refused_before_download(
    started: InProcessDeployment,
) -> None:
    d = started
    long_note = encode_ogg_opus(silence(61.5), 16_000)
    await d.sim.send_voice(USER, long_note)
    await d.pump()
    assert "too long for me" in await newest_text(d) and "60 seconds" in await newest_text(d)

    await d.sim.send_audio(USER, _wav(seconds=30), file_name="memo.wav", content_type="audio/wav")
    await d.pump()
    assert "too big for me" in await newest_text(d) and "5 MB" in await newest_text(d)

    assert await downloads(d) == 0
    assert counted(d, "voice_notes_total", outcome="too_long") == 1
    assert counted(d, "voice_notes_total", outcome="too_big") == 1
    assert await state(d) == "choosing_device_type"


async def test_silence_and_noise_get_try_again(started: InProcessDeployment) -> None:
    d = started
    await d.sim.send_voice(USER, encode_ogg_opus(silence(2.0), 16_000))
    await d.pump()
    assert "I couldn't hear anything — try again or tap a button" in await newest_text(d)
    broken = b"ID3" + bytes(4000)  # says it is an MP3; is nothing
    await d.sim.send_audio(USER, broken, file_name="broken.mp3", content_type="audio/mpeg")
    await d.pump()
    assert await newest_text(d) == "I couldn't hear anything — try again or tap a button."
    assert counted(d, "voice_notes_total", outcome="silence") == 1
    assert counted(d, "voice_notes_total", outcome="undecodable") == 1


async def test_a_german_chat_is_told_voice_works_in_english_for_now(
    deployment: InProcessDeployment,
) -> None:
    d = deployment
    token = await d.handoff_token(ACCOUNT)
    await d.user_says(USER, f"/start {token}", first_name="Jonas", language_code="de")
    await say(d, "heat pump", language_code="de")
    assert "nur auf Englisch" in await newest_text(d)
    assert "Schaltflächen funktionieren weiterhin" in await newest_text(d)
    assert await downloads(d) == 0


async def test_voice_on_reads_each_new_screen_aloud_from_the_cache_the_second_time(
    deployment: InProcessDeployment,
) -> None:
    d = deployment
    for user, account in ((USER, ACCOUNT), (OTHER_USER, OTHER_ACCOUNT)):
        token = await d.handoff_token(account)
        await d.user_says(user, f"/start {token}", first_name="Ann", language_code="en")
        await d.user_says(user, "/voice on")
        assert "Voice replies are on" in await newest_text(d, user)
        await d.user_taps(user, "Heat pump")
        await spoken(d)
        newest = (await bot_messages(d, user))[-1]
        assert newest.voice is not None and newest.voice["mime_type"] == "audio/ogg"
        assert newest.voice["duration"] >= 3  # "Who made your heat pump? ... Say or tap: ..."
    first, second = [(await bot_messages(d, u))[-1].voice for u in (USER, OTHER_USER)]
    assert first is not None and second is not None
    assert await d.sim.file(first["file_id"]) == await d.sim.file(second["file_id"])
    assert counted(d, "voice_speech_cache_total", result="hit") == 1
    assert counted(d, "voice_speech_cache_total", result="miss") == 1

    await d.user_says(USER, "/voice off")
    await d.user_taps(USER, "Daikin")
    await spoken(d)
    assert (await bot_messages(d))[-1].voice is None


async def test_a_failed_voice_reply_never_loses_the_screen(started: InProcessDeployment) -> None:
    d = started
    await d.user_says(USER, "/voice on")
    await d.sim.fault("sendVoice", error_code=500, times=5)
    await d.user_taps(USER, "Heat pump")
    await spoken(d)
    shown = await bot_messages(d)
    assert any("Who made your heat pump?" in m.text and m.labels for m in shown)
    assert not any(m.voice for m in shown)
    assert counted(d, "voice_replies_total", result="failed") == 1


def _wav(seconds: float, rate: int = 48_000) -> bytes:
    """Stereo 16-bit silence: 30 s is about 5.5 MB, over the 5 MB limit."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(int(seconds * rate) * 4))
    return out.getvalue()


async def test_a_spoken_serial_number_answers_the_input_step(started: InProcessDeployment) -> None:
    """Letters said by name, digits one by one; an unsure reading is offered as buttons that
    carry the value only by reference, and a tap on one answers the step like typing it."""
    d = started
    await d.user_taps(USER, "Electric car or charger")
    for typed, label in (("fiat", "Fiat"), ("500e", "500e")):
        await d.user_says(USER, typed)  # a filter (not shown, or part of a name)
        await d.user_taps(USER, label)
    await d.user_says(USER, "wallbox")  # shown: its whole name picks it
    await d.user_says(USER, "pulsar")
    await d.user_taps(USER, "Pulsar Plus 7kW")
    assert "serial number" in await newest_text(d)

    await say_value(d, "w b one two three four five six seven eight", "WB12345678")
    assert "One more thing first" in await newest_text(d)
    assert "WB12345678" in await newest_text(d)


async def test_a_spoken_ready_by_time_and_target_set_the_schedule(
    started: InProcessDeployment,
) -> None:
    d = started
    await car_is_live(d)
    await d.user_taps(USER, "Manage")
    await d.user_taps(USER, "Weekdays")
    await say_value(d, "seven thirty", "07:30")
    assert "80% by 07:30" in await newest_text(d)
    await say_value(d, "ninety percent", "90%")
    assert "90% by 07:30" in await newest_text(d)
    (car,) = [x for x in await d.runtime.kraken.devices(ACCOUNT, 1) if x.is_live]
    assert car.preferences is not None
    friday = car.preferences.day("FRIDAY")
    assert friday is not None and (friday.clock, friday.max) == ("07:30", 90)


async def test_spoken_command_words_press_the_screens_own_buttons(
    started: InProcessDeployment,
) -> None:
    d = started
    await say(d, "heat pump")
    await say_value(d, "next", "Next")
    assert "Page 2 of 2" in await newest_text(d)
    await say_value(d, "help", "Help")
    assert "How this works" in await newest_text(d)


async def test_the_speech_cache_is_bounded_in_count_size_and_time(
    redis_client: aioredis.Redis,
) -> None:
    keys = VoiceKeys(KeySpace("tenant7:"))
    cache = RedisSpeechCache(redis_client, keys, ttl=timedelta(hours=1), max_items=2, max_bytes=100)
    await cache.set("tts:a", b"A" * 10)
    await cache.set("tts:b", b"B" * 10)
    assert await cache.get("tts:a") == b"A" * 10  # used again: b is now the oldest
    await cache.set("tts:c", b"C" * 10)
    await cache.set("tts:big", b"X" * 101)  # over the size of one note: not kept
    assert [await cache.get(k) for k in ("tts:a", "tts:b", "tts:c", "tts:big")] == [
        b"A" * 10,
        None,
        b"C" * 10,
        None,
    ]
    stored = [key.decode() async for key in redis_client.scan_iter("*")]
    assert stored and all(key.startswith("tenant7:voice:") for key in stored)
    ttls = [await redis_client.pttl(key) for key in stored]
    assert all(0 < ttl <= 3_600_000 for ttl in ttls), ttls


async def test_without_voice_a_voice_note_gets_please_type(
    redis_url: str, redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICE_ENABLED", "false")
    async with in_process_deployment(redis_url, accounts=(ACCOUNT,)) as d:
        assert d.runtime.voice is None
        token = await d.handoff_token(ACCOUNT)
        await d.user_says(USER, f"/start {token}", first_name="Ann", language_code="en")
        await d.sim.send_voice(USER, spoken_note("heat pump"))
        await d.pump()
        assert "Please type your answer" in await newest_text(d)
        await d.user_says(USER, "/voice on")
        assert "aren't available here" in await newest_text(d)
        assert await downloads(d) == 0


async def test_a_spoken_remove_needs_a_tap_to_confirm(started: InProcessDeployment) -> None:
    d = started
    await car_is_live(d)
    await d.user_says(USER, "/devices")
    await say_value(d, "remove", "Remove device")
    assert "Remove Renault Zoe?" in await newest_text(d)  # the engine's own question
    await say(d, "yes")
    await tap_offered(d, "Yes")
    assert [x.is_live for x in await d.runtime.kraken.devices(ACCOUNT, 1)] == [True]
