"""Validate `reply_markup` the way Telegram does before a keyboard reaches any user."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from sandbox.telegram.errors import BUTTON_DATA_INVALID, bad_request

INLINE_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "web_app",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_CANT_PARSE_MARKUP = "can't parse reply keyboard markup JSON object"


def parse_reply_markup(raw: Any) -> dict[str, Any] | None:
    """Accept a dict or (from form bodies) a JSON string; return the validated markup."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise bad_request(_CANT_PARSE_MARKUP) from None
    if not isinstance(raw, dict):
        raise bad_request(_CANT_PARSE_MARKUP)
    if "inline_keyboard" in raw:
        return {"inline_keyboard": _inline_rows(raw["inline_keyboard"])}
    if "keyboard" in raw or "remove_keyboard" in raw or "force_reply" in raw:
        return raw
    raise bad_request(_CANT_PARSE_MARKUP)


def _inline_rows(rows: Any) -> list[list[dict[str, Any]]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _button_error(
            'Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
        )
    return [[_inline_button(button) for button in row] for row in rows]


def _inline_button(button: Any) -> dict[str, Any]:
    if not isinstance(button, dict):
        raise _button_error("InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _button_error('Field "text" must be of type String')
    actions = [name for name in INLINE_ACTIONS if name in button]
    if not actions:
        raise bad_request("text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise _button_error("exactly one of the optional fields must be used")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
            raise bad_request(BUTTON_DATA_INVALID)
    if "url" in button:
        _check_url(button["url"])
    return dict(button)


def _check_url(url: Any) -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    valid = parts is not None and (
        (parts.scheme in ("http", "https") and bool(parts.netloc)) or parts.scheme == "tg"
    )
    if not valid:
        raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def _button_error(detail: str) -> Exception:
    return bad_request(f"can't parse inline keyboard button: {detail}")


def inline_buttons(markup: dict[str, Any] | None) -> list[list[dict[str, Any]]]:
    if not markup:
        return []
    rows: list[list[dict[str, Any]]] = markup.get("inline_keyboard", [])
    return rows
