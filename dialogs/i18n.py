"""Translations: one function, `t`, over gettext catalogs keyed by stable dotted ids.

Catalogs live in ``locales/<lang>/LC_MESSAGES/*.po``: ``messages.po`` for onboarding and one
file per later feature (``devices.po``, ``voice.po``), so a feature's texts are reviewed and
translated together; all files of a language form one catalog and a key may be defined in only
one of them. The msgid is a key such as
``step.auth_flow.body`` and the msgstr the natural text, so a wording change never breaks a
lookup. Texts are HTML (Telegram ``parse_mode=HTML``) and their parameters are escaped, except
keys with a ``btn`` or ``toast`` segment: button labels and callback-query answers are plain
text in Telegram, where an escaped ``&amp;`` would show literally.

Namespaces: ``step.*`` (one per step family), ``btn.*``, ``notice.*``, ``error.*``,
``device_type.*``, ``lang.*``, ``help.*``; the bot adds its own under ``bot.*``.
"""

from __future__ import annotations

import gettext
import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
FALLBACK_LOCALE = "en"
_PLAIN_SEGMENTS = frozenset({"btn", "toast"})


@dataclass(frozen=True)
class _Entry:
    """One catalog message: a single text, or plural forms picked by the catalog's rule."""

    forms: tuple[str, ...]


@dataclass(frozen=True)
class _Catalog:
    entries: Mapping[str, _Entry]
    plural: Callable[[int], int]


@cache
def available_locales() -> tuple[str, ...]:
    """Locales that have a catalog on disk, sorted; English is always among them."""
    return tuple(
        sorted(p.parent.parent.name for p in LOCALES_DIR.glob("*/LC_MESSAGES/messages.po"))
    )


def catalog_files(locale: str) -> list[Path]:
    """The .po files that together make ``locale``'s catalog, ``messages.po`` first."""
    folder = LOCALES_DIR / locale / "LC_MESSAGES"
    return sorted(folder.glob("*.po"), key=lambda p: (p.name != "messages.po", p.name))


@cache
def _catalog(locale: str) -> _Catalog:
    entries: dict[str, _Entry] = {}
    plural_expr = "(n != 1)"
    for path in catalog_files(locale):
        with path.open("rb") as fh:
            po = read_po(fh, locale=locale)
        if path.name == "messages.po":
            plural_expr = po.plural_expr
        for message in po:
            if not message.id:
                continue  # the header
            key = str(message.id[0] if isinstance(message.id, tuple | list) else message.id)
            if key in entries:
                raise ValueError(f"{path}: {key!r} is already defined in another catalog file")
            strings = (
                message.string if isinstance(message.string, tuple | list) else (message.string,)
            )
            if all(strings):
                entries[key] = _Entry(tuple(str(s) for s in strings))
    return _Catalog(entries=entries, plural=gettext.c2py(plural_expr))


def catalog_keys(locale: str) -> frozenset[str]:
    """Keys translated in ``locale`` (used by the completeness tests and the bot's checks)."""
    return frozenset(_catalog(locale).entries)


def is_plain_key(key: str) -> bool:
    """True for keys whose text is shown as plain text (button labels, toasts)."""
    return not _PLAIN_SEGMENTS.isdisjoint(key.split("."))


def resolve_locale(telegram_language_code: str | None, override: str | None, default: str) -> str:
    """The locale to speak: the user's explicit choice, else Telegram's, else the default.

    Telegram sends IETF tags such as ``de-AT`` or ``pt-br``; only the language part matters
    for our catalogs.
    """
    for candidate in (override, telegram_language_code, default):
        if candidate:
            language = candidate.replace("_", "-").split("-")[0].lower()
            if language in available_locales():
                return language
    return FALLBACK_LOCALE


def t(locale: str, key: str, count: int | None = None, **params: object) -> str:
    """Translate ``key`` into ``locale``; ``count`` selects a plural form and is a parameter.

    Unknown locales, and keys a locale lacks, fall back to English; a key English lacks is a
    programming error and raises ``KeyError``.
    """
    catalog = _catalog(locale if locale in available_locales() else FALLBACK_LOCALE)
    if key not in catalog.entries:
        catalog = _catalog(FALLBACK_LOCALE)
    entry = catalog.entries[key]
    if count is not None:
        params["count"] = count
        index = catalog.plural(count) if len(entry.forms) > 1 else 0
        text = entry.forms[min(index, len(entry.forms) - 1)]
    else:
        text = entry.forms[0]
    if not is_plain_key(key):
        params = {name: html.escape(str(value), quote=False) for name, value in params.items()}
    return text.format(**params)


def has_key(key: str) -> bool:
    """Whether the (English) catalog defines ``key``; used for data-driven keys."""
    return key in _catalog(FALLBACK_LOCALE).entries
