"""Telegram's limits, checked on every screen the tests see."""

from __future__ import annotations

from urllib.parse import urlsplit

from dialogs.callback_data import MAX_BYTES
from dialogs.screen import CallbackButton, Screen

MAX_TEXT = 4096
MAX_BUTTONS = 100
MAX_ROWS = 8


def assert_fits_telegram(screen: Screen) -> None:
    assert screen.text.strip(), "empty message text"
    assert len(screen.text) <= MAX_TEXT
    assert len(screen.buttons()) <= MAX_BUTTONS
    assert len(screen.keyboard) <= MAX_ROWS
    for button in screen.buttons():
        assert button.label.strip()
        if isinstance(button, CallbackButton):
            assert 1 <= len(button.data.encode()) <= MAX_BYTES
        else:  # Telegram refuses any other scheme on a URL button ("wrong http url")
            assert urlsplit(button.url).scheme in ("http", "https", "tg"), button.url
