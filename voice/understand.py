"""What an answer means on the current screen: one matcher for typed text and recognised speech.

The bot describes the screen as an `Expectation`: its options (`Choice`: the button label the
customer sees and the key the bot acts on), the command words it accepts ("next", "cancel"...),
and for input steps the `Shape` of the answer (digits of a serial number, a time, a percentage).

`match_text(text, expectation)` scores every option against what was typed or heard and gives a
`Match`: the candidates with scores, a confidence, and a verdict:

- ACT: one option is clearly meant; act on `match.best`.
- CONFIRM: a few options fit about as well (or speech was unsure); ask which, with
  `match.candidates` (at most three) as buttons.
- NOTHING: nothing fits; say so and show the screen again.

`match_heard(heard, expectation, snr_db=...)` does the same for a recogniser's n-best list; its
confidence is a calibrated probability that the heard option is the one meant (`CALIBRATION`,
fitted on the bench's TUNE split from the posterior, the n-best agreement, the note's SNR and
the kind of answer), so an unsure recognition asks rather than acts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Protocol

from rapidfuzz import fuzz

from voice.words import DIGIT_WORDS, FILLER, LETTERS, ONES, TENS, Word, spoken

# A clear winner scores at least ACT_SCORE and leads the runner-up by MARGIN; anything scoring
# CONFIRM_SCORE or more is worth offering. Scores are in [0, 1].
ACT_SCORE = 0.72
MARGIN = 0.12
CONFIRM_SCORE = 0.5
MAX_CANDIDATES = 3
# Speech: below SPEECH_CONFIRM (the recogniser's own belief, see match_heard) a note is treated
# as not understood; whether it is acted on is for CALIBRATION to say.
SPEECH_CONFIRM = 0.35
# voice.audio.snr_db of a note with no measurable background (and of text, which has none).
CLEAN_SNR_DB = 40.0


@dataclass(frozen=True)
class Evidence:
    """What the recogniser says about the option it heard, as numbers a calibration weighs."""

    posterior: float  # the best path's mean word posterior (its lattice)
    agreement: float  # the share of its n-best list naming the same option
    snr_db: float  # speech over background (voice.audio.snr_db), capped at CLEAN_SNR_DB
    command: bool  # the option is a command word ("back", "help": what noise is taken for)
    value: bool  # an input value (digits, a time)

    def vector(self) -> tuple[float, ...]:
        snr = min(max(self.snr_db, 0.0), CLEAN_SNR_DB) / 10
        return (self.posterior, self.agreement, snr, float(self.command), float(self.value))


@dataclass(frozen=True)
class Calibration:
    """P(the heard option is the one meant) = logistic(weights . evidence + bias), and the
    probability at which a note is acted on without asking.

    Fitted by `python -m bench.voice --fit` on the bench's TUNE split (other voices, speeds
    and noise than the EVAL split it reports), with `act` the lowest threshold that acts on
    no more than half a percent of wrong options there.

    `act_serial` is the bar for a serial number (a DIGITS or SERIAL input): one misheard digit
    makes the whole value wrong and the customer cannot tell from a glance, so asking "Did you
    mean ...?" costs far less than acting on it. Set from that cost (a wrong serial about 30
    asks: 30 / 31 = 0.97), not fitted: the TUNE split has no serial acted on wrongly."""

    weights: tuple[float, ...]
    bias: float
    act: float
    act_serial: float = 0.97

    def bar(self, candidate: Candidate, expectation: Expectation) -> float:
        """The probability at which `candidate` is acted on without asking."""
        shape = expectation.shape
        if candidate.kind is Kind.VALUE and shape is not None and shape.kind in SERIAL_SHAPES:
            return max(self.act, self.act_serial)
        return self.act

    def probability(self, evidence: Evidence) -> float:
        total = self.bias + sum(w * x for w, x in zip(self.weights, evidence.vector(), strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, total))))


CALIBRATION = Calibration(weights=(4.92, 8.08, 1.52, -4.91, -5.14), bias=-7.07, act=0.8)


class Verdict(StrEnum):
    ACT = "act"
    CONFIRM = "confirm"
    NOTHING = "nothing"


class Command(StrEnum):
    """Words every screen may accept besides its options; the bot says which ones apply."""

    NEXT = "next"
    PREVIOUS = "previous"
    BACK = "back"
    CANCEL = "cancel"
    HELP = "help"
    CHECK_NOW = "check_now"
    YES = "yes"
    NO = "no"
    SKIP = "skip"
    SHOW_ALL = "show_all"


COMMAND_PHRASES: dict[Command, tuple[str, ...]] = {
    Command.NEXT: ("next", "next page", "more", "show more", "next one", "go on", "forward"),
    Command.PREVIOUS: ("previous", "previous page", "page back", "last page", "go up"),
    Command.BACK: ("back", "go back"),
    Command.CANCEL: ("cancel", "stop", "quit", "cancel it", "never mind"),
    Command.HELP: ("help", "help me", "i need help", "what can i say"),
    Command.CHECK_NOW: ("check now", "check", "check again", "refresh"),
    Command.YES: ("yes", "yeah", "yep", "sure", "correct", "right", "that's right", "yes please"),
    Command.NO: ("no", "nope", "wrong", "no thanks", "not that"),
    Command.SKIP: ("skip", "skip it", "skip this", "i don't have it"),
    Command.SHOW_ALL: ("show all", "all of them", "show everything", "clear"),
}


class ShapeKind(StrEnum):
    DIGITS = "digits"  # a serial of digits, said one by one or in pairs
    SERIAL = "serial"  # digits and letters (letters said by name: "a b one two")
    TIME = "time"  # "seven thirty", "half past seven", "19:30" -> "07:30" / "19:30"
    PERCENT = "percent"  # "eighty percent", "80" -> "80"


# Inputs where one misheard word makes the whole value wrong (Calibration.act_serial).
SERIAL_SHAPES = frozenset({ShapeKind.DIGITS, ShapeKind.SERIAL})


@dataclass(frozen=True)
class Shape:
    """What an input step expects; `regex` (re.fullmatch, as Kraken gives it) is checked on
    the normalised value (upper-case for serials)."""

    kind: ShapeKind
    regex: str | None = None
    min_length: int = 1
    max_length: int = 24


@dataclass(frozen=True)
class Choice:
    """An option: the label as shown, the key the bot acts on, other ways people name it."""

    label: str
    key: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Expectation:
    choices: tuple[Choice, ...] = ()
    commands: tuple[Command, ...] = ()
    shape: Shape | None = None
    locale: str = "en"

    @staticmethod
    def of(
        choices: Sequence[Choice] = (),
        commands: Sequence[Command] = (),
        shape: Shape | None = None,
        locale: str = "en",
    ) -> Expectation:
        return Expectation(tuple(choices), tuple(commands), shape, locale)


class Kind(StrEnum):
    CHOICE = "choice"
    COMMAND = "command"
    VALUE = "value"


@dataclass(frozen=True)
class Candidate:
    """One reading of the answer: a choice (key = Choice.key), a command (key = Command
    value) or an input value (key = the normalised value, e.g. "07:30")."""

    kind: Kind
    key: str
    label: str
    score: float


@dataclass(frozen=True)
class Match:
    verdict: Verdict
    candidates: tuple[Candidate, ...] = ()
    confidence: float = 0.0
    heard: str = ""

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True)
class Hypothesis:
    text: str
    confidence: float  # the recogniser's belief in this text, in [0, 1]


@dataclass(frozen=True)
class Heard:
    """A recogniser's answer: distinct hypotheses, best first, each with the share of the
    recogniser's belief it holds (summing to at most 1); `details` may carry the best
    hypothesis's own posterior as "posterior"."""

    hypotheses: tuple[Hypothesis, ...] = ()
    engine: str = ""
    free: bool = False  # True when the grammar gave nothing and free recognition was used
    details: dict[str, float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.hypotheses[0].text if self.hypotheses else ""


class Recogniser(Protocol):
    """Audio (16 kHz mono int16 PCM) and what the screen accepts -> hypotheses.

    Engines run in a worker process (see voice.pipeline), so implementations hold their models
    as instance state and must be picklable as a recipe (build them in `__init__`, lazily)."""

    name: str
    languages: tuple[str, ...]

    def recognise(self, pcm: bytes, expectation: Expectation, deadline: float) -> Heard:
        """`deadline` is a time.monotonic() value after which the engine should give up
        (raise TimeoutError)."""
        ...


# Matching -------------------------------------------------------------------------------------

_NUMBERS = frozenset(ONES) | frozenset(TENS[2:]) | {"hundred", "thousand", "oh", "point"}


@dataclass(frozen=True)
class _Target:
    kind: Kind
    key: str
    label: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...]


