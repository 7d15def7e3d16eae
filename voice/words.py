"""Text to the words a person would say: 'Model 3 Highland · 78 kWh' -> model three highland
seventy eight (kilowatt hours).

One normaliser serves the grammar the recogniser listens for, the matcher that scores typed and
recognised text against the options, and the bench that speaks labels aloud. English only.

A label becomes a list of `Word`s; a word is *optional* when people leave it out when they say
the label (units, years in brackets, filler such as "the"). Digits become number words ("78"
-> seventy eight, "2024" -> twenty twenty four, "007" -> zero zero seven), short capitalised
acronyms are spelled ("BMW" -> b m w), mixed tokens are split where letters meet digits or case
changes ("iX3" -> i x three, "eVito" -> e vito), emoji and punctuation disappear.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
DIGIT_WORDS = {word: index for index, word in enumerate(ONES[:10])} | {"oh": 0}
LETTERS = tuple("abcdefghijklmnopqrstuvwxyz")

# Said or not when people read a label aloud; the matcher gives them little weight.
UNIT_WORDS: dict[str, tuple[str, ...]] = {
    "kwh": ("kilowatt", "hours"),
    "kw": ("kilowatt",),
    "kg": ("kilograms",),
    "km": ("kilometres",),
}
# Short capitalised words read as words, not spelled ("Smart PRO", "Rolec EVO").
READ_AS_WORDS = frozenset({"pro", "evo", "max", "air", "one", "go", "eco", "kia", "plus", "mini"})
FILLER = frozenset(
    [
        "the",
        "a",
        "an",
        "my",
        "our",
        "its",
        "it's",
        "it",
        "is",
        "i",
        "i'm",
        "i've",
        "im",
        "ive",
        "have",
        "got",
        "we've",
        "one",
        "ones",
        "with",
        "please",
        "that",
        "this",
        "model's",
        "which",
        "uh",
        "um",
        "er",
        "erm",
        "like",
        "think",
        "it",
        "okay",
        "ok",
        "so",
        "and",
        "or",
        "of",
        "to",
        "for",
    ]
)
# Joined forms people type: "kwh" is one token but two spoken words.
_SYMBOL_WORDS = {"&": "and", "+": "plus", "#": "number", "@": "at", "%": "percent"}
_TOKEN = re.compile(r"[A-Za-z]+|\d+(?:[.,]\d+)?|[&+#@%]")
_CASE_SPLIT = re.compile(r"[a-z]+|[A-Z][a-z]+|[A-Z]+(?![a-z])")
_URL = re.compile(r"https?://\S+|\bt\.me/\S+|www\.\S+")
_BRACKETS = re.compile(r"\(([^()]*)\)")
_VOWELS = frozenset("aeiouy")


@dataclass(frozen=True)
class Word:
    text: str
    optional: bool = False


def strip_marks(text: str) -> str:
    """Drop accents (Citroën -> Citroen), emoji, arrows and other symbols; keep letters,
    digits, spacing and the punctuation the tokenizer reads."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = []
    for char in decomposed:
        category = unicodedata.category(char)
        if category == "Mn":
            continue  # combining accent
        if category.startswith(("L", "N")) or char in " \t\n.,:;!?'’()-–—/&+#@%·":
            kept.append(char)
        else:
            kept.append(" ")
    return "".join(kept)


def number_words(value: int) -> list[str]:
    """Cardinal words for 0..999,999 ('1250' -> one thousand two hundred fifty)."""
    if value < 20:
        return [ONES[value]]
    if value < 100:
        tens, ones = divmod(value, 10)
        return [TENS[tens]] + ([ONES[ones]] if ones else [])
    if value < 1000:
        hundreds, rest = divmod(value, 100)
        return [ONES[hundreds], "hundred"] + (number_words(rest) if rest else [])
    thousands, rest = divmod(value, 1000)
    return [*number_words(thousands), "thousand"] + (number_words(rest) if rest else [])


