"""The matcher that typed text and recognised speech share: options, commands, input values."""

from __future__ import annotations

from dataclasses import replace

import pytest

from voice.understand import (
    CALIBRATION,
    Calibration,
    Choice,
    Command,
    Evidence,
    Expectation,
    Heard,
    Hypothesis,
    Kind,
    Shape,
    ShapeKind,
    Verdict,
    match_heard,
    match_text,
)
from voice.words import spoken_text

TESLA = [
    Choice("Model 3 (2019–2023) · 54 kWh", "m3-54"),
    Choice("Model 3 (2019–2023) · 75 kWh", "m3-75"),
    Choice("Model 3 Highland (2024 onwards) · 60 kWh", "hl-60"),
    Choice("Model 3 Highland (2024 onwards) · 78 kWh", "hl-78"),
    Choice("Model Y (2021 onwards) · 75 kWh", "y-75"),
    Choice("Model S (2014–2021) · 75 kWh", "s-75"),
]
MAKES = [Choice(m, m.lower()) for m in ("Tesla", "Volkswagen", "BMW", "Mercedes-Benz", "Honda")]
LIST = (Command.NEXT, Command.PREVIOUS, Command.BACK, Command.CANCEL, Command.HELP)


@pytest.mark.parametrize(
    ("label", "words"),
    [
        ("Model 3 Highland · 78 kWh", "model three highland seventy eight kilowatt hours"),
        ("🚗 My car (recommended)", "my car recommended"),
        ("BMW iX3", "b m w i x three"),
        ("Next ▶", "next"),
        ("Citroën ë-C4", "citroen e c four"),
        ("Zeekr 001", "zeekr zero zero one"),
        ("Model S (2014–2021)", "model s twenty fourteen twenty twenty one"),
        ("Smart PRO 2.5", "smart pro two point five"),
    ],
)
def test_labels_become_speakable_words(label: str, words: str) -> None:
    assert spoken_text(label) == words


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("the highland one with 78", "hl-78"),
        ("model 3 78kwh", "hl-78"),
        ("Model Y", "y-75"),
        ("model 3 highland seventy eight", "hl-78"),
    ],
)
def test_typed_text_picks_an_unambiguous_option(typed: str, key: str) -> None:
    match = match_text(typed, Expectation.of(TESLA, LIST))
    assert match.verdict is Verdict.ACT
    assert match.best is not None and (match.best.kind, match.best.key) == (Kind.CHOICE, key)


@pytest.mark.parametrize(
    ("typed", "keys"),
    [
        ("highland", {"hl-60", "hl-78"}),
        ("seventy five", {"m3-75", "y-75", "s-75"}),
    ],
)
def test_ambiguous_text_offers_the_close_candidates(typed: str, keys: set[str]) -> None:
    match = match_text(typed, Expectation.of(TESLA, LIST))
    assert match.verdict is Verdict.CONFIRM
    assert {c.key for c in match.candidates} == keys
    assert len(match.candidates) <= 3


@pytest.mark.parametrize("typed", ["tesla", "Tesla", "tesle", "I have a tesla", "the tesla please"])
def test_a_make_is_found_despite_case_typos_and_filler(typed: str) -> None:
    match = match_text(typed, Expectation.of(MAKES, LIST))
    assert match.verdict is Verdict.ACT and match.best is not None
    assert match.best.key == "tesla"


def test_spelled_and_glued_names_match() -> None:
    expectation = Expectation.of(MAKES, LIST)
    for typed in ("bmw", "b m w", "B.M.W."):
        best = match_text(typed, expectation).best
        assert best is not None and best.key == "bmw", typed
    best = match_text("volks wagen", expectation).best
    assert best is not None and best.key == "volkswagen"


@pytest.mark.parametrize("typed", ["banana", "what is this", "", "🙂"])
def test_nothing_close_is_no_match(typed: str) -> None:
    match = match_text(typed, Expectation.of(MAKES, LIST))
    assert match.verdict is Verdict.NOTHING and match.candidates == ()


