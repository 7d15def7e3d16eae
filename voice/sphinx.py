"""Offline recognition with pocketsphinx against a grammar of what the screen accepts.

The wheel ships CMU's US-English acoustic model, dictionary (134k words) and language model; no
download happens at run time. For each screen a JSGF grammar is built from the `Expectation`:

    <options> | <commands> | <value>

where an option is its label's spoken words with the optional ones (units, years) in brackets,
or any run of its required words ("highland seventy eight"), commands are their phrases, and
an input step's value is a loop of digits/letters, a time or a percentage. Words the dictionary
lacks (Zeekr, myenergi, Vaillant) get pronunciations from hibari's grapheme-to-phoneme rules,
converted to the recogniser's phone set; hibari's reading of known words is added as an
alternative pronunciation when it differs.

Confidence: pocketsphinx's word posteriors (from its lattice) for the best path, and the other
distinct paths of its n-best list. When the grammar finds nothing the note is decoded again
with the free language model and the text goes through the same matcher ("fall back to free
recognition").

Features are computed with a fixed frequency warp (WARP): the shipped model then hears
higher-pitched voices about as well as deep ones.

Decoding holds the GIL, so this runs in a worker process (voice.pipeline); one Decoder per
process, built on first use, grammars cached per screen.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

from voice.understand import (
    COMMAND_PHRASES,
    LABEL_FILLER,
    Expectation,
    Heard,
    Hypothesis,
    ShapeKind,
)
from voice.words import LETTERS, ONES, TENS, spoken

log = logging.getLogger(__name__)

FRAME_RATE = 100  # pocketsphinx frames per second
MAX_GRAMMARS = 128
# Words people put before or after an answer. Kept few: every extra path is one more thing
# a short or noisy note can be mistaken for (measured with bench/voice).
CARRIERS: tuple[str, ...] = ()  # bench/voice: "the", "my", "it's" cost more than they gave
# The grammar listens for the first GRAMMAR_PHRASES phrases of each command; the text matcher
# still accepts every phrase in COMMAND_PHRASES (typed, or heard by free recognition).
GRAMMAR_PHRASES = 2
# Short command words ("back", "help") are what noise is most often taken for, and acting on
# one by mistake costs the most: the grammar weighs them below the screen's options.
COMMAND_WEIGHT = 0.1
CARRIER_WORDS = frozenset({"the", "my", "please"})
FREE_SEARCH = "_default"  # pocketsphinx's name for the language model it loads by default
# Frequency warping (vocal tract length normalisation, f -> f / 1.3 before the mel filters): the
# acoustic model hears higher-pitched voices far better (bench/voice TUNE split, "treble" voice:
# top-1 91% -> 98% clean, 73% -> 89% at 10 dB SNR) and deep ones the same (1.1, 1.2 and 1.3
# tried; the deepest voice lost one note in 68 at 1.2 and none at 1.1).
WARP: dict[str, Any] = {"warp_type": "inverse_linear", "warp_params": "1.3"}
FREE_SETTINGS: dict[str, Any] = {
    "beam": 1e-30,
    "wbeam": 1e-20,
    "maxhmmpf": 3000,
    "fwdflat": False,
    **WARP,
}
GRAMMAR_SETTINGS: dict[str, Any] = {**WARP}
NUMBER_WORDS = (*ONES, *TENS[2:], "hundred", "thousand", "oh", "point")
LITTLE_WORDS = LABEL_FILLER | {"not", "no", "none", "any", "other"}

# misaki (hibari's phoneme alphabet) -> CMU phones. Two-character entries first.
_MISAKI_PAIRS = {"ɜɹ": "ER", "əɹ": "ER"}
_MISAKI = {
    "ʤ": "JH",
    "ʧ": "CH",
    "A": "EY",
    "I": "AY",
    "W": "AW",
    "Y": "OY",
    "O": "OW",
    "Q": "OW",
    "i": "IY",
    "u": "UW",
    "ɑ": "AA",
    "ɒ": "AA",
    "a": "AA",
    "ɔ": "AO",
    "ɛ": "EH",
    "e": "EH",
    "ɜ": "ER",
    "ɚ": "ER",
    "ɪ": "IH",
    "ɨ": "IH",
    "ᵻ": "IH",
    "ʊ": "UH",
    "ʌ": "AH",
    "ə": "AH",
    "ᵊ": "AH",
    "ɐ": "AH",
    "æ": "AE",
    "o": "OW",
    "ø": "UW",
    "œ": "ER",
    "ɯ": "UW",
    "y": "UW",
    "b": "B",
    "d": "D",
    "f": "F",
    "h": "HH",
    "k": "K",
    "l": "L",
    "m": "M",
    "n": "N",
    "p": "P",
    "s": "S",
    "t": "T",
    "v": "V",
    "w": "W",
    "z": "Z",
    "ɡ": "G",
    "g": "G",
    "ŋ": "NG",
    "ɹ": "R",
    "r": "R",
    "ʃ": "SH",
    "ʒ": "ZH",
    "ð": "DH",
    "θ": "TH",
    "j": "Y",
    "T": "D",
    "ɾ": "D",
    "ʔ": "T",
    "x": "K",
    "ç": "HH",
    "c": "K",
    "q": "K",
}


def misaki_to_cmu(phonemes: str) -> str:
    """'hˈɑndə' -> 'HH AA N D AH'; stress marks, spaces and punctuation are dropped."""
    phones: list[str] = []
    index = 0
    while index < len(phonemes):
        pair = phonemes[index : index + 2]
        if pair in _MISAKI_PAIRS:
            phones.append(_MISAKI_PAIRS[pair])
            index += 2
            continue
        phone = _MISAKI.get(phonemes[index])
        if phone is not None:
            phones.append(phone)
        index += 1
    return " ".join(phones)


class Pronouncer:
    """Pronunciations from hibari's G2P (shipped in its wheel); None when it is missing."""

    def __init__(self) -> None:
        self._g2p: Any = None
        self._tried = False

    def __call__(self, word: str) -> str | None:
        if not self._tried:
            self._tried = True
            try:
                from hibari.g2p import G2P  # type: ignore[import-untyped]

                self._g2p = G2P()
            except Exception:
                log.warning("hibari G2P unavailable: words outside the dictionary are dropped")
        if self._g2p is None:
            return None
        try:
            phonemes = self._g2p(word)
        except Exception:
            return None
        phones = misaki_to_cmu(str(phonemes))
        return phones or None


