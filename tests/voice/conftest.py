"""Spoken test audio, made with the shipped voice (no recordings in the repo, no downloads)."""

from __future__ import annotations

import functools
import math

import numpy as np

from voice.audio import TELEGRAM_RECORDER, encode_ogg_opus, float_to_pcm
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


def hum_and_hiss(samples: int, rate: int, seed: int) -> np.ndarray:
    """A fan or heat pump unit: pink noise and a 110 Hz motor hum, at unit level."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    spectrum /= np.sqrt(np.arange(1, len(spectrum) + 1))
    pink = np.fft.irfft(spectrum, samples)
    seconds = np.arange(samples) / rate
    hum = sum(np.sin(2 * math.pi * 110 * k * seconds) / k for k in (1, 2, 3))
    noise: np.ndarray = pink / pink.std() + 0.5 * hum
    scaled: np.ndarray = noise / noise.std()
    return scaled


@functools.cache
def noisy_note(text: str, snr_db: float, seed: int = 2) -> bytes:
    """`text` said over a fan's noise `snr_db` below the speech, recorded as Telegram does."""
    tts = synthesiser().tts
    pad = np.zeros(int(0.5 * tts.sample_rate), np.float32)
    speech = np.concatenate([pad, tts(text, seed=0), pad])
    level = np.mean(speech[np.abs(speech) > 0.02 * np.abs(speech).max()] ** 2)
    noise = hum_and_hiss(len(speech), tts.sample_rate, seed) * math.sqrt(
        level / 10 ** (snr_db / 10)
    )
    mixed = speech + noise
    mixed /= max(1.0, float(np.abs(mixed).max()))
    return encode_ogg_opus(float_to_pcm(mixed), tts.sample_rate, TELEGRAM_RECORDER)
