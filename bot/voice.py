"""The bot's voice side: voice notes in, spoken screens out, and typed words matched like speech.

A voice note is answered with what was heard ("🎙 I heard: “Tesla”") and then exactly what
the matching tap would do: the button's own callback data goes through `Turns.run` as a `Tap`
(or a spoken value as `Text`), so the engine's rules — stale buttons, the step the customer
saw, what Kraken is told — are never duplicated here. What the current screen accepts is
remembered per chat whenever the engine shows a screen (`shown`), because the conversation
keeps only whether its live message has buttons, not which.

Nothing irreversible happens from speech alone: a spoken "yes" to cancelling (or to removing a
device, switching account, starting over) gets the button to tap instead. An unsure
recognition asks "Did you mean …?" with the candidate buttons before Kraken sees anything.

Limits are checked before download (Telegram tells the duration and size), recognition runs in
the voice pipeline's workers with a deadline, and a chat whose language has no recogniser is
told, in its language, that voice works in English for now.

Speaking back: with `/voice on` (or, by default, after the chat's last message was a voice
note) each new screen is also sent as a voice note. Synthesised notes are cached in Redis per
text and locale, bounded in count and size and expiring; a failed synthesis or sendVoice is
logged and the text screen stands.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError
from telegram import Audio, Bot, Voice
from telegram.error import TelegramError

from bot.metrics import Metrics
from bot.state.keys import KeySpace
from bot.state.lock import ChatLock
from bot.turns import Turns
from dialogs.callback_data import Action, decode
from dialogs.conversation import Conversation
from dialogs.events import Event, Help, Tap, Text
from dialogs.i18n import t
from dialogs.render.devices import Editor
from dialogs.render.steps import CONTINUATION_KEY
from dialogs.screen import Button, CallbackButton, Delivery, InputExpectation, Screen, UrlButton
from voice import (
    MAX_AUDIO_BYTES,
    MAX_VOICE_SECONDS,
    Candidate,
    Choice,
    Command,
    Expectation,
    Kind,
    Match,
    Outcome,
    Shape,
    ShapeKind,
    Understanding,
    Verdict,
    VoicePipeline,
    match_text,
)

log = logging.getLogger(__name__)

# Callback data of the buttons this module draws itself ("Did you mean 07:30?", "none of
# these", help); the engine's data never starts like this (see dialogs.callback_data).
CALLBACK_PREFIX = "voice|"
CALLBACK_PATTERN = r"^voice\|"
# Typed text picks an option only when it names it (nearly) outright: "tesla", "model 3 78kwh".
# Below this a typed word is more likely the start of a list filter ("daik") and stays one.
TYPED_ACT_SCORE = 0.9
# What the current screen accepts is kept as long as a conversation is.
SCREEN_TTL = timedelta(days=30)
CHAT_TTL = timedelta(days=90)
# A "Did you mean 07:30?" answer waits this long for its tap.
PENDING_TTL = timedelta(minutes=15)
# At shutdown, spoken screens under way get this long to go out.
SPEAK_GRACE_S = 15.0
_MEGABYTE = 1024 * 1024

# Buttons whose spoken form is a command word, not an option name.
_COMMANDS: dict[Action, Command] = {
    Action.BACK: Command.BACK,
    Action.CANCEL: Command.CANCEL,
    Action.CHECK_NOW: Command.CHECK_NOW,
    Action.CLEAR_FILTER: Command.SHOW_ALL,
    Action.SKIP_INPUT: Command.SKIP,
    Action.CANCEL_YES: Command.YES,
    Action.CANCEL_NO: Command.NO,
    Action.DEVICE_YES: Command.YES,
    Action.DEVICE_NO: Command.NO,
    Action.SWITCH_YES: Command.YES,
    Action.SWITCH_NO: Command.NO,
}
# What cannot be undone (or gives the account away) is never done from speech alone.
TAP_ONLY = frozenset(
    {Action.CANCEL_YES, Action.DEVICE_YES, Action.SWITCH_YES, Action.START_OVER, Action.TAKE_OVER}
)


class VoiceMode(StrEnum):
    ON = "on"
    OFF = "off"


class LastMessage(StrEnum):
    VOICE = "voice"
    TEXT = "text"


class NoteResult(StrEnum):
    """How a voice note or audio file ended (the `voice_notes` metric's label)."""

    ACTED = "acted"
    CONFIRM = "confirm"
    NOT_MATCHED = "not_matched"
    TAP_ONLY = "tap_only"
    SILENCE = "silence"
    UNDECODABLE = "undecodable"
    TOO_LONG = "too_long"
    TOO_BIG = "too_big"
    LANGUAGE = "language"
    TIMEOUT = "timeout"
    DOWNLOAD_FAILED = "download_failed"
    MOVED_ON = "moved_on"


@dataclass(frozen=True)
class Pressed:
    """What one of this module's buttons does: a toast for the tap, then the turn."""

    toast: str | None = None
    then: Callable[[], Awaitable[None]] | None = None


class _Mine(StrEnum):
    """This module's own buttons (after CALLBACK_PREFIX)."""

    VALUE = "v"  # arg: the pending value's id
    AGAIN = "again"  # none of these: show the screen again
    HELP = "help"


# ------------------------------------------------------------------ what the screen accepts


@dataclass(frozen=True)
class ShownScreen:
    """The chat's live screen as the engine drew it, and where the conversation stood."""

    text: str
    keyboard: tuple[tuple[Button, ...], ...]
    expects: InputExpectation | None
    locale: str
    page: int
    step_id: str | None
    input_index: int

    @classmethod
    def of(cls, screen: Screen, conv: Conversation) -> ShownScreen:
        keyboard = tuple(tuple(row) for row in screen.keyboard if row)
        return cls(
            screen.text,
            keyboard,
            screen.expects,
            conv.locale,
            conv.list_page,
            conv.step_id,
            conv.input_index,
        )

    def buttons(self) -> list[Button]:
        return [button for row in self.keyboard for button in row]

    def callback_buttons(self) -> list[CallbackButton]:
        return [b for b in self.buttons() if isinstance(b, CallbackButton)]

    def screen(self) -> Screen:
        """The screen again, as a new message (the customer asked to see it again)."""
        keyboard = [list(row) for row in self.keyboard]
        return Screen(self.text, keyboard, expects=self.expects, delivery=Delivery.SEND)

    def to_json(self) -> str:
        rows = [[_button_json(b) for b in row] for row in self.keyboard]
        expects = None
        if self.expects is not None:
            expects = [self.expects.key, self.expects.regex, self.expects.optional]
        return json.dumps(
            {
                "text": self.text,
                "keyboard": rows,
                "expects": expects,
                "locale": self.locale,
                "page": self.page,
                "step": self.step_id,
                "input": self.input_index,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> ShownScreen:
        data = json.loads(raw)
        keyboard = tuple(tuple(_button_from(b) for b in row) for row in data["keyboard"])
        expects = InputExpectation(*data["expects"]) if data["expects"] else None
        return cls(
            data["text"],
            keyboard,
            expects,
            data["locale"],
            data["page"],
            data["step"],
            data["input"],
        )


def _button_json(button: Button) -> dict[str, str]:
    if isinstance(button, UrlButton):
        return {"label": button.label, "url": button.url}
    return {"label": button.label, "data": button.data}


def _button_from(data: dict[str, str]) -> Button:
    if "url" in data:
        return UrlButton(data["label"], data["url"])
    return CallbackButton(data["label"], data["data"])


@dataclass(frozen=True)
class Understood:
    """A screen as the matcher sees it, and which button each command word presses."""

    expectation: Expectation
    commands: dict[Command, CallbackButton] = field(default_factory=dict)

    def button_for(self, candidate: Candidate) -> CallbackButton | None:
        if candidate.kind is Kind.CHOICE:
            choices = [c for c in self.expectation.choices if c.key == candidate.key]
            return CallbackButton(choices[0].label, candidate.key) if choices else None
        if candidate.kind is Kind.COMMAND:
            return self.commands.get(Command(candidate.key))
        return None


def _command(button: CallbackButton, page: int) -> Command | None:
    pressed = decode(button.data)
    if pressed is None:
        return None
    if pressed.action is Action.PAGE:
        target = pressed.int_arg()
        return Command.NEXT if target is not None and target > page else Command.PREVIOUS
    return _COMMANDS.get(pressed.action)


def shape_of(expects: InputExpectation | None) -> Shape | None:
    """The spoken form of what an input step asks for; None for a pasted sign-in address."""
    if expects is None or expects.key == CONTINUATION_KEY:
        return None
    key = expects.key.lower()
    regex = expects.regex
    if key in (Editor.WEEKDAYS, Editor.WEEKEND) or "time" in key:
        kind = ShapeKind.TIME  # a ready-by time (a target charge is one of the buttons)
    elif key == Editor.ROOM or "percent" in key or "soc" in key:
        kind = ShapeKind.PERCENT  # a number: a percentage, or degrees
    elif regex and re.search(r"[A-Za-z]-|\\w|[A-Z]", regex) is None:
        kind = ShapeKind.DIGITS
    else:
        kind = ShapeKind.SERIAL
    return Shape(kind, regex)


def understood(shown: ShownScreen | None, locale: str, *, shape: bool = True) -> Understood:
    """What the screen accepts: its buttons' labels (keyed by their callback data), the
    command words its buttons stand for, help, and the shape of an input step's answer."""
    choices: list[Choice] = []
    commands: dict[Command, CallbackButton] = {}
    if shown is not None:
        for button in shown.callback_buttons():
            command = _command(button, shown.page)
            if command is None:
                choices.append(Choice(button.label, button.data))
            else:
                commands.setdefault(command, button)
    wanted = [*commands, Command.HELP]
    form = shape_of(shown.expects) if shown is not None and shape else None
    return Understood(Expectation.of(choices, wanted, form, locale), commands)


# ------------------------------------------------------------------ Redis


class VoiceKeys:
    """The voice side's keys, under the bot's prefix (see bot.state.keys)."""

    def __init__(self, keys: KeySpace) -> None:
        self.prefix = keys.prefix

    def screen(self, chat_id: int) -> str:
        """JSON of the chat's live screen (`ShownScreen`)."""
        return f"{self.prefix}voice:screen:{chat_id}"

    def chat(self, chat_id: int) -> str:
        """Hash: `mode` (/voice on|off, when set) and `last` (voice|text: the last message)."""
        return f"{self.prefix}voice:chat:{chat_id}"

    def pending(self, chat_id: int) -> str:
        """JSON of a spoken value waiting for "yes, that" (id, value, step, input)."""
        return f"{self.prefix}voice:pending:{chat_id}"

    def speech(self, key: str) -> str:
        return f"{self.prefix}voice:{key}"

    def speech_index(self) -> str:
        """Sorted set of cached speech keys by last use (µs), to evict the oldest."""
        return f"{self.prefix}voice:tts-index"


class RedisSpeechCache:
    """voice.SpeechCache in Redis: one key per note with a TTL, notes over `max_bytes` not
    kept, and at most `max_items` notes (the least recently used go first)."""

    def __init__(
        self,
        redis: Redis,
        keys: VoiceKeys,
        *,
        ttl: timedelta,
        max_items: int,
        max_bytes: int,
        metrics: Metrics | None = None,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl_ms = int(ttl.total_seconds() * 1000)
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._metrics = metrics
        self._last_use = 0

    def _tick(self) -> int:
        """A note's last use in microseconds, never the same twice in this process (so the
        least recently used goes first even within one millisecond)."""
        self._last_use = max(self._last_use + 1, time.time_ns() // 1000)
        return self._last_use

    async def get(self, key: str) -> bytes | None:
        stored = self._keys.speech(key)
        try:
            value: bytes | None = await self._redis.get(stored)
            if value is not None:
                await self._redis.zadd(self._keys.speech_index(), {stored: self._tick()})
        except RedisError as error:  # a cache: without Redis the note is synthesised again
            log.warning("speech cache unreadable: %s", error)
            value = None
        if self._metrics is not None:
            self._metrics.voice_speech_cache.labels(result="hit" if value else "miss").inc()
        return value

    async def set(self, key: str, value: bytes) -> None:
        if len(value) > self.max_bytes:
            return
        stored, index, now = self._keys.speech(key), self._keys.speech_index(), self._tick()
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(stored, value, px=self._ttl_ms)
                pipe.zadd(index, {stored: now})
                pipe.zremrangebyscore(index, 0, now - self._ttl_ms * 1000)  # expired (TTL)
                pipe.pexpire(index, self._ttl_ms)
                pipe.zcard(index)
                *_, count = await pipe.execute()
            if count > self.max_items:
                evicted = await self._redis.zpopmin(index, count - self.max_items)
                await self._redis.delete(*(name for name, _ in evicted))
        except RedisError as error:
            log.warning("speech cache not written: %s", error)


def _speaks(values: dict[bytes, bytes]) -> bool:
    mode = values.get(b"mode")
    if mode is not None:
        return mode.decode() == VoiceMode.ON.value
    return values.get(b"last", b"").decode() == LastMessage.VOICE.value


class VoiceChats:
    """Per chat: the live screen, /voice on|off and the kind of its last message."""

    def __init__(self, redis: Redis, keys: VoiceKeys) -> None:
        self._redis = redis
        self._keys = keys

    @property
    def keys(self) -> VoiceKeys:
        return self._keys

    async def remember(self, chat_id: int, shown: ShownScreen) -> bool:
        """Keep the screen; returns whether the chat wants it read aloud (one round trip)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            self.queue_remember(pipe, chat_id, shown)
            _, values = await pipe.execute()
        return _speaks(values)

    def queue_remember(self, pipe: Pipeline, chat_id: int, shown: ShownScreen) -> None:
        """`remember` in a pipeline the caller sends: its second answer says whether the
        chat wants voice (`speaks_from`)."""
        ttl = int(SCREEN_TTL.total_seconds())
        pipe.set(self._keys.screen(chat_id), shown.to_json(), ex=ttl)
        pipe.hgetall(self._keys.chat(chat_id))

    @staticmethod
    def speaks_from(answers: Sequence[object]) -> bool | None:
        """What `queue_remember`'s answers say of speaking (None: the read failed)."""
        values = answers[1] if len(answers) > 1 else None
        return _speaks(values) if isinstance(values, dict) else None

    async def screen(self, chat_id: int) -> ShownScreen | None:
        raw = await self._redis.get(self._keys.screen(chat_id))
        return ShownScreen.from_json(raw) if raw else None

    async def _set(self, chat_id: int, name: str, value: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            self._queue_set(pipe, chat_id, name, value)
            await pipe.execute()

    def _queue_set(self, pipe: Pipeline, chat_id: int, name: str, value: str) -> None:
        key = self._keys.chat(chat_id)
        pipe.hset(key, name, value)
        pipe.expire(key, int(CHAT_TTL.total_seconds()))

    async def last_message(self, chat_id: int, kind: LastMessage) -> None:
        await self._set(chat_id, "last", kind.value)

    async def set_mode(self, chat_id: int, mode: VoiceMode) -> None:
        await self._set(chat_id, "mode", mode.value)

    def queue_typed(self, pipe: Pipeline, chat_id: int) -> None:
        """Note a typed message as the chat's last message kind (sent with the turn's release)."""
        self._queue_set(pipe, chat_id, "last", LastMessage.TEXT.value)

    async def speaks(self, chat_id: int) -> bool:
        """/voice on|off when the chat said so, else whether its last message was a voice note."""
        return _speaks(await self._redis.hgetall(self._keys.chat(chat_id)))  # type: ignore[misc]

    async def hold(
        self, chat_id: int, values: Sequence[str], shown: ShownScreen | None
    ) -> list[str]:
        """Keep spoken values until one of their "Did you mean" buttons is tapped; returns
        their ids (the buttons carry the id, never the value)."""
        ids = [secrets.token_hex(4) for _ in values]
        if not ids or shown is None:
            return ids
        values_by_id = dict(zip(ids, values, strict=True))
        body = {"values": values_by_id, "step": shown.step_id, "input": shown.input_index}
        ttl = int(PENDING_TTL.total_seconds())
        await self._redis.set(self._keys.pending(chat_id), json.dumps(body), ex=ttl)
        return ids

    async def take(self, chat_id: int, pending_id: str) -> tuple[str, str | None, int] | None:
        """The value a button named, with the step and input it answered; used up."""
        raw = await self._redis.get(self._keys.pending(chat_id))
        body: dict[str, Any] | None = json.loads(raw) if raw else None
        if body is None or pending_id not in body["values"]:
            return None
        await self._redis.delete(self._keys.pending(chat_id))
        return body["values"][pending_id], body["step"], body["input"]


# ------------------------------------------------------------------ the chat side


def _said(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _plain(label: str) -> str:
    """A button label as it reads inside a sentence (emoji and arrows around it dropped)."""
    return re.sub(r"^[^\w“\"(]+|[^\w”\")%]+$", "", label).strip() or label


class VoiceChat:
    """The handlers for voice notes, audio files, typed answers, /voice and this module's
    buttons, and the hook that remembers and speaks each screen shown."""

    def __init__(
        self,
        *,
        turns: Turns,
        pipeline: VoicePipeline,
        chats: VoiceChats,
        metrics: Metrics,
    ) -> None:
        self.turns = turns
        self.pipeline = pipeline
        self.chats = chats
        self.metrics = metrics
        self._speaking: dict[int, asyncio.Task[None]] = {}

    def listens(self, locale: str) -> bool:
        return locale.split("-")[0] in self.pipeline.recogniser.languages

    # ------------------------------------------------------------ voice notes

    async def note(
        self, bot: Bot, chat_id: int, language: str | None, media: Voice | Audio
    ) -> None:
        """A voice note or an audio file: refuse what is too long or too big before
        downloading it, then understand it against the current screen and act."""
        await self.chats.last_message(chat_id, LastMessage.VOICE)
        conv = await self.turns.peek(chat_id)
        locale = self.turns.locale_for(conv, language)
        refusal = self._refusal(media, locale)
        if refusal is not None:
            await self._tell(chat_id, locale, refusal)
            return
        shown = await self.chats.screen(chat_id)
        seen = shown.to_json() if shown else None
        meaning = understood(shown, locale)
        try:
            file = await bot.get_file(media.file_id)
            data = bytes(await file.download_as_bytearray())
        except TelegramError as error:
            log.warning("voice note not downloaded for chat %s: %s", chat_id, error)
            await self._tell(chat_id, locale, NoteResult.DOWNLOAD_FAILED)
            return
        started = time.perf_counter()
        result = await self.pipeline.understand(data, meaning.expectation)
        self.metrics.voice_recognition_seconds.observe(time.perf_counter() - started)
        problem = _problem(result)
        if problem is not None:
            await self._tell(chat_id, locale, problem)
            return
        now = await self.chats.screen(chat_id)
        if (now.to_json() if now else None) != seen:
            await self._tell(chat_id, locale, NoteResult.MOVED_ON)  # changed while we listened
            return
        await self._answer(chat_id, language, locale, shown, meaning, result.match, spoken=True)

    def _refusal(self, media: Voice | Audio, locale: str) -> NoteResult | None:
        if not self.listens(locale):
            return NoteResult.LANGUAGE
        seconds = media.to_dict().get("duration", 0)  # as Telegram sent it (PTB's is changing)
        if seconds and seconds > MAX_VOICE_SECONDS:
            return NoteResult.TOO_LONG
        if media.file_size and media.file_size > MAX_AUDIO_BYTES:
            return NoteResult.TOO_BIG
        return None

    async def _tell(self, chat_id: int, locale: str, result: NoteResult, heard: str = "") -> None:
        """A message beside the wizard (its live message and buttons stay where they are)."""
        self.metrics.voice_notes.labels(outcome=result.value).inc()
        text = t(
            locale,
            f"voice.result.{result.value}",
            seconds=MAX_VOICE_SECONDS,
            megabytes=MAX_AUDIO_BYTES // _MEGABYTE,
        )
        if heard:
            text = f"{t(locale, 'voice.heard', heard=heard)}\n{text}"
        await self.turns.say(chat_id, [Screen(text, delivery=Delivery.SEND)])

    # ------------------------------------------------------------ typed text

    async def typed(self, chat_id: int, language: str | None, text: str) -> bool:
        """Typed text on a screen with buttons: a clear name of one picks it, a few close
        ones ask "Did you mean …?". False leaves the text to the engine (a list filter, an
        input step's answer, a sign-in address), as before."""
        turns, screen_key = self.turns, self.chats.keys.screen(chat_id)
        async with turns.opened(chat_id, fetch=[screen_key]) as chat:
            chat.lock.on_release(
                lambda pipe: self.chats.queue_typed(pipe, chat_id),
                f"chat {chat_id}: last message kind not noted",
            )
            raw = chat.fetched[screen_key]
            conv = turns.conversation_of(chat)
        shown = ShownScreen.from_json(raw) if raw else None
        if shown is None or not shown.callback_buttons():
            return False
        locale = turns.locale_for(conv, language)
        meaning = understood(shown, locale, shape=False)
        match = match_text(text, meaning.expectation)
        if _filters(text, shown) or not _typed_decides(match, input_step=bool(shown.expects)):
            return False
        await self._answer(chat_id, language, locale, shown, meaning, match, spoken=False)
        return True

    # ------------------------------------------------------------ acting

    async def _answer(
        self,
        chat_id: int,
        language: str | None,
        locale: str,
        shown: ShownScreen | None,
        meaning: Understood,
        match: Match,
        *,
        spoken: bool,
    ) -> None:
        """Do what the answer means: the tap (or typed value) it stands for, a "Did you
        mean" question, or — for speech that names nothing here — say so."""
        best = match.best
        heard = _said(match.heard)
        if match.verdict is Verdict.NOTHING or best is None:
            await self._tell(chat_id, locale, NoteResult.NOT_MATCHED, heard)
            return
        if match.verdict is Verdict.CONFIRM:
            await self._did_you_mean(
                chat_id, locale, shown, meaning, match, heard if spoken else ""
            )
            return
        event: Event
        if best.kind is Kind.VALUE:
            event, heard = Text(best.key), best.key
        elif best.kind is Kind.COMMAND and best.key == Command.HELP:
            event = Help()
        else:
            button = meaning.button_for(best)
            if button is None:
                await self._tell(chat_id, locale, NoteResult.NOT_MATCHED, heard)
                return
            if spoken and _action(button) in TAP_ONLY:
                await self._tap_only(chat_id, locale, button, heard)
                return
            event, heard = Tap(button.data), _plain(button.label)
        if spoken:
            self.metrics.voice_notes.labels(outcome=NoteResult.ACTED.value).inc()
            heard_text = t(locale, "voice.heard", heard=heard)
            await self.turns.say(chat_id, [Screen(heard_text, delivery=Delivery.SEND)])
        await self.turns.run(chat_id, event, language_code=language, fresh=True)

    async def _did_you_mean(
        self,
        chat_id: int,
        locale: str,
        shown: ShownScreen | None,
        meaning: Understood,
        match: Match,
        heard: str,
    ) -> None:
        rows: list[list[Button]] = []
        values = [c.key for c in match.candidates if c.kind is Kind.VALUE]
        held = dict(zip(values, await self.chats.hold(chat_id, values, shown), strict=True))
        for candidate in match.candidates:
            if candidate.kind is Kind.VALUE:
                pending = held[candidate.key]
                rows.append([CallbackButton(candidate.key, _mine(_Mine.VALUE, pending))])
            elif candidate.kind is Kind.COMMAND and candidate.key == Command.HELP:
                rows.append([CallbackButton(t(locale, "voice.btn.help"), _mine(_Mine.HELP))])
            elif (button := meaning.button_for(candidate)) is not None:
                rows.append([button])
        rows.append([CallbackButton(t(locale, "voice.btn.none"), _mine(_Mine.AGAIN))])
        text = t(locale, "voice.did_you_mean")
        if heard:
            text = f"{t(locale, 'voice.heard', heard=heard)}\n{text}"
            self.metrics.voice_notes.labels(outcome=NoteResult.CONFIRM.value).inc()
        await self.turns.say(chat_id, [Screen(text, rows, delivery=Delivery.SEND)])

    async def _tap_only(
        self, chat_id: int, locale: str, button: CallbackButton, heard: str
    ) -> None:
        self.metrics.voice_notes.labels(outcome=NoteResult.TAP_ONLY.value).inc()
        text = f"{t(locale, 'voice.heard', heard=heard)}\n{t(locale, 'voice.tap_to_confirm')}"
        again = CallbackButton(t(locale, "voice.btn.none"), _mine(_Mine.AGAIN))
        await self.turns.say(chat_id, [Screen(text, [[button], [again]], delivery=Delivery.SEND)])

    # ------------------------------------------------------------ this module's buttons

    async def pressed(self, chat_id: int, language: str | None, data: str) -> Pressed:
        """One of this module's buttons; the caller answers the query with `toast` first
        (before anything slow), then runs `then`."""
        kind, _, arg = data.removeprefix(CALLBACK_PREFIX).partition("|")
        conv = await self.turns.peek(chat_id)
        locale = self.turns.locale_for(conv, language)
        shown = await self.chats.screen(chat_id)
        moved_on = Pressed(t(locale, "voice.toast.moved_on"))
        if kind == _Mine.HELP:
            return Pressed(then=lambda: self.turns.run(chat_id, Help(), language_code=language))
        if kind == _Mine.AGAIN and shown is not None:
            return Pressed(then=lambda: self.turns.say(chat_id, [shown.screen()]))
        if kind == _Mine.VALUE and conv is not None:
            pending = await self.chats.take(chat_id, arg)
            if pending is None or pending[1:] != (conv.step_id, conv.input_index):
                return moved_on
            value = Text(pending[0])
            return Pressed(then=lambda: self.turns.run(chat_id, value, language_code=language))
        return moved_on

    # ------------------------------------------------------------ /voice on|off

    async def command(self, chat_id: int, language: str | None, args: Sequence[str]) -> None:
        conv = await self.turns.peek(chat_id)
        locale = self.turns.locale_for(conv, language)
        wanted = args[0].lower() if args else ""
        if wanted in (VoiceMode.ON, VoiceMode.OFF):
            mode = VoiceMode(wanted)
            await self.chats.set_mode(chat_id, mode)
            key = f"voice.mode.{mode.value}"
            if mode is VoiceMode.ON and not self.listens(locale):
                key = "voice.result.language"
        else:
            on = await self.chats.speaks(chat_id)
            key = "voice.mode.usage_on" if on else "voice.mode.usage_off"
        await self.turns.say(chat_id, [Screen(t(locale, key), delivery=Delivery.SEND)])

    # ------------------------------------------------------------ screens shown

    async def shown(
        self,
        chat_id: int,
        conv: Conversation,
        screens: Sequence[Screen],
        remember: bool,
        lock: ChatLock | None = None,
    ) -> None:
        """Turns calls this after delivering screens: keep what the engine's newest screen
        accepts (now: the next voice note is matched against it), and read the newest screen
        aloud when the chat wants voice replies — after the turn, so synthesis never holds up
        the turn's effects (a sign-in link's state, a watch). Never raises."""
        if not screens:
            return
        newest = screens[-1]
        speaking = remember or bool(newest.buttons())  # not "I heard", a refusal
        if remember and lock is not None:
            # Kept with the turn's release; spoken (or not) once it says whether to.
            shown = ShownScreen.of(newest, conv)

            async def then(answers: list[object]) -> None:
                speaks = VoiceChats.speaks_from(answers)
                if speaks is not False:
                    self._speak_later(chat_id, conv.locale, newest, speaks)

            lock.on_release(
                lambda pipe: self.chats.queue_remember(pipe, chat_id, shown),
                f"screen of chat {chat_id} not remembered for voice",
                then=then,
            )
            return
        speaks: bool | None = None  # not known yet: asked when it is time to speak
        try:
            if remember:
                speaks = await self.chats.remember(chat_id, ShownScreen.of(newest, conv))
        except RedisError as error:
            log.warning("screen of chat %s not remembered for voice: %s", chat_id, error)
        if speaks is not False and speaking:
            self._speak_later(chat_id, conv.locale, newest, speaks)

    def _speak_later(self, chat_id: int, locale: str, screen: Screen, speaks: bool | None) -> None:
        """One chat's spoken screens go out in order, each after the one before."""
        before = self._speaking.get(chat_id)
        task = asyncio.create_task(self._speak_after(before, chat_id, locale, screen, speaks))
        self._speaking[chat_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._speaking.get(chat_id) is done:
                del self._speaking[chat_id]

        task.add_done_callback(forget)

    async def _speak_after(
        self,
        before: asyncio.Task[None] | None,
        chat_id: int,
        locale: str,
        screen: Screen,
        speaks: bool | None,
    ) -> None:
        if before is not None:
            await asyncio.wait([before])
        try:
            if speaks or (speaks is None and await self.chats.speaks(chat_id)):
                await self._speak(chat_id, locale, screen)
        except Exception:  # the screen is delivered; speech is a bonus
            log.exception("voice reply for chat %s failed; the text screen stands", chat_id)
            self.metrics.voice_replies.labels(result="failed").inc()

    async def settled(self) -> None:
        """Wait until every spoken screen started so far has gone out (or failed)."""
        while self._speaking:
            await asyncio.wait(list(self._speaking.values()))

    async def close(self, grace_s: float = SPEAK_GRACE_S) -> None:
        """Let spoken screens under way finish (for a while), then stop the workers."""
        try:
            await asyncio.wait_for(self.settled(), grace_s)
        except TimeoutError:
            for task in list(self._speaking.values()):
                task.cancel()
        await self.pipeline.close()

    async def _speak(self, chat_id: int, locale: str, screen: Screen) -> None:
        if not self.listens(locale):
            return  # no English voice reading a German screen
        labels = [b.label for b in screen.buttons() if isinstance(b, CallbackButton)]
        speech = await self.pipeline.speak_screen(screen.text, labels, locale)
        await self.turns.bot.send_voice(
            chat_id, voice=speech.ogg, duration=max(1, math.ceil(speech.duration_s))
        )
        self.metrics.voice_replies.labels(result="sent").inc()


def _filters(text: str, shown: ShownScreen) -> bool:
    """Whether typed text is a list filter as the engine reads it: part of an option's label
    ("daik", "zoe"). The engine narrows the list to it, as before; the matcher picks only
    what a filter cannot ("model 3 78kwh", "the highland one with 78")."""
    needle = text.strip().casefold()
    options = [b for b in shown.callback_buttons() if _action(b) is Action.CHOOSE]
    if any(needle == _plain(b.label).casefold() for b in options):
        return False  # an option's whole name ("tesla" beside "Tesla") is a choice, not a filter
    return bool(needle) and any(needle in b.label.casefold() for b in options)


def _action(button: CallbackButton) -> Action | None:
    pressed = decode(button.data)
    return pressed.action if pressed is not None else None


def _typed_decides(match: Match, *, input_step: bool) -> bool:
    """Whether typed text is an answer to the buttons rather than for the engine: on an
    input step anything may be the answer, so only a button named outright; elsewhere a
    clear name of one (not the start of a filter), or a few close ones to ask about."""
    best = match.best
    if best is None or match.verdict is Verdict.NOTHING:
        return False
    if input_step:
        return match.verdict is Verdict.ACT and best.score >= 1.0
    return match.verdict is Verdict.CONFIRM or best.score >= TYPED_ACT_SCORE


def _mine(kind: _Mine, arg: str = "") -> str:
    return f"{CALLBACK_PREFIX}{kind.value}|{arg}" if arg else f"{CALLBACK_PREFIX}{kind.value}"


def _problem(result: Understanding) -> NoteResult | None:
    return {
        Outcome.SILENCE: NoteResult.SILENCE,
        Outcome.UNDECODABLE: NoteResult.UNDECODABLE,
        Outcome.TOO_LONG: NoteResult.TOO_LONG,
        Outcome.TIMEOUT: NoteResult.TIMEOUT,
        Outcome.LANGUAGE: NoteResult.LANGUAGE,
    }.get(result.outcome)
