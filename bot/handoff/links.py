"""Turning a hand-off token into what support gives the customer: a t.me link and a QR code."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import segno
from telegram.helpers import create_deep_linked_url


def deep_link(bot_username: str, token: str) -> str:
    """`https://t.me/<bot>?start=<token>`; PTB's helper rejects payloads Telegram would drop."""
    return create_deep_linked_url(bot_username.removeprefix("@"), token)


def token_in(link_or_token: str) -> str:
    """The token a link carries in its `start` parameter (t.me or tg:// form), or the text
    itself when it is no link; "" for a link without exactly one `start`."""
    text = link_or_token.strip()
    query = urlsplit(text).query
    if not query:
        return text
    values = parse_qs(query).get("start", [])
    return values[0] if len(values) == 1 else ""


def qr_png(link: str, scale: int = 8) -> bytes:
    """A PNG QR code for the link, large enough to scan from a screen share."""
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