@pytest.mark.parametrize(
    ("typed", "command"),
    [
        ("next", Command.NEXT),
        ("next page", Command.NEXT),
        ("go back", Command.BACK),
        ("cancel", Command.CANCEL),
        ("stop", Command.CANCEL),
        ("help", Command.HELP),
    ],
)
def test_command_words(typed: str, command: Command) -> None:
    match = match_text(typed, Expectation.of(MAKES, LIST))
    assert match.verdict is Verdict.ACT and match.best is not None
    assert (match.best.kind, match.best.key) == (Kind.COMMAND, command.value)


def test_commands_the_screen_does_not_accept_are_not_matched() -> None:
    match = match_text("next page", Expectation.of(MAKES, (Command.CANCEL,)))
    assert match.verdict is Verdict.NOTHING


@pytest.mark.parametrize(
    ("said", "value"),
    [
        ("seven thirty", "07:30"),
        ("half past seven", "07:30"),
        ("quarter to eight", "07:45"),
        ("seven o'clock", "07:00"),
        ("7:30 pm", "19:30"),
        ("19:30", "19:30"),
        ("nineteen hundred", "19:00"),
        ("six oh five", "06:05"),
        ("noon", "12:00"),
    ],
)
def test_times(said: str, value: str) -> None:
    match = match_text(said, Expectation.of((), (), Shape(ShapeKind.TIME)))
    assert match.verdict is Verdict.ACT and match.best is not None
    assert (match.best.kind, match.best.key) == (Kind.VALUE, value)


@pytest.mark.parametrize(
    ("said", "kind", "value"),
    [
        ("one two three four five six seven eight", ShapeKind.DIGITS, "12345678"),
        ("double five twelve thirty four", ShapeKind.DIGITS, "551234"),
        ("oh one two three four five six seven", ShapeKind.DIGITS, "01234567"),
        ("a b one two three four five six", ShapeKind.SERIAL, "AB123456"),
        ("ab123456", ShapeKind.SERIAL, "AB123456"),
        ("eighty percent", ShapeKind.PERCENT, "80"),
        ("80%", ShapeKind.PERCENT, "80"),
    ],
)
def test_input_values(said: str, kind: ShapeKind, value: str) -> None:
    match = match_text(said, Expectation.of((), (), Shape(kind, r"[A-Z0-9]+|\d+")))
    assert match.best is not None and match.best.key == value


def test_a_value_must_fit_the_steps_regex_and_length() -> None:
    shape = Shape(ShapeKind.DIGITS, r"[A-Z0-9]{8,20}", 8, 20)
    assert match_text("one two three", Expectation.of((), (), shape)).verdict is Verdict.NOTHING
    assert (
        match_text(
            "one hundred and ten percent", Expectation.of((), (), Shape(ShapeKind.PERCENT))
        ).verdict
        is Verdict.NOTHING
    )


# The matcher's logic with a calibration of its own: the shipped one is refitted as the bench
# learns (python -m bench.voice --fit), these rules are not.
CALIBRATED = Calibration(weights=(3.0, 8.0, 1.0, -4.0, -4.0), bias=-8.0, act=0.9)


def test_speech_acts_only_when_the_recogniser_is_sure() -> None:
    expectation = Expectation.of(MAKES, LIST)
    sure = Heard((Hypothesis("tesla", 0.95),))
    assert match_heard(sure, expectation, calibration=CALIBRATED).verdict is Verdict.ACT
    torn = Heard((Hypothesis("honda", 0.5), Hypothesis("tesla", 0.45)))
    unsure = match_heard(torn, expectation, calibration=CALIBRATED)
    assert unsure.verdict is Verdict.CONFIRM
    assert [c.key for c in unsure.candidates] == ["honda", "tesla"]
    noise = Heard((Hypothesis("tesla", 0.1),))
    assert match_heard(noise, expectation, calibration=CALIBRATED).verdict is Verdict.NOTHING
    assert match_heard(Heard(), expectation, calibration=CALIBRATED).verdict is Verdict.NOTHING


