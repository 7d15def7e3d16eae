"""The spoken test set: real screens of the heat-pump and Tesla journeys, and utterances of them.

Screens come from the Kraken sandbox's catalog (makes, models, battery sizes) and the English
catalog of the bot (button labels), built the way the list screens label options (years, then
the battery size to tell variants apart). Each utterance is what a customer would say for one
option, command or input value, synthesised with hibari (its one shipped voice, made into
others by moving pitch and formants) at several speeds, optionally mixed with background noise
at a fixed SNR, and encoded as Telegram's apps record voice notes (OGG/Opus, 16 kHz, 16 kbit/s:
voice.audio.TELEGRAM_RECORDER).

Two disjoint splits, so nothing is tuned on the figures it reports:
- `EVAL` (what `python -m bench.voice` reports): voices heart / low / high, speeds 0.85 / 1.0 /
  1.2, one set of noise recordings and seeds;
- `TUNE` (what thresholds and settings were chosen on): other voices spanning a range a little
  wider than EVAL's (so a calibration fitted there is not surprised by EVAL's extremes), other
  speeds, other babble sentences and noise seeds.

Noise is a background a customer next to a car or a heat pump has (one scene per note, in
turn): street traffic, a café's babble (several talkers), a fan or heat pump unit, and a single
competing talker (a radio or someone nearby: the hardest, speech against speech). The SNR is
the speech's active level (samples above 2% of its peak) over the noise's mean level.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
from babel.messages.pofile import read_po

from voice.audio import TELEGRAM_RECORDER, encode_ogg_opus, float_to_pcm
from voice.understand import Choice, Command, Expectation, Shape, ShapeKind
from voice.words import spoken

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "sandbox" / "kraken" / "catalog.json"
MESSAGES = ROOT / "locales" / "en" / "LC_MESSAGES" / "messages.po"
LIST_COMMANDS = (Command.NEXT, Command.PREVIOUS, Command.BACK, Command.CANCEL, Command.HELP)
SERIAL_REGEX = r"[A-Z0-9]{8,20}"
PAGE_SIZE = 6  # options per page of a list screen (dialogs/render/lists.py)
TTS_RATE = 24_000


@dataclass(frozen=True)
class Screen:
    name: str
    expectation: Expectation


@dataclass(frozen=True)
class Prompt:
    """What is said on a screen and what it should resolve to (a choice key, a command or an
    input value)."""

    screen: Screen
    text: str
    expected: str


@dataclass(frozen=True)
class Voice:
    name: str
    pitch: float  # f0 multiplier
    formants: float  # spectral envelope stretch (< 1: longer vocal tract, deeper)


class Scene(StrEnum):
    """Backgrounds mixed under a noisy note."""

    STREET = "street"  # traffic rumble with cars passing
    CAFE = "cafe"  # babble of six talkers
    FAN = "fan"  # a fan or heat pump unit: broadband whoosh and motor hum
    TALKER = "talker"  # one competing voice, reversed so it says nothing the grammar knows


@dataclass(frozen=True)
class Split:
    """Who speaks, how fast, and the noise they speak in."""

    name: str
    voices: tuple[Voice, ...]
    speeds: tuple[float, ...]
    seed: int
    babble: tuple[str, ...]  # sentences the background talkers say (reversed)


EVAL = Split(
    "eval",
    (Voice("heart", 1.0, 1.0), Voice("low", 0.62, 0.87), Voice("high", 1.18, 1.07)),
    (0.85, 1.0, 1.2),
    11,
    (
        "The meter reading is due on Tuesday and the charger light is green again.",
        "We drove down to the coast last weekend and the traffic was terrible.",
        "Could you pass me the sugar, and is there any more coffee in the pot?",
        "The kids have football practice at four, so I will pick them up after work.",
        "Honestly I think the new kitchen looks great, but the bill was enormous.",
        "She said the train was cancelled again, so everyone took the bus instead.",
    ),
)
TUNE = Split(
    "tune",
    (
        Voice("bass", 0.66, 0.89),
        Voice("tenor", 0.85, 0.95),
        Voice("alto", 1.1, 1.04),
        Voice("treble", 1.24, 1.09),
    ),
    (0.92, 1.1),
    29,
    (
        "My neighbour bought an electric bike and now rides it everywhere in town.",
        "The restaurant on the corner closes early on Sundays during the winter.",
        "I left my umbrella at the office, which is typical when it starts raining.",
        "There is a concert in the park on Saturday if the weather stays dry.",
        "He fixed the washing machine himself after watching a few videos online.",
        "Our flight was delayed by two hours, so we had lunch at the airport.",
    ),
)
SPLITS = {split.name: split for split in (EVAL, TUNE)}
VOICES = EVAL.voices
SPEEDS = EVAL.speeds


def _messages() -> dict[str, str]:
    with MESSAGES.open("rb") as handle:
        catalog = read_po(handle)
    return {str(m.id): str(m.string) for m in catalog if m.id and isinstance(m.string, str)}


def _years(model: dict[str, object]) -> str:
    start, end = model.get("availableFrom"), model.get("availableTo")
    if start and end:
        return f" ({start}–{end})"
    return f" ({start} onwards)" if start else ""


def variant_labels(models: list[dict[str, object]]) -> list[tuple[str, dict[str, object]]]:
    """Labels as the bot's list screen makes them: model and years, then the battery size
    where two would look the same."""
    names = [f"{m['model']}{_years(m)}" for m in models]
    labels = []
    for name, model in zip(names, models, strict=True):
        if names.count(name) > 1 and model.get("batterySize"):
            name = f"{name} · {model['batterySize']} kWh"
        labels.append((name, model))
    return labels


def screens() -> list[tuple[Screen, list[tuple[Choice, list[str]]]]]:
    """Each screen with, per option, the ways the bench says it."""
    text = _messages()
    catalog = json.loads(CATALOG.read_text())
    out: list[tuple[Screen, list[tuple[Choice, list[str]]]]] = []

    def add(
        name: str,
        options: list[tuple[Choice, list[str]]],
        commands: tuple[Command, ...] = LIST_COMMANDS,
    ) -> None:
        """One screen per page of PAGE_SIZE options, as the bot shows long lists: the
        grammar is what that page's buttons (and the paging words) accept."""
        pages = range(0, len(options), PAGE_SIZE)
        for number, start in enumerate(pages, 1):
            page = options[start : start + PAGE_SIZE]
            title = name if len(pages) == 1 else f"{name} p{number}"
            choices = [choice for choice, _ in page]
            out.append((Screen(title, Expectation.of(choices, commands)), page))

    device_types = [
        (Choice(text["device_type.ELECTRIC_VEHICLES"], "ELECTRIC_VEHICLES"), ["electric car"]),
        (Choice(text["device_type.HEAT_PUMPS"], "HEAT_PUMPS"), []),
    ]
    add("device type", device_types)
    add(
        "car or charger",
        [
            (Choice(text["btn.integration.ELECTRIC_VEHICLE"], "EV"), ["my car"]),
            (Choice(text["btn.integration.CHARGE_POINT"], "CP"), ["my charger"]),
        ],
    )
    add("car make", [(Choice(m["make"], m["make"]), []) for m in catalog["electricVehicles"]])
    tesla = next(m for m in catalog["electricVehicles"] if m["make"] == "Tesla")
    add(
        "Tesla model",
        [
            (Choice(label, str(model["vehicleId"])), [])
            for label, model in variant_labels(tesla["models"])
        ],
    )
    add(
        "charger make",
        [(Choice("No smart charger / not listed", "none"), ["no charger"])]
        + [(Choice(m["make"], m["make"]), []) for m in catalog["chargePoints"]],
    )
    add("heat pump make", [(Choice(m["make"], m["make"]), []) for m in catalog["heatPumps"]])
    for make in catalog["heatPumps"][:3]:
        add(
            f"{make['make']} model",
            [(Choice(model, model), []) for model in make["models"]],
        )
    add(
        "stop onboarding?",
        [
            (Choice(text["btn.cancel_yes"], "stop", ("yes",)), ["yes"]),
            (Choice(text["btn.cancel_no"], "keep", ("no",)), ["no"]),
        ],
        (),
    )
    return out


