"""Decoding what users send and encoding what the bot says, with PyAV."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from tests.voice.conftest import silence, tone
from voice.audio import (
    RATE,
    Audio,
    AudioError,
    AudioTooLong,
    decode,
    encode_ogg_opus,
    ogg_duration,
    speech_span,
)


def wav_bytes(samples: np.ndarray, rate: int, channels: int = 1) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.repeat(samples, channels).astype("<i2").tobytes())
    return out.getvalue()


def test_a_voice_note_round_trips_at_16_khz_mono() -> None:
    note = encode_ogg_opus(tone(1.5, rate=24_000), 24_000)
    assert note.startswith(b"OggS") and b"OpusHead" in note[:200]
    assert ogg_duration(note) == pytest.approx(1.5, abs=0.05)
    audio = decode(note)
    assert audio.rate == RATE
    assert audio.duration == pytest.approx(1.5, abs=0.05)
    assert np.abs(audio.array()).max() > 5000  # the tone survived


def test_common_files_are_resampled_and_mixed_down() -> None:
    audio = decode(wav_bytes(tone(1.0, rate=44_100), 44_100, channels=2))
    assert audio.duration == pytest.approx(1.0, abs=0.02)
    assert len(audio.pcm) == 2 * audio.samples


@pytest.mark.parametrize("data", [b"", b"this is not audio", b"OggS" + bytes(100)])
def test_what_is_not_audio_is_an_audio_error(data: bytes) -> None:
    with pytest.raises(AudioError):
        decode(data)


def test_decoding_stops_past_the_limit() -> None:
    with pytest.raises(AudioTooLong):
        decode(wav_bytes(tone(3.0), RATE), max_seconds=2.0)


def test_silence_has_no_speech_and_speech_is_found_inside_it() -> None:
    assert speech_span(Audio(silence(2.0).tobytes())) is None
    quiet_hum = (tone(2.0, level=0.002)).tobytes()  # far below speech level
    assert speech_span(Audio(quiet_hum)) is None
    pcm = np.concatenate([silence(1.0), tone(0.5), silence(1.0)])
    span = speech_span(Audio(pcm.tobytes()), margin_s=0.1)
    assert span is not None
    start, end = (offset // 2 / RATE for offset in span)
    assert 0.85 <= start <= 1.0 and 1.5 <= end <= 1.65
