"""The small HTML pages a browser sees after a provider sign-in redirects to us."""

from __future__ import annotations

import html

from dialogs.i18n import t

_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body{{font-family:system-ui,sans-serif;background:#eef3f7;margin:0;display:flex;
min-height:100vh;align-items:center;justify-content:center}}
main{{background:#fff;border-radius:12px;padding:2rem;max-width:28rem;
box-shadow:0 2px 12px rgba(0,0,0,.08);text-align:center}}
a.button{{display:inline-block;margin-top:1rem;padding:.7rem 1.2rem;border-radius:8px;
background:#2aabee;color:#fff;text-decoration:none}}
</style></head>
<body><main><h1>{title}</h1><p>{body}</p>{link}</main></body></html>
"""


def oauth_page(locale: str, *, kind: str, bot_link: str | None) -> str:
    """`kind`: done (signed in), denied (the provider said no) or failed (unknown link)."""
    link = ""
    if bot_link:
        label = html.escape(t(locale, "bot.oauth.open_telegram"))
        link = f'<a class="button" href="{html.escape(bot_link)}">{label}</a>'
    return _PAGE.format(
        lang=html.escape(locale),
        title=html.escape(t(locale, f"bot.oauth.{kind}_title")),
        body=html.escape(t(locale, f"bot.oauth.{kind}_body")),
        link=link,
    )
