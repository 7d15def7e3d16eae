"""Spoken answers: a screen's text made speakable, synthesised offline, encoded as a voice note.

The voice is hibari's "heart" (American English, female), the only voice its wheel ships: the
others download on first use, which a worker without network cannot do, so they are refused
here rather than failing at run time. It reads about 100x faster than real time on one core
(a screen takes tens of milliseconds) and sounds natural (UTMOS 4.4, distilled from Kokoro).

Synthesised notes are cached per (text, locale, voice): `SpeechCache` is the interface the bot
backs with Redis or disk; `MemorySpeechCache` is a bounded in-process LRU.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from voice.audio import encode_ogg_opus, float_to_pcm, ogg_duration
from voice.words import for_speech

VOICE = "heart"  # shipped in hibari's wheel; see the module docstring
SPEAKS = ("en",)
MAX_SPOKEN_CHOICES = 8
MAX_SPOKEN_CHARS = 1200


class SpeechUnavailable(Exception):
    """No voice for this locale, or the synthesiser cannot start."""


@dataclass(frozen=True)
class Speech:
    """An OGG/Opus voice note, ready for sendVoice."""

    ogg: bytes
    duration_s: float
    mime_type: str = "audio/ogg"


class SpeechCache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes) -> None: ...


class MemorySpeechCache:
    """Least recently used notes, bounded by count and total bytes."""

    def __init__(self, max_items: int = 256, max_bytes: int = 16 * 1024 * 1024) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0

    async def get(self, key: str) -> bytes | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes) -> None:
        if len(value) > self.max_bytes:
            return
        old = self._items.pop(key, None)
        self._bytes -= len(old) if old is not None else 0
        self._items[key] = value
        self._bytes += len(value)
        while len(self._items) > self.max_items or self._bytes > self.max_bytes:
            _, evicted = self._items.popitem(last=False)
            self._bytes -= len(evicted)

    def __len__(self) -> int:
        return len(self._items)


def cache_key(text: str, locale: str, voice: str = VOICE) -> str:
    digest = hashlib.sha256(f"{locale}\x00{voice}\x00{text}".encode()).hexdigest()
    return f"tts:{locale}:{voice}:{digest[:32]}"


def _joined(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} or {items[1]}"
    return ", ".join(items[:-1]) + f", or {items[-1]}"


def speakable(screen_text: str, choice_labels: Sequence[str], *, lead: str = "Say or tap") -> str:
    """What the voice reads for a screen: its text without emoji, URLs, HTML or button
    arrows, ending with the choices: '... Say or tap: Tesla, Volkswagen, BMW, or next page.'"""
    body = for_speech(screen_text)
    body = re.sub(r"\n+", ". ", body)
    body = re.sub(r"([.!?:])\.", r"\1", body)
    labels = [label for label in (for_speech(c) for c in choice_labels) if label]
    labels = list(dict.fromkeys(labels))
    if len(labels) > MAX_SPOKEN_CHOICES:
        labels = labels[:MAX_SPOKEN_CHOICES]
    ending = f"{lead}: {_joined(labels)}." if labels else ""
    if body and body[-1] not in ".!?":
        body += "."
    text = " ".join(part for part in (body, ending) if part)
    return text[:MAX_SPOKEN_CHARS]


class HibariSynthesiser:
    """Text -> Speech with hibari (onnxruntime, one thread). Built lazily: send it to worker
    processes as a recipe."""

    name = "hibari"

    def __init__(self, voice: str = VOICE, speed: float = 1.0) -> None:
        if voice != VOICE:
            raise SpeechUnavailable(f"voice {voice!r} is not shipped in the wheel")
        self.voice = voice
        self.speed = speed
        self._tts: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"voice": self.voice, "speed": self.speed}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    @property
    def tts(self) -> Any:
        if self._tts is None:
            try:
                from hibari import Hibari  # type: ignore[import-untyped]
            except ImportError as error:
                raise SpeechUnavailable("hibari-tts is not installed") from error
            self._tts = Hibari(voice=self.voice, threads=1)
        return self._tts

    def synthesise(self, text: str, locale: str = "en") -> Speech:
        if locale.split("-")[0] not in SPEAKS:
            raise SpeechUnavailable(f"no voice for {locale!r}")
        tts = self.tts
        audio = tts(text, speed=self.speed, seed=0)
        ogg = encode_ogg_opus(float_to_pcm(audio), int(tts.sample_rate))
        return Speech(ogg, len(audio) / float(tts.sample_rate))


_DEFAULT: HibariSynthesiser | None = None


def synthesise(text: str, locale: str = "en") -> bytes:
    """OGG/Opus bytes for `text` (blocking; the pipeline runs it off the event loop)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = HibariSynthesiser()
    return _DEFAULT.synthesise(text, locale).ogg


def from_cache(data: bytes) -> Speech:
    return Speech(data, ogg_duration(data))
