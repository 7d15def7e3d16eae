"""Callback data: ``1|<step hash>|<action>|<arg>``, at most 64 bytes UTF-8.

The step hash binds a button to the step it was drawn for, so a tap on a message from an older
step is recognised as stale instead of acting on whatever step is current. A list option is
named by a hash of its id, never by its position, so a list that changed cannot turn a tap into
another option. Decoding is strict: anything that is not exactly what `encode` could have
produced is rejected (``None``), because Telegram clients can send arbitrary data.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum

VERSION = "1"
MAX_BYTES = 64
_HASH_LEN = 6
_OPTION_HASH_LEN = 8
_ARG_RE = re.compile(r"[A-Za-z0-9_.:-]{0,40}")
_HASH_RE = re.compile(rf"[0-9a-f]{{{_HASH_LEN}}}")


class Action(StrEnum):
    """What a button asks for; single letters keep the payload small. Each is handled by
    exactly one entry of the tap table (`dialogs.engine.TAPS`)."""

    CHOOSE = "c"  # arg: option_hash of the option's id
    PAGE = "p"  # arg: page number
    CLEAR_FILTER = "f"
    BACK = "b"  # go back to the previous list step
    INTEGRATION = "i"  # arg: SelectIntegrationChoices value
    SIGNED_IN = "s"  # "I've signed in": ask for the landing URL
    KEY_ADDED = "k"
    ACTION_DONE = "a"
    CONFIRM_TEST = "t"
    CHECK_NOW = "n"
    SKIP_INPUT = "x"
    RETRY = "r"
    CANCEL = "q"
    CANCEL_YES = "y"
    CANCEL_NO = "o"
    RESUME = "u"
    START_OVER = "v"
    START_AGAIN = "g"
    CONTINUE = "e"
    LANGUAGE = "l"  # arg: locale code
    SWITCH_YES = "w"
    SWITCH_NO = "z"
    TAKE_OVER = "h"
    TESLA_REMEDY = "T"  # arg: MODIFY_SCOPES or RETRY_AUTHENTICATION
    # The devices after onboarding; arg: option_hash of the device id.
    DEVICES_LIST = "D"
    DEVICE_OPEN = "d"
    DEVICE_PAUSE = "j"
    DEVICE_RESUME = "m"
    DEVICE_BOOST = "O"
    DEVICE_STOP_BOOST = "Q"
    DEVICE_REMOVE = "R"
    DEVICE_REAUTH = "A"
    DEVICE_YES = "Y"
    DEVICE_NO = "N"
    # Device settings; arg: the device's hash, ":", what (see `dialogs.devices`).
    DEVICE_EDIT = "S"  # open an editor: weekday / weekend schedule, room temperature
    DEVICE_VALUE = "V"  # a value from the editor's buttons
    DEVICE_CAP = "C"  # the charging-duration cap on (1) or off (0)
    DEVICE_EXPORT = "E"  # grid export on (1) or off (0)
    DEVICE_HEATING = "H"  # a heat pump's heating on (1) or off (0)
    DEVICE_HOT_WATER = "W"  # a heat pump's hot water on (1) or off (0)


@dataclass(frozen=True)
class CallbackData:
    step_hash: str
    action: Action
    arg: str = ""

    def int_arg(self) -> int | None:
        return int(self.arg) if self.arg.isdigit() and len(self.arg) < 6 else None


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def step_hash(step_id: str | None) -> str:
    """Short digest of a step id (ids can be long); an absent step hashes like the empty id."""
    return _digest(step_id or "", _HASH_LEN)


def option_hash(option_id: str) -> str:
    """What a CHOOSE button carries to name its option: option ids can be long or hold
    characters callback data does not allow."""
    return _digest(option_id, _OPTION_HASH_LEN)


def encode(step_id: str | None, action: Action, arg: str | int = "") -> str:
    arg_text = str(arg)
    if not _ARG_RE.fullmatch(arg_text):
        raise ValueError(f"callback argument not encodable: {arg_text!r}")
    data = "|".join((VERSION, step_hash(step_id), action.value, arg_text))
    if len(data.encode()) > MAX_BYTES:
        raise ValueError("callback data longer than 64 bytes")
    return data


def decode(data: str) -> CallbackData | None:
    if len(data.encode()) > MAX_BYTES:
        return None
    parts = data.split("|")
    if len(parts) != 4:
        return None
    version, hashed, action_code, arg = parts
    if version != VERSION or not _HASH_RE.fullmatch(hashed) or not _ARG_RE.fullmatch(arg):
        return None
    try:
        action = Action(action_code)
    except ValueError:
        return None
    return CallbackData(step_hash=hashed, action=action, arg=arg)
