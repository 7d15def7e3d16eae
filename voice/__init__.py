"""Speech in and out for the assistant, offline: no Telegram, no Redis, no network.

What the bot calls:

    from voice import (VoicePipeline, VoiceConfig, Outcome, Expectation, Choice, Command,
                       Shape, ShapeKind, Verdict, match_text, MAX_VOICE_SECONDS, MAX_AUDIO_BYTES)

    # typed text and speech go through the same matcher
    match = match_text("the highland one with 78", expectation)      # Match(verdict, candidates)

    pipeline = VoicePipeline(VoiceConfig(workers=2, timeout_s=20))    # worker processes
    result = await pipeline.understand(downloaded_bytes, expectation)  # Understanding
    speech = await pipeline.speak_screen(screen.text, button_labels)   # Speech(ogg, duration_s)

Modules: `voice.words` (labels -> speakable words), `voice.understand` (Expectation, the
matcher, the Recogniser protocol), `voice.sphinx` (pocketsphinx engine), `voice.audio` (PyAV
decode/encode, limits), `voice.speech` (hibari voice, speakable text, cache), `voice.pipeline`
(async, off the event loop, with a deadline).
"""

from voice.audio import MAX_AUDIO_BYTES, MAX_VOICE_SECONDS, AudioError, decode, encode_ogg_opus
from voice.pipeline import Outcome, Understanding, VoiceConfig, VoicePipeline
from voice.speech import MemorySpeechCache, Speech, SpeechCache, speakable, synthesise
from voice.understand import (
    Candidate,
    Choice,
    Command,
    Expectation,
    Heard,
    Hypothesis,
    Kind,
    Match,
    Recogniser,
    Shape,
    ShapeKind,
    Verdict,
    match_heard,
    match_text,
)

__all__ = [
    "MAX_AUDIO_BYTES",
    "MAX_VOICE_SECONDS",
    "AudioError",
    "Candidate",
    "Choice",
    "Command",
    "Expectation",
    "Heard",
    "Hypothesis",
    "Kind",
    "Match",
    "MemorySpeechCache",
    "Outcome",
    "Recogniser",
    "Shape",
    "ShapeKind",
    "Speech",
    "SpeechCache",
    "Understanding",
    "Verdict",
    "VoiceConfig",
    "VoicePipeline",
    "decode",
    "encode_ogg_opus",
    "match_heard",
    "match_text",
    "speakable",
    "synthesise",
]
