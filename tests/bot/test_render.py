from telegram import InlineKeyboardButton

from bot.delivery import render
from dialogs.screen import CallbackButton, Screen, UrlButton


def test_callback_and_url_buttons_keep_their_rows() -> None:
    screen = Screen(
        text="<b>Pick</b>",
        keyboard=[
            [CallbackButton("A", "1|abcdef|c|0"), UrlButton("Sign in", "https://x.test/")],
            [],
        ],
    )
    parts = render(screen)
    assert parts.parse_mode == "HTML"
    assert parts.reply_markup is not None
    rows = parts.reply_markup.inline_keyboard
    assert len(rows) == 1  # empty rows are dropped: Telegram rejects them
    assert rows[0] == (
        InlineKeyboardButton("A", callback_data="1|abcdef|c|0"),
        InlineKeyboardButton("Sign in", url="https://x.test/"),
    )
    assert parts.link_preview_options is not None and parts.link_preview_options.is_disabled


def test_a_screen_without_buttons_sends_no_keyboard() -> None:
    assert render(Screen(text="hi")).reply_markup is None