def _said(label: str, rng: random.Random) -> str:
    """How a person says a label: its required words, sometimes the units, never the years."""
    words = spoken(label)
    kept = [w.text for w in words if not w.optional]
    units = [w.text for w in words if w.optional and w.text in ("kilowatt", "hours")]
    if units and rng.random() < 0.3:
        kept += units
    return " ".join(kept)


def prompts(seed: int = 7) -> list[Prompt]:
    rng = random.Random(seed)
    out: list[Prompt] = []
    for screen, options in screens():
        for choice, extra in options:
            out.append(Prompt(screen, _said(choice.label, rng), choice.key))
            out.extend(Prompt(screen, phrase, choice.key) for phrase in extra)
        if screen.expectation.commands and not screen.name.endswith(("p2", "p3", "p5")):
            for phrase, command in (("next page", "next"), ("cancel", "cancel")):
                out.append(Prompt(screen, phrase, command))
    makes = next(p.screen for p in out if p.screen.name == "car make p1")
    out += [Prompt(makes, "go back", "back"), Prompt(makes, "help", "help")]
    serial = Screen(
        "serial number",
        Expectation.of(
            [], (Command.BACK, Command.CANCEL), Shape(ShapeKind.DIGITS, SERIAL_REGEX, 8, 20)
        ),
    )
    for digits in ("12345678", "90817263", "4455667788"):
        said = " ".join(w.text for w in spoken(" ".join(digits)))
        out.append(Prompt(serial, said, digits))
    ready_by = Screen(
        "ready-by time", Expectation.of([], (Command.BACK, Command.CANCEL), Shape(ShapeKind.TIME))
    )
    for said, value in (
        ("seven thirty", "07:30"),
        ("eight o'clock", "08:00"),
        ("half past six", "06:30"),
        ("six forty five", "06:45"),
    ):
        out.append(Prompt(ready_by, said, value))
    waiting = Screen("waiting", Expectation.of([], (Command.CHECK_NOW, Command.CANCEL)))
    out.append(Prompt(waiting, "check now", "check_now"))
    return out


