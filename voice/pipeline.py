"""The async face of voice/: understand a voice note, speak a screen, off the event loop.

Decoding and recognition hold the GIL (pocketsphinx does not release it), so by default they
run in a pool of worker *processes* sized by `VoiceConfig.workers`: a long note occupies one
worker while the event loop goes on serving other chats. Every request has a deadline: past
`timeout_s` the caller gets Outcome.TIMEOUT, and the worker stops decoding at its next
one-second chunk.

    pipeline = VoicePipeline(VoiceConfig(workers=1))
    result = await pipeline.understand(ogg_bytes, expectation)
    if result.outcome is Outcome.UNDERSTOOD and result.match.verdict is Verdict.ACT: ...
    speech = await pipeline.speak_screen(screen_text, button_labels)   # Speech(ogg, duration_s)
    await pipeline.close()
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from voice.audio import Audio, AudioError, AudioTooLong, decode, denoise, snr_db, speech_span
from voice.speech import (
    HibariSynthesiser,
    MemorySpeechCache,
    Speech,
    SpeechCache,
    cache_key,
    from_cache,
    speakable,
)
from voice.sphinx import PocketSphinxRecogniser
from voice.understand import Expectation, Heard, Match, Recogniser, Verdict, match_heard


class Outcome(StrEnum):
    UNDERSTOOD = "understood"  # `match` says what was meant (its verdict may still be NOTHING)
    SILENCE = "silence"  # no speech in the note
    UNDECODABLE = "undecodable"  # not audio we can read
    TOO_LONG = "too_long"  # longer than MAX_VOICE_SECONDS once decoded
    TIMEOUT = "timeout"  # the pipeline's deadline passed
    LANGUAGE = "language"  # no recogniser for the screen's locale (English only for now)


@dataclass(frozen=True)
class Understanding:
    outcome: Outcome
    match: Match = field(default_factory=lambda: Match(Verdict.NOTHING))
    duration_s: float = 0.0
    heard: Heard | None = None
    seconds: float = 0.0  # time spent decoding and recognising
    snr_db: float | None = None  # speech above background (voice.audio.snr_db), before denoising


@dataclass(frozen=True)
class VoiceConfig:
    workers: int = 1
    executor: Literal["process", "thread"] = "process"
    timeout_s: float = 20.0
    cache_items: int = 256
    cache_bytes: int = 16 * 1024 * 1024
    denoise: bool = True  # take steady background noise out before recognition


def understand_audio(
    data: bytes,
    expectation: Expectation,
    recogniser: Recogniser,
    deadline: float,
    *,
    reduce_noise: bool = True,
) -> Understanding:
    """Decode, find the speech, take the background out (voice.audio.denoise: at 10 dB SNR
    it turns about a quarter of the misheard notes into right ones), recognise, match: the
    whole job, blocking."""
    started = time.perf_counter()
    try:
        audio = decode(data)
    except AudioTooLong:
        return Understanding(Outcome.TOO_LONG)
    except AudioError:
        return Understanding(Outcome.UNDECODABLE)
    span = speech_span(audio)
    if span is None:
        return Understanding(Outcome.SILENCE, duration_s=audio.duration)
    cleaned = denoise(audio) if reduce_noise else audio
    speech = Audio(cleaned.pcm[span[0] : span[1]])
    try:
        heard = recogniser.recognise(speech.pcm, expectation, deadline)
    except TimeoutError:
        return Understanding(Outcome.TIMEOUT, duration_s=audio.duration)
    noise = snr_db(audio, span)
    match = match_heard(heard, expectation, snr_db=noise)
    elapsed = time.perf_counter() - started
    return Understanding(Outcome.UNDERSTOOD, match, audio.duration, heard, elapsed, noise)


# Worker side: one recogniser and one synthesiser per worker process (or shared by threads).
_WORKER: dict[str, Any] = {}


def _init_worker(recogniser: Recogniser, synthesiser: HibariSynthesiser) -> None:
    _WORKER["recogniser"] = recogniser
    _WORKER["synthesiser"] = synthesiser


def _understand_job(
    data: bytes, expectation: Expectation, deadline: float, reduce_noise: bool
) -> Understanding:
    return understand_audio(
        data, expectation, _WORKER["recogniser"], deadline, reduce_noise=reduce_noise
    )


def _speak_job(text: str, locale: str) -> Speech:
    synthesiser: HibariSynthesiser = _WORKER["synthesiser"]
    return synthesiser.synthesise(text, locale)


def _warm_job() -> bool:
    recogniser = _WORKER["recogniser"]
    recogniser.recognise(b"\x00\x00" * 1600, Expectation(), time.monotonic() + 30)
    _WORKER["synthesiser"].synthesise("Ready.")
    return True


class VoicePipeline:
    def __init__(
        self,
        config: VoiceConfig | None = None,
        *,
        recogniser: Recogniser | None = None,
        synthesiser: HibariSynthesiser | None = None,
        cache: SpeechCache | None = None,
    ) -> None:
        self.config = config or VoiceConfig()
        self.recogniser = recogniser or PocketSphinxRecogniser()
        self.synthesiser = synthesiser or HibariSynthesiser()
        self.cache: SpeechCache = (
            cache
            if cache is not None
            else MemorySpeechCache(self.config.cache_items, self.config.cache_bytes)
        )
        self._executor: Executor | None = None

    @property
    def executor(self) -> Executor:
        if self._executor is None:
            workers = max(1, self.config.workers)
            initializer = functools.partial(_init_worker, self.recogniser, self.synthesiser)
            if self.config.executor == "thread":
                # Threads share one recogniser: keep to one so decoders never interleave.
                self._executor = ThreadPoolExecutor(1, "voice", initializer=initializer)
            else:
                self._executor = ProcessPoolExecutor(
                    workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=initializer,
                )
        return self._executor

    async def start(self) -> None:
        """Load the models in every worker now rather than on the first note."""
        loop = asyncio.get_running_loop()
        workers = 1 if self.config.executor == "thread" else max(1, self.config.workers)
        await asyncio.gather(
            *(loop.run_in_executor(self.executor, _warm_job) for _ in range(workers))
        )

    async def understand(self, data: bytes, expectation: Expectation) -> Understanding:
        """A voice note or audio file (bytes as downloaded) against the current screen."""
        if expectation.locale.split("-")[0] not in self.recogniser.languages:
            return Understanding(Outcome.LANGUAGE)
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + self.config.timeout_s
        job = loop.run_in_executor(
            self.executor, _understand_job, data, expectation, deadline, self.config.denoise
        )
        try:
            return await asyncio.wait_for(job, self.config.timeout_s)
        except TimeoutError:
            return Understanding(Outcome.TIMEOUT)

    async def speak(self, text: str, locale: str = "en") -> Speech:
        """`text` as a voice note, from the cache when it was said before."""
        key = cache_key(text, locale, self.synthesiser.voice)
        cached = await self.cache.get(key)
        if cached is not None:
            return from_cache(cached)
        loop = asyncio.get_running_loop()
        job = loop.run_in_executor(self.executor, _speak_job, text, locale)
        speech = await asyncio.wait_for(job, self.config.timeout_s)
        await self.cache.set(key, speech.ogg)
        return speech

    async def speak_screen(
        self, screen_text: str, choice_labels: Sequence[str], locale: str = "en"
    ) -> Speech:
        return await self.speak(speakable(screen_text, choice_labels), locale)

    async def close(self) -> None:
        """Stop the workers. Cached speech stays available; new work starts them again."""
        if self._executor is not None:
            executor, self._executor = self._executor, None
            await asyncio.get_running_loop().run_in_executor(None, executor.shutdown)
