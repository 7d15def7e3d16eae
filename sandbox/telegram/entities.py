"""Turn `parse_mode` text into plain text plus MessageEntity dicts, refusing what Telegram refuses.

Follows tdlib's parsers (MessageEntity.cpp): the same tag set, the same reserved MarkdownV2
characters and the same "can't parse entities" wording, so a formatting bug surfaces here and not
in front of a customer. Offsets and lengths are UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sandbox.telegram.errors import BotApiError, cant_parse_entities

Entity = dict[str, Any]

MARKDOWN_V2_RESERVED = "_*[]()~`>#+-=|{}.!"
_HTML_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d+)|#x([0-9a-fA-F]+));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG_NAME = re.compile(r"[a-zA-Z0-9-]*")
_ATTRIBUTE = re.compile(r"\s*([a-zA-Z0-9-]+)\s*(?:=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+))?")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


@dataclass
class _Output:
    """Accumulates the plain text while tracking its length in UTF-16 units."""

    parts: list[str] = field(default_factory=list)
    length: int = 0
    entities: list[Entity] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length += utf16_len(text)

    def entity(self, kind: str, start: int, **extra: Any) -> None:
        if self.length > start:
            self.entities.append({"type": kind, "offset": start, "length": self.length - start})
            self.entities[-1].update({k: v for k, v in extra.items() if v is not None})

    def result(self) -> tuple[str, list[Entity]]:
        return "".join(self.parts), self.entities


@dataclass
class _OpenTag:
    name: str
    start: int
    attributes: dict[str, str]


def parse_html(source: str) -> tuple[str, list[Entity]]:
    out = _Output()
    stack: list[_OpenTag] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == "&":
            match = _HTML_ENTITY.match(source, i)
            if match:
                out.add(_decode_html_entity(match))
                i = match.end()
                continue
            out.add(char)
            i += 1
        elif char == "<" and source.startswith("</", i):
            i = _close_html_tag(source, i, stack, out)
        elif char == "<":
            i = _open_html_tag(source, i, stack, out)
        else:
            out.add(char)
            i += 1
    if stack:
        raise cant_parse_entities(
            f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"'
        )
    return out.result()


def _decode_html_entity(match: re.Match[str]) -> str:
    named, decimal, hexadecimal = match.groups()
    if named:
        return _NAMED[named]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    return chr(code) if 0 < code < 0x110000 else ""


def _open_html_tag(source: str, i: int, stack: list[_OpenTag], out: _Output) -> int:
    offset = _byte_offset(source, i)
    name_match = _TAG_NAME.match(source, i + 1)
    assert name_match is not None  # the pattern matches the empty string
    name = name_match.group().lower()
    if name not in _HTML_TAGS:
        raise cant_parse_entities(f'Unsupported start tag "{name}" at byte offset {offset}')
    end = source.find(">", name_match.end())
    if end == -1:
        raise cant_parse_entities(f"Unclosed start tag at byte offset {offset}")
    attributes = {
        m.group(1).lower(): _HTML_ENTITY.sub(_decode_html_entity, (m.group(2) or "").strip("\"'"))
        for m in _ATTRIBUTE.finditer(source[name_match.end() : end])
    }
    if name == "span" and attributes.get("class") != "tg-spoiler":
        raise cant_parse_entities(
            f'Tag "span" must have class "tg-spoiler" at byte offset {offset}'
        )
    stack.append(_OpenTag(name, out.length, attributes))
    return end + 1


def _close_html_tag(source: str, i: int, stack: list[_OpenTag], out: _Output) -> int:
    offset = _byte_offset(source, i)
    end = source.find(">", i)
    if end == -1:
        raise cant_parse_entities(f"Unclosed end tag at byte offset {offset}")
    name = source[i + 2 : end].strip().lower()
    if not stack:
        raise cant_parse_entities(f"Unexpected end tag at byte offset {offset}")
    tag = stack.pop()
    if name != tag.name:
        raise cant_parse_entities(
            f'Unmatched end tag at byte offset {offset}, expected "</{tag.name}>", '
            f'found "</{name}>"'
        )
    _emit_html_entity(tag, stack, out)
    return end + 1


def _emit_html_entity(tag: _OpenTag, stack: list[_OpenTag], out: _Output) -> None:
    kind = _HTML_TAGS[tag.name]
    attrs = tag.attributes
    if kind == "text_link":
        if attrs.get("href"):
            out.entity("text_link", tag.start, url=attrs["href"])
    elif kind == "code" and stack and stack[-1].name == "pre":
        language = attrs.get("class", "").removeprefix("language-")
        stack[-1].attributes.setdefault("language", language)
        if not language:
            out.entity("code", tag.start)
    elif kind == "pre":
        out.entity("pre", tag.start, language=attrs.get("language") or None)
    elif kind == "blockquote":
        out.entity("expandable_blockquote" if "expandable" in attrs else "blockquote", tag.start)
    elif kind == "custom_emoji":
        out.entity("custom_emoji", tag.start, custom_emoji_id=attrs.get("emoji-id"))
    else:
        out.entity(kind, tag.start)


# MarkdownV2 ------------------------------------------------------------------------------------

_MD_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
}
_MD_MARKERS = {
    "bold": "*",
    "italic": "_",
    "underline": "__",
    "strikethrough": "~",
    "spoiler": "||",
    "code": "`",
    "pre": "```",
    "text_link": "]",
}


@dataclass
class _OpenMarker:
    kind: str
    start: int
    byte_offset: int
    language: str | None = None


def parse_markdown_v2(source: str) -> tuple[str, list[Entity]]:
    out = _Output()
    stack: list[_OpenMarker] = []
    quote_start: int | None = None
    i = 0
    while i < len(source):
        char = source[i]
        if char == "\\" and i + 1 < len(source) and 0 < ord(source[i + 1]) <= 126:
            out.add(source[i + 1])
            i += 2
            continue
        in_code = bool(stack) and stack[-1].kind in ("code", "pre")
        if char == "\n" and quote_start is not None and not source.startswith(">", i + 1):
            out.entity("blockquote", quote_start)
            quote_start = None
        if (in_code and char != "`") or char not in MARKDOWN_V2_RESERVED:
            out.add(char)
            i += 1
            continue
        if char == ">" and (i == 0 or source[i - 1] == "\n") and not in_code:
            quote_start = out.length if quote_start is None else quote_start
            i += 1
            continue
        if stack and source.startswith(_MD_MARKERS[stack[-1].kind], i):
            i = _close_marker(source, i, stack.pop(), out)
            continue
        if in_code:
            raise _reserved(char)
        i = _open_marker(source, i, stack, out)
    if stack:
        top = stack[-1]
        raise cant_parse_entities(
            f"Can't find end of {_MD_NAMES[top.kind]} entity at byte offset {top.byte_offset}"
        )
    if quote_start is not None:
        out.entity("blockquote", quote_start)
    return out.result()


def _open_marker(source: str, i: int, stack: list[_OpenMarker], out: _Output) -> int:
    offset = _byte_offset(source, i)
    kind: str | None = None
    for candidate in ("pre", "underline", "spoiler", "bold", "italic", "strikethrough", "code"):
        if source.startswith(_MD_MARKERS[candidate], i):
            kind = candidate
            break
    if source[i] == "[":
        kind = "text_link"
    if kind is None:
        raise _reserved(source[i])
    marker = _MD_MARKERS[kind] if kind != "text_link" else "["
    i += len(marker)
    language = None
    if kind == "pre":
        newline = source.find("\n", i)
        first_line = source[i:newline] if newline != -1 else ""
        if first_line and not any(c.isspace() or c in "`" for c in first_line):
            language = first_line
            i = newline + 1
    stack.append(_OpenMarker(kind, out.length, offset, language))
    return i


def _close_marker(source: str, i: int, opened: _OpenMarker, out: _Output) -> int:
    i += len(_MD_MARKERS[opened.kind])
    if opened.kind != "text_link":
        out.entity(opened.kind, opened.start, language=opened.language)
        return i
    if not source.startswith("(", i):
        return i
    url_chars: list[str] = []
    j = i + 1
    while j < len(source) and source[j] != ")":
        if source[j] == "\\" and j + 1 < len(source):
            j += 1
        url_chars.append(source[j])
        j += 1
    if j >= len(source):
        offset = _byte_offset(source, i)
        raise cant_parse_entities(f"Can't find end of a URL at byte offset {offset}")
    out.entity("text_link", opened.start, url="".join(url_chars))
    return j + 1


def _reserved(char: str) -> BotApiError:
    return cant_parse_entities(
        f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
    )


# Entry point -----------------------------------------------------------------------------------


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[Entity]]:
    """Parse per `parse_mode`, then trim surrounding whitespace the way Telegram does."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        plain, entities = parse_html(text)
    elif mode == "markdownv2":
        plain, entities = parse_markdown_v2(text)
    elif mode in ("", "markdown"):
        plain, entities = text, []
    else:
        raise cant_parse_entities(f'Unsupported parse_mode "{parse_mode}"')
    return _strip(plain, entities)


def _strip(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    stripped = text.strip()
    if not stripped:
        return "", []
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    kept: list[Entity] = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(total, entity["offset"] + entity["length"] - lead)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    kept.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, kept