# Words a label may contain that nobody needs to say to name it.
LABEL_FILLER = frozenset({"the", "a", "an", "of", "and", "or", "with", "my", "your", "i", "i've"})


def _content(words: Sequence[Word]) -> tuple[str, ...]:
    kept = tuple(w.text for w in words if not w.optional and w.text not in LABEL_FILLER)
    return kept or tuple(w.text for w in words)


def _choice_target(choice: Choice) -> _Target:
    words = spoken(choice.label)
    required = _content(words)
    optional = tuple(w.text for w in words if w.text not in required)
    extra = [_content(spoken(s)) for s in choice.synonyms]
    optional += tuple(word for phrase in extra for word in phrase)
    phrases = (required, *extra)
    return _Target(Kind.CHOICE, choice.key, choice.label, required, optional, phrases)


def _command_target(command: Command) -> _Target:
    phrases = tuple(tuple(p.split()) for p in COMMAND_PHRASES[command])
    return _Target(Kind.COMMAND, command.value, command.value, phrases[0], (), phrases)


def targets(expectation: Expectation) -> list[_Target]:
    found = [_choice_target(choice) for choice in expectation.choices]
    return found + [_command_target(command) for command in expectation.commands]


def _similar(said: str, word: str) -> float:
    if said == word:
        return 1.0
    if said in _NUMBERS or word in _NUMBERS or len(said) == 1 or len(word) == 1:
        return 0.0  # "sixty" is not "fifty"; "b" is not "d"
    similarity = fuzz.ratio(said, word) / 100
    return similarity if similarity >= 0.7 else 0.0