@dataclass(frozen=True)
class Utterance:
    prompt: Prompt
    voice: str
    speed: float
    snr_db: float | None  # None: clean
    ogg: bytes
    seconds: float
    scene: Scene | None = None


class Speaker:
    """hibari's shipped voice, and pitch/formant-shifted versions of it (bench only)."""

    def __init__(self) -> None:
        from hibari import Hibari  # type: ignore[import-untyped]

        self.tts = Hibari()

    def say(self, text: str, voice: Voice, speed: float, seed: int) -> np.ndarray:
        from hibari import dsp

        rng = np.random.default_rng(seed)
        parts = []
        # single letters are said by name: "b m w" -> "B M W"
        text = " ".join(w.upper() if len(w) == 1 else w for w in text.split())
        for phonemes in self.tts.phonemize(text):
            ids = np.asarray([self.tts.ids(phonemes)], np.int64)
            outputs = self.tts.sess.run(
                None, {"ids": ids, "speed": np.asarray([speed], np.float32)}
            )
            lh, theta, ln, lr, phi, f0 = (o[0] for o in outputs)
            if voice.formants != 1.0:
                lh, theta, ln, lr, phi = (
                    _warp(a, voice.formants) for a in (lh, theta, ln, lr, phi)
                )
            parts.append(dsp.synth(lh, theta, ln, lr, phi, f0 * voice.pitch, rng))
        audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        pad = np.zeros(int(0.3 * TTS_RATE), np.float32)  # people leave a little silence
        return np.concatenate([pad, audio, pad])


def _warp(spectrum: np.ndarray, factor: float) -> np.ndarray:
    """Stretch a [bins, frames] array along frequency: formants move by `factor`."""
    bins = spectrum.shape[0]
    source = np.clip(np.arange(bins) / factor, 0, bins - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, bins - 1)
    weight = (source - low)[:, None]
    warped: np.ndarray = spectrum[low] * (1 - weight) + spectrum[high] * weight
    return warped.astype(np.float32)


def pink_noise(samples: int, rng: np.random.Generator) -> np.ndarray:
    return _coloured(samples, rng, 0.5)


