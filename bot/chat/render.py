"""Screen -> Telegram message parts: the only place the view model meets PTB types."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions

from dialogs.screen import CallbackButton, Screen, UrlButton


@dataclass(frozen=True)
class MessageParts:
    text: str
    reply_markup: InlineKeyboardMarkup | None
    parse_mode: str | None
    link_preview_options: LinkPreviewOptions | None

    def as_kwargs(self) -> dict[str, object]:
        return {
            "text": self.text,
            "reply_markup": self.reply_markup,
            "parse_mode": self.parse_mode,
            "link_preview_options": self.link_preview_options,
        }


def _button(button: CallbackButton | UrlButton) -> InlineKeyboardButton:
    if isinstance(button, UrlButton):
        return InlineKeyboardButton(text=button.label, url=button.url)
    return InlineKeyboardButton(text=button.label, callback_data=button.data)


def render(screen: Screen) -> MessageParts:
    keyboard = [[_button(b) for b in row] for row in screen.keyboard if row]
    return MessageParts(
        text=screen.text,
        reply_markup=InlineKeyboardMarkup(keyboard) if keyboard else None,
        parse_mode=screen.parse_mode or None,
        link_preview_options=LinkPreviewOptions(is_disabled=True)
        if screen.disable_preview
        else None,
    )
