"""The async pipeline: recognition off the event loop, outcomes for bad audio, a deadline,
and spoken screens from the cache."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from tests.voice.conftest import silence, spoken_note, tone
from voice.audio import encode_ogg_opus
from voice.pipeline import Outcome, VoiceConfig, VoicePipeline
from voice.speech import MemorySpeechCache
from voice.understand import (
    Choice,
    Command,
    Expectation,
    Heard,
    Hypothesis,
    Kind,
    Verdict,
)

MAKES = Expectation.of(
    [Choice(m, m.lower()) for m in ("Tesla", "Volkswagen", "Nissan", "Hyundai", "Kia", "BMW")],
    (Command.NEXT, Command.BACK, Command.CANCEL, Command.HELP),
)


class Gate:
    """A recogniser that waits until the test opens the gate (from the event loop)."""

    name = "gate"
    languages: tuple[str, ...] = ("en",)

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.entered = threading.Event()

    def recognise(self, pcm: bytes, expectation: Expectation, deadline: float) -> Heard:
        self.entered.set()
        if not self.opened.wait(timeout=10):
            return Heard((Hypothesis("the event loop was blocked", 1.0),))
        return Heard((Hypothesis("tesla", 1.0),))


async def test_the_worker_process_understands_notes_and_speaks_screens() -> None:
    """The real engines in one worker process, as the bot runs them."""
    cache = MemorySpeechCache()
    voice = VoicePipeline(VoiceConfig(workers=1, timeout_s=60), cache=cache)
    try:
        await voice.start()
        for said, key in (("tesla", "tesla"), ("volkswagen", "volkswagen"), ("next page", "next")):
            result = await voice.understand(spoken_note(said), MAKES)
            assert result.outcome is Outcome.UNDERSTOOD, result
            assert result.match.best is not None and result.match.best.key == key, result
            assert result.match.verdict in (Verdict.ACT, Verdict.CONFIRM)
            assert result.duration_s > 0.5
            assert result.snr_db is not None and result.snr_db > 30  # a quiet recording

        quiet = encode_ogg_opus(silence(2.0), 16_000)
        assert (await voice.understand(quiet, MAKES)).outcome is Outcome.SILENCE
        assert (await voice.understand(b"not audio", MAKES)).outcome is Outcome.UNDECODABLE
        long_note = encode_ogg_opus(tone(70.0, level=0.01), 16_000)
        assert (await voice.understand(long_note, MAKES)).outcome is Outcome.TOO_LONG

        first = await voice.speak_screen("Which make is your car?", ["Tesla", "BMW", "Next ▶"])
        assert first.ogg.startswith(b"OggS") and first.duration_s > 1
        assert len(cache) == 1
    finally:
        await voice.close()
    # Closed: a second synthesis would have no worker, so this answer comes from the cache.
    again = await voice.speak_screen("Which make is your car?", ["Tesla", "BMW", "Next ▶"])
    assert again.ogg == first.ogg
    assert again.duration_s == pytest.approx(first.duration_s, abs=0.05)


def a_short_sound() -> bytes:
    return encode_ogg_opus(np.concatenate([silence(0.5), tone(0.6), silence(0.5)]), 16_000)


async def test_recognition_runs_off_the_event_loop() -> None:
    """While one note is being recognised, other chats' coroutines keep running: here the
    only thing that lets the recogniser finish is a coroutine on the event loop."""
    gate = Gate()
    voice = VoicePipeline(VoiceConfig(executor="thread", timeout_s=30), recogniser=gate)
    try:
        note = a_short_sound()
        job = asyncio.ensure_future(voice.understand(note, MAKES))
        await asyncio.get_running_loop().run_in_executor(None, gate.entered.wait, 10)
        assert not job.done()
        gate.opened.set()
        result = await job
        assert result.match.best is not None and result.match.best.key == "tesla"
        assert (result.match.best.kind, result.match.verdict) == (Kind.CHOICE, Verdict.ACT)
    finally:
        gate.opened.set()
        await voice.close()


async def test_a_screen_in_another_language_is_not_listened_to() -> None:
    gate = Gate()
    voice = VoicePipeline(VoiceConfig(executor="thread"), recogniser=gate)
    german = Expectation.of(MAKES.choices, MAKES.commands, locale="de")
    assert (await voice.understand(a_short_sound(), german)).outcome is Outcome.LANGUAGE
    assert not gate.entered.is_set()
    await voice.close()


async def test_the_pipeline_gives_up_at_its_deadline() -> None:
    gate = Gate()
    voice = VoicePipeline(VoiceConfig(executor="thread", timeout_s=0.2), recogniser=gate)
    try:
        note = a_short_sound()
        result = await voice.understand(note, MAKES)
        assert result.outcome is Outcome.TIMEOUT
        assert gate.entered.is_set()
    finally:
        gate.opened.set()
        await voice.close()