def _coloured(samples: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    """Noise whose power falls as 1/f**(2*exponent): 0.5 pink, 1 brown."""
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    spectrum /= np.arange(1, len(spectrum) + 1) ** exponent
    noise: np.ndarray = np.fft.irfft(spectrum, samples)
    scaled: np.ndarray = noise / (np.std(noise) + 1e-9)
    return scaled


def _envelope(samples: int, rng: np.random.Generator, hz: float, depth: float) -> np.ndarray:
    """A slow random swell between 1 - depth and 1 (passing cars, a fan's gusts)."""
    knots = max(2, int(samples / TTS_RATE * hz) + 2)
    points = rng.uniform(1 - depth, 1.0, knots)
    curve: np.ndarray = np.interp(np.linspace(0, knots - 1, samples), np.arange(knots), points)
    return curve


def _talk(babble: list[np.ndarray], samples: int, rng: np.random.Generator) -> np.ndarray:
    source = babble[int(rng.integers(0, len(babble)))]
    start = int(rng.integers(0, max(1, len(source) - samples)))
    return np.resize(source[start:], samples)


def scene_noise(
    scene: Scene, samples: int, babble: list[np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """`samples` of background for `scene`, at unit level."""
    seconds = np.arange(samples) / TTS_RATE
    if scene is Scene.STREET:
        rumble = _coloured(samples, rng, 1.0) + 0.5 * pink_noise(samples, rng)
        noise = rumble * _envelope(samples, rng, 0.7, 0.7)
    elif scene is Scene.CAFE:
        noise = sum(
            (_talk(babble, samples, rng) for _ in range(6)), start=np.zeros(samples)
        ) + 0.3 * pink_noise(samples, rng)
    elif scene is Scene.FAN:
        hum = float(rng.uniform(90, 130))
        motor = sum(
            np.sin(2 * np.pi * hum * k * seconds + rng.uniform(0, 6)) / k for k in (1, 2, 3)
        )
        noise = pink_noise(samples, rng) * _envelope(samples, rng, 2.0, 0.2) + 0.5 * motor
    else:
        noise = _talk(babble, samples, rng) + 0.5 * pink_noise(samples, rng)
    out: np.ndarray = noise / (np.std(noise) + 1e-9)
    return out


def add_noise(audio: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Mix `noise` under `audio` so the speech's active level is `snr_db` above it."""
    speech_power = np.mean(audio[np.abs(audio) > 0.02 * np.max(np.abs(audio))] ** 2)
    noise = noise * np.sqrt(speech_power / (10 ** (snr_db / 10))) / (np.std(noise) + 1e-9)
    mixed: np.ndarray = audio + noise
    return mixed / max(1.0, float(np.max(np.abs(mixed))))


def utterances(
    count: int,
    snrs: tuple[float, ...],
    split: Split = EVAL,
    *,
    keep: Callable[[Prompt], bool] = lambda prompt: True,
) -> Iterator[Utterance]:
    """`count` clean utterances (cycling through the prompts with the split's voices and
    speeds), each also with noise at every SNR in `snrs` (the scenes in turn)."""
    rng = np.random.default_rng(split.seed)
    speaker = Speaker()
    babble = [
        speaker.say(text, split.voices[i % len(split.voices)], 1.0, split.seed + i)[::-1].copy()
        for i, text in enumerate(split.babble)
    ]
    scenes = list(Scene)
    every = prompts()
    for index in range(count):
        prompt = every[index % len(every)]
        if not keep(prompt):
            continue
        cycle = index // len(every)
        voice = split.voices[(index + cycle) % len(split.voices)]
        speed = split.speeds[(index // len(split.voices) + cycle) % len(split.speeds)]
        audio = speaker.say(prompt.text, voice, speed, split.seed + index)
        for position, snr in enumerate((None, *snrs)):
            scene = None if snr is None else scenes[(index + position) % len(scenes)]
            if scene is None or snr is None:
                sound = audio
            else:
                sound = add_noise(audio, scene_noise(scene, len(audio), babble, rng), snr)
            ogg = encode_ogg_opus(float_to_pcm(sound), TTS_RATE, TELEGRAM_RECORDER)
            yield Utterance(prompt, voice.name, speed, snr, ogg, len(sound) / TTS_RATE, scene)