def _compact_score(said: Sequence[str], target: Sequence[str]) -> float:
    """'bmw' typed for b m w, 'volks wagen' for volkswagen: compare without spaces."""
    if not said or not target:
        return 0.0
    if any(w in _NUMBERS for w in (*said, *target)):
        return 1.0 if "".join(said) == "".join(target) else 0.0
    similarity = fuzz.ratio("".join(said), "".join(target)) / 100
    return similarity if similarity >= 0.8 else 0.0


def _score(everything: Sequence[str], target: _Target) -> float:
    """How well the words said name the target: every word said should belong to it
    (precision) and more of its words said is better (coverage). Filler ("the", "one",
    "with") counts only where the target has that word."""
    vocabulary = (*target.required, *target.optional)
    said = [s for s in everything if s not in FILLER or s in vocabulary]
    if not said:
        return 0.0
    best = 0.0
    for phrase in target.phrases:
        if tuple(said) == phrase:
            return 1.0
        if len(said) != len(phrase):  # glued or split words: "bmw", "volks wagen"
            best = max(best, _compact_score(said, phrase))
    precision = sum(max((_similar(s, w) for w in vocabulary), default=0.0) for s in said)
    precision /= len(said)
    covered = sum(max(_similar(s, w) for s in said) for w in target.required)
    coverage = covered / len(target.required) if target.required else 0.0
    if target.kind is Kind.COMMAND:
        coverage = max(coverage, *(_phrase_cover(said, p) for p in target.phrases))
        return max(best, precision * coverage)
    return max(best, precision * (0.75 + 0.25 * coverage))


def _phrase_cover(said: Sequence[str], phrase: Sequence[str]) -> float:
    return sum(max(_similar(s, w) for s in said) for w in phrase) / len(phrase)


def match_text(text: str, expectation: Expectation) -> Match:
    """Typed text (or one recognised sentence) against the screen."""
    words = spoken(text)
    everything = tuple(w.text for w in words)
    said = tuple(w.text for w in words if not w.optional) or everything  # units dropped
    scored: list[Candidate] = []
    for target in targets(expectation):
        score = _score(said, target)
        if score > 0:
            scored.append(Candidate(target.kind, target.key, target.label, round(score, 4)))
    if expectation.shape is not None:
        value = parse_value(everything, expectation.shape)
        if value is not None:
            scored.append(Candidate(Kind.VALUE, value, value, 0.95))
    return _verdict(scored, " ".join(everything))


def _verdict(scored: list[Candidate], heard: str) -> Match:
    ranked = sorted(scored, key=lambda c: (-c.score, c.kind != Kind.COMMAND))
    ranked = _distinct(ranked)
    if not ranked or ranked[0].score < CONFIRM_SCORE:
        return Match(Verdict.NOTHING, (), ranked[0].score if ranked else 0.0, heard)
    best = ranked[0]
    runner_up = ranked[1].score if len(ranked) > 1 else 0.0
    if best.score >= ACT_SCORE and best.score - runner_up >= MARGIN:
        return Match(Verdict.ACT, (best,), best.score, heard)
    close = [c for c in ranked if c.score >= max(CONFIRM_SCORE, best.score - 0.15)]
    return Match(Verdict.CONFIRM, tuple(close[:MAX_CANDIDATES]), best.score, heard)


