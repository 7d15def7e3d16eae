"""Speaking a screen: what is read, the voice note it becomes, and the cache in front of it."""

from __future__ import annotations

import pytest

from tests.voice.conftest import synthesiser
from voice.audio import decode
from voice.speech import (
    HibariSynthesiser,
    MemorySpeechCache,
    SpeechUnavailable,
    cache_key,
    speakable,
    synthesise,
)


def test_a_screen_is_read_without_emoji_links_or_markup_and_ends_with_the_choices() -> None:
    text = speakable(
        "<b>Which make is your car?</b>\n🚗 Details: https://example.com/cars\nPage 1 of 6",
        ["Tesla", "Volkswagen", "BMW", "Next ▶", "✖ Cancel"],
    )
    assert text == (
        "Which make is your car? Details: Page 1 of 6. "
        "Say or tap: Tesla, Volkswagen, BMW, Next, or Cancel."
    )


def test_two_choices_and_none() -> None:
    assert speakable("Stop now?", ["Yes, stop", "No, keep going"]).endswith(
        "Say or tap: Yes, stop or No, keep going."
    )
    assert speakable("Connected!", []) == "Connected!"


def test_model_labels_read_naturally() -> None:
    text = speakable("Which model?", ["Model 3 Highland (2024 onwards) · 78 kWh"])
    assert text.endswith("Model 3 Highland (2024 onwards), 78 kWh.")


async def test_the_memory_cache_is_bounded_least_recently_used_first() -> None:
    cache = MemorySpeechCache(max_items=2, max_bytes=10)
    await cache.set("a", b"1234")
    await cache.set("b", b"5678")
    assert await cache.get("a") == b"1234"  # a is now the most recent
    await cache.set("c", b"90")
    assert await cache.get("b") is None and await cache.get("a") == b"1234"
    await cache.set("d", b"123456789")  # over the byte budget with a: a goes
    assert await cache.get("a") is None and len(cache) == 1
    await cache.set("huge", b"x" * 11)  # bigger than the whole cache: not kept
    assert await cache.get("huge") is None


def test_cache_keys_tell_texts_locales_and_voices_apart() -> None:
    keys = {cache_key("Hello", "en"), cache_key("Hello", "de"), cache_key("Hello!", "en")}
    keys.add(cache_key("Hello", "en", voice="other"))
    assert len(keys) == 4


def test_the_shipped_voice_makes_a_voice_note() -> None:
    speech = synthesiser().synthesise("Say or tap: Tesla, or next page.")
    assert speech.mime_type == "audio/ogg" and speech.ogg.startswith(b"OggS")
    assert 1.0 < speech.duration_s < 6.0
    assert decode(speech.ogg).duration == pytest.approx(speech.duration_s, abs=0.1)
    assert synthesise("Hello.").startswith(b"OggS")


def test_voices_that_download_at_run_time_and_other_languages_are_refused() -> None:
    with pytest.raises(SpeechUnavailable):
        HibariSynthesiser(voice="emma")
    with pytest.raises(SpeechUnavailable):
        synthesiser().synthesise("Bonjour", locale="fr")