def year_words(value: int) -> list[str]:
    """'2019' -> twenty nineteen, '2005' -> two thousand five, '1990' -> nineteen ninety."""
    high, low = divmod(value, 100)
    if value % 1000 < 10 and high % 10 == 0:
        return number_words(value)
    if low == 0:
        return [*number_words(high), "hundred"]
    low_words = number_words(low) if low >= 10 else ["oh", ONES[low]]
    return [*number_words(high), *low_words]


def digits_words(digits: str) -> list[str]:
    """How a run of digits is said: a number, a year, or digit by digit."""
    if len(digits) > 1 and digits.startswith("0"):
        return [ONES[int(d)] for d in digits]
    value = int(digits)
    if len(digits) == 4 and 1900 <= value <= 2099:
        return year_words(value)
    if len(digits) <= 4:
        return number_words(value)
    return [ONES[int(d)] for d in digits]


def _number_token(token: str) -> list[str]:
    if "." in token or "," in token:
        whole, _, fraction = token.replace(",", ".").partition(".")
        if len(fraction) == 3 and "," in token:  # 1,250: a thousands separator
            return digits_words(whole + fraction)
        return [*digits_words(whole), "point", *(ONES[int(d)] for d in fraction)]
    return digits_words(token)


def _letters_token(token: str) -> list[str]:
    words: list[str] = []
    for part in _CASE_SPLIT.findall(token) or [token]:
        lower = part.lower()
        spell = part.isupper() and len(part) > 1 and lower not in READ_AS_WORDS
        spell = spell and (len(part) <= 3 or not (_VOWELS & set(lower)))
        if spell:
            words.extend(lower)
        else:
            words.append(lower)
    return words


def spoken(text: str) -> list[Word]:
    """The words of `text` as said aloud, each marked optional or not."""
    text = _URL.sub(" ", text)
    words: list[Word] = []
    cursor = 0
    for bracket in _BRACKETS.finditer(text):
        words.extend(_plain(text[cursor : bracket.start()], optional=False))
        words.extend(_plain(bracket.group(1), optional=True))
        cursor = bracket.end()
    words.extend(_plain(text[cursor:], optional=False))
    return words


def _plain(text: str, *, optional: bool) -> list[Word]:
    cleaned = strip_marks(text)
    tokens = _TOKEN.findall(cleaned)
    words: list[Word] = []
    for index, token in enumerate(tokens):
        lower = token.lower()
        if lower in UNIT_WORDS and (index > 0 and tokens[index - 1][0].isdigit()):
            words.extend(Word(w, optional=True) for w in UNIT_WORDS[lower])
        elif token == "%":
            words.append(Word("percent", optional))
        elif token in _SYMBOL_WORDS:
            # "#1" is said "number one" or just "one"
            words.append(Word(_SYMBOL_WORDS[token], optional or token == "#"))
        elif token[0].isdigit():
            words.extend(Word(w, optional) for w in _number_token(token))
        else:
            words.extend(Word(w, optional) for w in _letters_token(token))
    return words


def spoken_text(text: str) -> str:
    """Every word, optional or not, as one lower-case string."""
    return " ".join(word.text for word in spoken(text))


def for_speech(text: str) -> str:
    """A label or screen text cleaned for a text-to-speech voice: emoji, arrows, URLs and
    bullets removed, separators turned into pauses; words and digits left for the voice."""
    text = _URL.sub("", text)
    text = re.sub(r"<[^>]+>", "", text)  # HTML the bot renders with
    text = text.replace("·", ",").replace("–", " to ").replace("—", ", ")
    kept = []
    for char in unicodedata.normalize("NFC", text):
        category = unicodedata.category(char)
        if category.startswith(("L", "N", "Z")) or char in ".,:;!?'’()-/&%\n":
            kept.append(char)
        else:
            kept.append(" ")
    cleaned = re.sub(r"[ \t]+", " ", "".join(kept))
    cleaned = re.sub(r"\s+([.,:;!?])", r"\1", cleaned)
    cleaned = re.sub(r"\(\s*\)", "", cleaned)
    return re.sub(r" *\n+ *", "\n", cleaned).strip()