def _distinct(ranked: list[Candidate]) -> list[Candidate]:
    seen: set[tuple[Kind, str]] = set()
    out = []
    for candidate in ranked:
        if (candidate.kind, candidate.key) not in seen:
            seen.add((candidate.kind, candidate.key))
            out.append(candidate)
    return out


Votes = dict[tuple[Kind, str], float]
Named = dict[tuple[Kind, str], Candidate]


def speech_evidence(
    heard: Heard, expectation: Expectation, snr_db: float | None = None
) -> tuple[Match, Evidence | None, Votes, Named]:
    """The best hypothesis matched as text, the evidence for the option it names (None when
    it names nothing), and the n-best list's votes per option with the candidate each names."""
    first = match_text(heard.text, expectation)
    votes: Votes = {}
    named: Named = {}
    for index, hypothesis in enumerate(heard.hypotheses):
        match = first if index == 0 else match_text(hypothesis.text, expectation)
        if match.verdict is Verdict.NOTHING or match.best is None:
            continue
        key = (match.best.kind, match.best.key)
        votes[key] = votes.get(key, 0.0) + hypothesis.confidence
        named.setdefault(key, match.best)
    best = first.best
    if best is None:
        return first, None, votes, named
    evidence = Evidence(
        posterior=heard.details.get("posterior", 0.0),
        agreement=min(1.0, votes.get((best.kind, best.key), 0.0)),
        snr_db=CLEAN_SNR_DB if snr_db is None else snr_db,
        command=best.kind is Kind.COMMAND,
        value=best.kind is Kind.VALUE,
    )
    return first, evidence, votes, named


def match_heard(
    heard: Heard,
    expectation: Expectation,
    *,
    snr_db: float | None = None,
    calibration: Calibration | None = None,
) -> Match:
    """A recogniser's answer against the screen. The best hypothesis is matched as text; the
    note is acted on only when that match is clear and the calibrated probability that it is
    right (CALIBRATION: from the posterior, the n-best agreement, how noisy the note is and
    whether it names a command) reaches the calibration's bar (higher for a serial number).
    Otherwise the options the best hypothesis and the runners-up name are offered, or nothing
    when the recogniser's own belief is below SPEECH_CONFIRM. `snr_db` is voice.audio.snr_db
    of the note."""
    if not heard.hypotheses:
        return Match(Verdict.NOTHING)
    calibration = calibration or CALIBRATION
    first, evidence, votes, named = speech_evidence(heard, expectation, snr_db)
    best = first.best
    belief = max(evidence.posterior, evidence.agreement) if evidence is not None else 0.0
    confidence = calibration.probability(evidence) if evidence is not None else 0.0
    if (
        first.verdict is Verdict.ACT
        and best is not None
        and confidence >= calibration.bar(best, expectation)
    ):
        return Match(
            Verdict.ACT, (replace(best, score=round(confidence, 4)),), confidence, heard.text
        )
    offered = list(first.candidates) if first.verdict is not Verdict.NOTHING else []
    for key, share in sorted(votes.items(), key=lambda item: -item[1]):
        if share >= SPEECH_CONFIRM / 2 and all((c.kind, c.key) != key for c in offered):
            offered.append(named[key])
    if not offered or max(belief, *votes.values(), 0.0) < SPEECH_CONFIRM:
        return Match(Verdict.NOTHING, (), confidence, heard.text)
    return Match(Verdict.CONFIRM, tuple(offered[:MAX_CANDIDATES]), confidence, heard.text)


# Input values ---------------------------------------------------------------------------------

VALUE_FILLER = frozenset(
    {"the", "it's", "it", "is", "its", "my", "at", "by", "about", "around", "please", "uh", "um"}
)
_TEENS_AND_TENS = {word: index for index, word in enumerate(ONES)} | {
    word: 10 * index for index, word in enumerate(TENS) if index >= 2
}
_TYPED_TIME = re.compile(r"\b(\d{1,2})(?:[:.h](\d{2}))?\s*([ap])?\.?\s*m?\b", re.IGNORECASE)


def parse_value(words: Sequence[str], shape: Shape) -> str | None:
    """The answer in the form the step wants, or None when the words do not have its shape."""
    words = [w for w in words if w not in VALUE_FILLER]
    value: str | None
    if shape.kind is ShapeKind.TIME:
        value = parse_time(words)
    elif shape.kind is ShapeKind.PERCENT:
        value = parse_percent(words)
    else:
        value = parse_serial(words, letters=shape.kind is ShapeKind.SERIAL)
        if value is not None and not shape.min_length <= len(value) <= shape.max_length:
            value = None
    if value is None or (shape.regex and not re.fullmatch(shape.regex, value)):
        return None
    return value


