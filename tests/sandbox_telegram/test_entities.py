"""parse_mode parsing: the text a user sees and the entities, offsets in UTF-16 like Telegram."""

from __future__ import annotations

import pytest

from sandbox.telegram.entities import parse_text
from sandbox.telegram.errors import BotApiError


def test_html_nested_tags_links_and_escapes() -> None:
    text, entities = parse_text(
        '<b>Hi <i>there</i></b> &lt;3 <a href="https://x.org/?a=1&amp;b=2">link</a>', "HTML"
    )
    assert text == "Hi there <3 link"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 8},
        {"type": "italic", "offset": 3, "length": 5},
        {"type": "text_link", "offset": 12, "length": 4, "url": "https://x.org/?a=1&b=2"},
    ]


def test_offsets_count_utf16_units() -> None:
    text, entities = parse_text("🔌 <b>EV</b>", "HTML")
    assert text == "🔌 EV"
    assert entities == [{"type": "bold", "offset": 3, "length": 2}]


def test_pre_with_language_and_code() -> None:
    _, entities = parse_text('<pre><code class="language-python">x = 1</code></pre>', "HTML")
    assert entities == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]
    _, entities = parse_text("```python\nx = 1```", "MarkdownV2")
    assert entities == [{"type": "pre", "offset": 0, "length": 5, "language": "python"}]


def test_markdown_v2_entities_and_escapes() -> None:
    text, entities = parse_text(
        "*bold* _it_ __under__ ~s~ ||sp|| `c\\`d` [site](https://x.org/a\\)b) 1\\.5", "MarkdownV2"
    )
    assert text == "bold it under s sp c`d site 1.5"
    assert [e["type"] for e in entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "text_link",
    ]
    assert entities[-1]["url"] == "https://x.org/a)b"


def test_markdown_v2_blockquote() -> None:
    text, entities = parse_text(">quoted\n>still\nplain", "MarkdownV2")
    assert text == "quoted\nstill\nplain"
    assert entities == [{"type": "blockquote", "offset": 0, "length": 12}]


def test_surrounding_whitespace_is_trimmed_with_entities() -> None:
    text, entities = parse_text("  <b> hi </b>  ", "HTML")
    assert text == "hi"
    assert entities == [{"type": "bold", "offset": 0, "length": 2}]


@pytest.mark.parametrize(
    ("source", "mode", "detail"),
    [
        ("<span>x</span>", "HTML", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("x</b>", "HTML", "Unexpected end tag at byte offset 1"),
        ("é<b", "HTML", "Unclosed start tag at byte offset 2"),
        (
            "a-b",
            "MarkdownV2",
            "Character '-' is reserved and must be escaped with the preceding '\\'",
        ),
        ("`code", "MarkdownV2", "Can't find end of Code entity at byte offset 0"),
        ("[x](http://a", "MarkdownV2", "Can't find end of a URL at byte offset 3"),
        ("hi", "Fancy", 'Unsupported parse_mode "Fancy"'),
    ],
)
def test_refusals(source: str, mode: str, detail: str) -> None:
    with pytest.raises(BotApiError) as refused:
        parse_text(source, mode)
    assert refused.value.description == f"Bad Request: can't parse entities: {detail}"
