"""pocketsphinx against the screen's grammar, on notes spoken by the shipped voice."""

from __future__ import annotations

import time

import pytest

from tests.voice.conftest import noisy_note, spoken_note
from voice.audio import decode, denoise, snr_db, speech_span
from voice.pipeline import understand_audio
from voice.sphinx import GrammarBook, PocketSphinxRecogniser, misaki_to_cmu
from voice.understand import (
    Choice,
    Command,
    Expectation,
    Shape,
    ShapeKind,
    Verdict,
    match_heard,
)

HEAT_PUMPS = Expectation.of(
    [Choice(m, m) for m in ("Daikin", "Octopus Energy", "Mitsubishi Electric", "Vaillant")],
    (Command.NEXT, Command.BACK, Command.CANCEL),
)
READY_BY = Expectation.of((), (Command.CANCEL,), Shape(ShapeKind.TIME))


@pytest.fixture(scope="module")
def recogniser() -> PocketSphinxRecogniser:
    return PocketSphinxRecogniser()


def hear(recogniser: PocketSphinxRecogniser, text: str, expectation: Expectation) -> str:
    audio = decode(spoken_note(text))
    span = speech_span(audio)
    assert span is not None
    heard = recogniser.recognise(audio.pcm[span[0] : span[1]], expectation, time.monotonic() + 30)
    return heard.text


@pytest.mark.parametrize(
    ("phonemes", "phones"),
    [("hˈɑndə", "HH AA N D AH"), ("zˈikəɹ", "Z IY K ER"), ("ʤˈæɡjuˌɑɹ", "JH AE G Y UW AA R")],
)
def test_hibari_phonemes_become_cmu_phones(phonemes: str, phones: str) -> None:
    assert misaki_to_cmu(phonemes) == phones


def test_the_grammar_holds_the_screens_words() -> None:
    book = GrammarBook(
        Expectation.of(
            [Choice("Model 3 Highland (2024 onwards) · 78 kWh", "hl-78")], (Command.NEXT,)
        )
    )
    assert "model three highland [twenty] [twenty] [four] [onwards] seventy eight" in book.text
    assert "| highland seventy eight" in book.text and "| next page" in book.text
    assert "| seventy eight |" not in book.text  # a lone number is what noise turns into
    digits = GrammarBook(Expectation.of((), (), Shape(ShapeKind.DIGITS)))
    assert "<value> = (zero | one | two" in digits.text


def test_words_missing_from_the_dictionary_are_pronounced(
    recogniser: PocketSphinxRecogniser,
) -> None:
    assert recogniser.decoder.lookup_word("zeekr") is None
    expectation = Expectation.of([Choice("Zeekr", "zeekr"), Choice("Volvo", "volvo")])
    assert hear(recogniser, "Zeekr", expectation) == "zeekr"


@pytest.mark.parametrize(
    ("said", "key"),
    [("Daikin", "Daikin"), ("Mitsubishi Electric", "Mitsubishi Electric"), ("cancel", "cancel")],
)
def test_options_and_commands_are_heard(
    recogniser: PocketSphinxRecogniser, said: str, key: str
) -> None:
    text = hear(recogniser, said, HEAT_PUMPS)
    heard_match = match_heard(
        recogniser.recognise(decode(spoken_note(said)).pcm, HEAT_PUMPS, time.monotonic() + 30),
        HEAT_PUMPS,
    )
    assert heard_match.best is not None and heard_match.best.key == key, text
    assert heard_match.verdict is not Verdict.NOTHING


def test_a_ready_by_time_is_heard(recogniser: PocketSphinxRecogniser) -> None:
    assert hear(recogniser, "seven thirty", READY_BY) == "seven thirty"


def test_a_recogniser_travels_to_worker_processes_as_a_recipe() -> None:
    import pickle

    used = PocketSphinxRecogniser(nbest=4)
    used.decoder  # noqa: B018 - build the (unpicklable) decoder
    copy = pickle.loads(pickle.dumps(used))
    assert copy.nbest == 4 and copy._decoder is None


@pytest.mark.parametrize("said", ["Octopus Energy", "next page"])
def test_noise_reduction_makes_a_note_over_a_fan_recognisable(
    recogniser: PocketSphinxRecogniser, said: str
) -> None:
    """5 dB below a fan's hum and hiss the raw note is misheard; with the background taken
    out of its spectrum the recogniser hears what was said, and the pipeline finds it."""
    audio = decode(noisy_note(said, snr_db=5))
    span = speech_span(audio)
    assert span is not None and snr_db(audio, span) < 20

    def heard(pcm: bytes) -> str:
        return recogniser.recognise(pcm[span[0] : span[1]], HEAT_PUMPS, time.monotonic() + 30).text

    assert heard(audio.pcm) != said.lower()
    assert heard(denoise(audio).pcm) == said.lower()
    result = understand_audio(
        noisy_note(said, snr_db=5), HEAT_PUMPS, recogniser, time.monotonic() + 30
    )
    expected = "next" if said == "next page" else said
    assert result.match.best is not None and result.match.best.key == expected