def parse_serial(words: Sequence[str], *, letters: bool) -> str | None:
    """'one two three four' -> 1234, 'double five' -> 55, 'twelve thirty four' -> 1234,
    and with letters 'a b one two' -> AB12."""
    out: list[str] = []
    repeat = 1
    index = 0
    while index < len(words):
        word = words[index]
        if word in ("double", "triple"):
            repeat = 2 if word == "double" else 3
            index += 1
            continue
        if word in DIGIT_WORDS:
            out.append(str(DIGIT_WORDS[word]) * repeat)
        elif word in _TEENS_AND_TENS:
            number = _TEENS_AND_TENS[word]
            following = words[index + 1] if index + 1 < len(words) else ""
            if number >= 20 and following in DIGIT_WORDS and following != "oh":
                number += DIGIT_WORDS[following]
                index += 1
            out.append(str(number) * repeat)
        elif letters and len(word) == 1 and word in LETTERS:
            out.append(word.upper() * repeat)
        elif word.isdigit() or (letters and word.isalnum() and word.isascii()):
            out.append(word.upper())
        else:
            return None
        repeat = 1
        index += 1
    return "".join(out) or None


def _number(words: Sequence[str]) -> int | None:
    """'seventy eight' -> 78, 'nineteen' -> 19, '80' -> 80; None for anything else."""
    if not words:
        return None
    if len(words) == 1 and words[0].isdigit():
        return int(words[0])
    total = 0
    for index, word in enumerate(words):
        if word not in _TEENS_AND_TENS:
            if word == "hundred" and index == len(words) - 1 and total and total < 10:
                return total * 100
            return None
        value = _TEENS_AND_TENS[word]
        if total and not (total % 10 == 0 and total >= 20 and value < 10):
            return None
        total += value
    return total


def parse_percent(words: Sequence[str]) -> str | None:
    words = [w for w in words if w not in ("percent", "per", "cent", "%")]
    number = _number(words)
    return str(number) if number is not None and 0 <= number <= 100 else None


def parse_time(words: Sequence[str]) -> str | None:
    """'seven thirty' -> 07:30, 'half past seven' -> 07:30, 'quarter to eight' -> 07:45,
    'seven thirty p m' -> 19:30, 'nineteen hundred' -> 19:00, 'noon' -> 12:00, '7:30' -> 07:30."""
    text = " ".join(words)
    if text in ("noon", "midday"):
        return "12:00"
    if text == "midnight":
        return "00:00"
    typed = _TYPED_TIME.fullmatch(text.replace(" ", "")) if any(c.isdigit() for c in text) else None
    if typed:
        return _clock(int(typed.group(1)), int(typed.group(2) or 0), typed.group(3))
    meridiem = None
    rest = list(words)
    for marks, value in ((["p", "m"], "p"), (["a", "m"], "a"), (["pm"], "p"), (["am"], "a")):
        if rest[-len(marks) :] == marks:
            meridiem, rest = value, rest[: -len(marks)]
            break
    if rest[-1:] == ["o'clock"] or rest[-2:] == ["o", "clock"]:
        rest = rest[: -1 if rest[-1] == "o'clock" else -2]
    after = _number(rest[2:])
    for lead, minutes in (("half", 30), ("quarter", 15)):
        if rest[:2] in ([lead, "past"], [lead, "after"]) and after:
            return _clock(after, minutes, meridiem)
    if rest[:2] == ["quarter", "to"] and after:
        return _clock(after - 1 if after > 1 else 12, 45, meridiem)
    for split in range(1, len(rest) + 1):
        hour = _number(rest[:split])
        tail = rest[split:]
        if hour is None:
            continue
        if not tail:
            return _clock(hour, 0, meridiem)
        if tail == ["hundred"]:
            return _clock(hour, 0, meridiem)
        if tail[0] == "oh" and len(tail) == 2 and tail[1] in DIGIT_WORDS:
            return _clock(hour, DIGIT_WORDS[tail[1]], meridiem)
        minute = _number(tail)
        if minute is not None and 10 <= minute < 60:
            return _clock(hour, minute, meridiem)
    return None


def _clock(hour: int, minute: int, meridiem: str | None) -> str | None:
    if meridiem == "p" and hour < 12:
        hour += 12
    elif meridiem == "a" and hour == 12:
        hour = 0
    if not (0 <= hour < 24 and 0 <= minute < 60):
        return None
    return f"{hour:02d}:{minute:02d}"
