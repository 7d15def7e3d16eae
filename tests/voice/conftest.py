"""Spoken test audio, made with the shipped voice (no recordings in the repo, no downloads)."""

from __future__ import annotations

import functools
import math

import numpy as np

from voice.audio import encode_ogg_opus, float_to_pcm
from voice.speech import HibariSynthesiser


@functools.cache
def synthesiser() -> HibariSynthesiser:
    return HibariSynthesiser()


@functools.cache
def spoken_note(text: str) -> bytes:
    """`text` said by the shipped voice, as a Telegram voice note (OGG/Opus)."""
    tts = synthesiser().tts
    audio = tts(text, seed=0)
    pad = np.zeros(int(0.3 * tts.sample_rate), np.float32)
    return encode_ogg_opus(float_to_pcm(np.concatenate([pad, audio, pad])), tts.sample_rate)


def tone(seconds: float, rate: int = 16_000, hz: float = 300.0, level: float = 0.3) -> np.ndarray:
    n = np.arange(int(seconds * rate))
    return float_to_pcm(level * np.sin(2 * math.pi * hz * n / rate).astype(np.float32))


def silence(seconds: float, rate: int = 16_000) -> np.ndarray:
    return np.zeros(int(seconds * rate), dtype="<i2")
