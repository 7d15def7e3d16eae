import html

import pytest

from bot.pages import oauth_page
from dialogs.i18n import t


@pytest.mark.parametrize("kind", ["done", "denied", "failed"])
@pytest.mark.parametrize("locale", ["en", "de", "es", "fr"])
def test_each_outcome_has_its_own_translated_page(kind: str, locale: str) -> None:
    page = oauth_page(locale, kind=kind, bot_link="https://t.me/demo_bot")
    assert html.escape(t(locale, f"bot.oauth.{kind}_title")) in page
    assert f'lang="{locale}"' in page
    assert 'href="https://t.me/demo_bot"' in page


def test_the_link_is_escaped_and_optional() -> None:
    page = oauth_page("en", kind="done", bot_link='https://t.me/x"><script>')
    assert "<script>" not in page
    assert "href" not in oauth_page("en", kind="done", bot_link=None)