def _jsgf_phrase(words: Sequence[tuple[str, bool]]) -> str:
    """Words with optional ones bracketed: model three [kilowatt hours]."""
    parts: list[str] = []
    for word, optional in words:
        parts.append(f"[{word}]" if optional else word)
    return " ".join(parts)


def _runs(words: Sequence[str], longest: int = 4) -> Iterable[tuple[str, ...]]:
    """Parts of a label people say on their own ("highland seventy eight"): runs of its
    words that carry a name, not a lone letter, number or little word ("not" of "not listed":
    those are what noise and short names are mistaken for most often)."""
    for start in range(len(words)):
        for end in range(start + 1, min(len(words), start + longest) + 1):
            run = tuple(words[start:end])
            if len(run) < len(words) and any(_names(w) for w in run):
                yield run


def _names(word: str) -> bool:
    return len(word) > 2 and word not in NUMBER_WORDS and word not in LITTLE_WORDS


class GrammarBook:
    """JSGF text and the words it needs, for one Expectation."""

    def __init__(self, expectation: Expectation) -> None:
        self.words: set[str] = set()
        seen: set[str] = set()

        def add(into: list[str], phrase: str) -> None:
            if phrase and phrase not in seen:
                seen.add(phrase)
                into.append(phrase)
                self.words.update(w.strip("[]") for w in phrase.split())

        options: list[str] = []
        for choice in expectation.choices:
            for text in (choice.label, *choice.synonyms):
                words = [(w.text, w.optional) for w in spoken(text)]
                if not words:
                    continue
                add(options, _jsgf_phrase(words))
                required = [w for w, optional in words if not optional]
                for run in _runs(required):
                    add(options, " ".join(run))
        commands: list[str] = []
        for command in expectation.commands:
            for phrase in COMMAND_PHRASES[command][:GRAMMAR_PHRASES]:
                add(commands, " ".join(w.text for w in spoken(phrase)))
        rules: list[str] = []
        top: list[str] = []
        if options:
            rules.append("<choice> = " + " | ".join(options) + ";")
            top.append("/1/ <choice>")
        if commands:
            rules.append("<command> = " + " | ".join(commands) + ";")
            top.append(f"/{COMMAND_WEIGHT}/ <command>")
        shape = expectation.shape
        if shape is not None:
            rules.extend(self._shape_rules(shape.kind))
            top.append("/1/ <value>")
        body = " | ".join(top) if top else "<VOID>"
        head = []
        if CARRIERS:
            head = [f"<carrier> = {' | '.join(CARRIERS)};"]
            self.words.update(w for c in CARRIERS for w in c.split())
            body = f"[<carrier>] ({body})"
        self.text = "\n".join(
            ["#JSGF V1.0;", "grammar screen;", *head, *rules, f"public <answer> = {body};"]
        )
        self.key = hashlib.sha1(self.text.encode()).hexdigest()[:16]

    def _shape_rules(self, kind: ShapeKind) -> list[str]:
        digits = [*ONES[:10], "oh", "double", "triple"]
        if kind in (ShapeKind.DIGITS, ShapeKind.SERIAL):
            items = list(digits)
            if kind is ShapeKind.SERIAL:
                items += list(LETTERS)
            self.words.update(items)
            return [f"<value> = ({' | '.join(items)})+;"]
        hours = list(ONES[1:13])
        minutes = [*(f"{t} {o}" for t in TENS[2:6] for o in ONES[1:10]), *TENS[2:6], *ONES[10:20]]
        minutes += [f"oh {o}" for o in ONES[1:10]]
        if kind is ShapeKind.TIME:
            self.words.update(
                [*hours, *ONES[13:24], "twenty", "o'clock", "half", "quarter", "past", "to"]
            )
            self.words.update(["a", "m", "p", "noon", "midnight", "hundred", "oh", *TENS[2:6]])
            self.words.update(ONES[1:20])
            return [
                f"<hour> = {' | '.join(hours)};",
                f"<minute> = {' | '.join(minutes)};",
                "<value> = (<hour> [<minute> | o'clock | hundred] [a m | p m])"
                " | ((half | quarter) past <hour>) | (quarter to <hour>) | noon | midnight;",
            ]
        percents = [f"{t} {o}" for t in TENS[2:] for o in ONES[1:10]] + list(TENS[2:])
        percents += [*ONES[1:20], "one hundred", "a hundred"]
        self.words.update(w for p in percents for w in p.split())
        self.words.update(["percent"])
        return [f"<value> = ({' | '.join(percents)}) [percent];"]