def test_agreement_across_the_n_best_list_makes_speech_sure_and_the_posterior_adds_to_it() -> None:
    expectation = Expectation.of(MAKES, LIST)
    split = Heard(
        (Hypothesis("tesla", 0.5), Hypothesis("the tesla", 0.45), Hypothesis("honda", 0.05))
    )
    assert (
        match_heard(split, expectation, calibration=CALIBRATED).verdict is Verdict.ACT
    )  # 95% of the list: Tesla
    torn = (Hypothesis("tesla", 0.45), Hypothesis("honda", 0.4), Hypothesis("the tesla", 0.05))
    unsure = match_heard(
        Heard(torn, details={"posterior": 0.3}), expectation, calibration=CALIBRATED
    )
    assert unsure.verdict is Verdict.CONFIRM
    surer = match_heard(
        Heard(torn, details={"posterior": 0.95}), expectation, calibration=CALIBRATED
    )
    assert surer.confidence > unsure.confidence


def test_command_words_need_more_certainty_than_options() -> None:
    """Command words ("back", "help") are what noise is most often taken for: the same
    evidence that acts on an option asks before going back."""
    expectation = Expectation.of(MAKES, LIST)
    back = match_heard(
        Heard((Hypothesis("go back", 0.7),), details={"posterior": 0.7}),
        expectation,
        calibration=CALIBRATED,
    )
    assert back.verdict is Verdict.CONFIRM
    assert [(c.kind, c.key) for c in back.candidates] == [(Kind.COMMAND, "back")]
    tesla = match_heard(
        Heard((Hypothesis("tesla", 0.7),), details={"posterior": 0.7}),
        expectation,
        calibration=CALIBRATED,
    )
    assert tesla.verdict is Verdict.ACT
    sure_back = Heard((Hypothesis("go back", 1.0),), details={"posterior": 0.95})
    assert match_heard(sure_back, expectation, calibration=CALIBRATED).verdict is Verdict.ACT


def test_a_low_snr_answer_the_recogniser_is_torn_about_asks_with_both_options() -> None:
    expectation = Expectation.of(MAKES, LIST)
    torn = Heard(
        (Hypothesis("tesla", 0.45), Hypothesis("honda", 0.4), Hypothesis("the tesla", 0.05)),
        details={"posterior": 0.3},
    )
    asked = match_heard(torn, expectation, snr_db=12, calibration=CALIBRATED)
    assert asked.verdict is Verdict.CONFIRM
    assert [c.key for c in asked.candidates] == ["tesla", "honda"]
    assert asked.confidence < CALIBRATED.act
    assert match_heard(torn, expectation, snr_db=40, calibration=CALIBRATED).confidence > (
        asked.confidence
    )


def test_the_calibration_is_a_probability_that_grows_with_the_evidence() -> None:
    weak = Evidence(posterior=0.2, agreement=0.2, snr_db=10, command=False, value=False)
    strong = replace(weak, posterior=0.95, agreement=1.0, snr_db=35)
    assert 0.0 < CALIBRATION.probability(weak) < 0.5 < CALIBRATION.probability(strong) < 1.0
    assert CALIBRATION.probability(replace(strong, command=True)) < CALIBRATION.probability(strong)


def test_a_serial_number_needs_more_certainty_than_an_option_or_a_time() -> None:
    """One misheard digit makes a serial number wrong: evidence that acts on a time asks
    "Did you mean ...?" with the serial as heard."""
    calibration = replace(CALIBRATED, act_serial=0.97)
    details = {"posterior": 0.8}
    time = match_heard(
        Heard((Hypothesis("seven thirty", 1.0),), details=details),
        Expectation.of((), (), Shape(ShapeKind.TIME)),
        calibration=calibration,
    )
    assert time.verdict is Verdict.ACT
    assert calibration.act <= time.confidence < calibration.act_serial
    serial = Expectation.of((), (), Shape(ShapeKind.DIGITS, r"[A-Z0-9]{8,20}", 8, 20))
    heard = Heard((Hypothesis("one two three four five six seven eight", 1.0),), details=details)
    asked = match_heard(heard, serial, calibration=calibration)
    assert asked.verdict is Verdict.CONFIRM
    assert [(c.kind, c.key) for c in asked.candidates] == [(Kind.VALUE, "12345678")]
    assert asked.confidence == time.confidence
    sure = match_heard(heard, serial, calibration=replace(calibration, act_serial=0.9))
    assert sure.verdict is Verdict.ACT