class PocketSphinxRecogniser:
    """The `Recogniser` shipped: pocketsphinx, US English."""

    name = "pocketsphinx"
    languages: tuple[str, ...] = ("en",)

    def __init__(self, *, free_fallback: bool = True, nbest: int = 10) -> None:
        self.free_fallback = free_fallback
        self.nbest = nbest
        self._decoder: Any = None
        self._pronounce = Pronouncer()
        self._grammars: OrderedDict[str, str] = OrderedDict()
        self._known: set[str] = set()
        self._cmn = ""
        self._free: Any = None

    def __getstate__(self) -> dict[str, Any]:
        """Sent to worker processes as a recipe: the decoder is built there."""
        return {"free_fallback": self.free_fallback, "nbest": self.nbest}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    # Set-up ------------------------------------------------------------------------------------

    @property
    def decoder(self) -> Any:
        if self._decoder is None:
            from pocketsphinx import Decoder  # type: ignore[import-untyped]

            self._decoder = Decoder(loglevel="FATAL", lm=None, **GRAMMAR_SETTINGS)
            self._cmn = self._decoder.get_cmn()
        return self._decoder

    @property
    def free_decoder(self) -> Any:
        """The language-model decoder, with narrower beams than the grammar's: it only runs
        when the grammar found nothing, and must not blow the time budget on noise."""
        if self._free is None:
            from pocketsphinx import Decoder

            self._free = Decoder(loglevel="FATAL", **FREE_SETTINGS)
        return self._free

    def _ensure_word(self, word: str) -> bool:
        if word in self._known:
            return True
        decoder = self.decoder
        have = decoder.lookup_word(word)
        hibari = self._pronounce(word) if re.fullmatch(r"[a-z']+", word) else None
        if have is None and not hibari:
            return False
        if have is None:
            decoder.add_word(word, hibari, True)
        elif hibari and hibari != have and len(word) > 2:
            decoder.add_word(f"{word}(9)", hibari, True)
        self._known.add(word)
        return True

    def _search_for(self, expectation: Expectation) -> str | None:
        book = GrammarBook(expectation)
        if book.key in self._grammars:
            self._grammars.move_to_end(book.key)
            return self._grammars[book.key]
        missing = [w for w in sorted(book.words) if not self._ensure_word(w)]
        text = book.text
        for word in missing:  # no pronunciation at all: leave the phrases using it out
            text = re.sub(rf"(?<![\w']){re.escape(word)}(?![\w'])", "<VOID>", text)
        name = f"g{book.key}"
        try:
            self.decoder.add_jsgf_string(name, text)
        except Exception:
            log.warning("grammar refused by pocketsphinx", exc_info=True)
            return None
        self._grammars[book.key] = name
        if len(self._grammars) > MAX_GRAMMARS:
            _, old = self._grammars.popitem(last=False)
            self.decoder.remove_search(old)
        return name

    # Recognition -------------------------------------------------------------------------------

    def recognise(self, pcm: bytes, expectation: Expectation, deadline: float) -> Heard:
        search = self._search_for(expectation)
        if search is not None:
            heard = self._decode(pcm, search, deadline)
            if heard.hypotheses:
                return heard
        if not self.free_fallback:
            return Heard(engine=self.name)
        return self._decode(pcm, FREE_SEARCH, deadline)

    def _decode(self, pcm: bytes, search: str, deadline: float) -> Heard:
        if time.monotonic() > deadline:
            raise TimeoutError("recognition took too long")
        grammar = search != FREE_SEARCH
        decoder = self.decoder if grammar else self.free_decoder
        decoder.activate_search(search)
        # Every note starts from the model's cepstral mean: left to itself the decoder carries
        # the last note's over, and one noisy note would spoil the next clean one.
        decoder.set_cmn(self._cmn)
        decoder.start_utt()
        try:
            decoder.process_raw(pcm, False, True)
        finally:
            decoder.end_utt()
        best = decoder.hyp()
        if best is None or not best.hypstr.strip():
            return Heard(engine=self.name)
        text = _clean(best.hypstr)
        if grammar and not decoder.get_fsg(search).accept(text):
            # No path reached the end of the grammar: pocketsphinx hands back the best partial
            # one ("i have the"), which means the grammar found nothing.
            return Heard(engine=self.name, details={"partial": 1.0})
        words = [s for s in decoder.seg() if not _is_filler(s.word)]
        content = [s for s in words if _clean(s.word) not in CARRIER_WORDS] or words
        posterior = sum(min(1.0, s.prob) for s in content) / len(content) if content else 0.0
        # The n-best list, duplicates and all: how much of it names the same thing is the
        # second opinion match_heard weighs against the posterior.
        listed: list[str] = []
        for alternative in decoder.nbest():
            if len(listed) >= self.nbest or alternative is None:
                break
            listed.append(_clean(alternative.hypstr))
        shares = {text: 0.0}
        for other in listed:
            if other and (not grammar or decoder.get_fsg(search).accept(other)):
                shares[other] = shares.get(other, 0.0) + 1.0 / len(listed)
        hypotheses = tuple(Hypothesis(t, share) for t, share in shares.items())
        details = {"posterior": posterior, "frames": float(decoder.n_frames())}
        return Heard(hypotheses, self.name, not grammar, details)


def _is_filler(word: str) -> bool:
    return word.startswith(("<", "[", "+")) or word in ("<sil>", "</s>", "<s>")


def _clean(hypstr: str) -> str:
    return " ".join(re.sub(r"\(\d+\)$", "", w) for w in hypstr.split() if not _is_filler(w))
