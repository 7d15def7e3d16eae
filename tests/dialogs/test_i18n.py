import re
from pathlib import Path

import pytest

from dialogs.i18n import available_locales, catalog_keys, resolve_locale, t

PLACEHOLDER = re.compile(r"\{(\w+)\}")
LOCALES = available_locales()


def test_the_four_launch_languages_are_present() -> None:
    assert {"en", "de", "es", "fr"} <= set(LOCALES)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_locale_has_exactly_the_english_keys(locale: str) -> None:
    english = catalog_keys("en")
    assert sorted(english - catalog_keys(locale)) == [], "missing"
    assert sorted(catalog_keys(locale) - english) == [], "extra"


def _placeholders(locale: str, key: str) -> set[str]:
    from dialogs.i18n import _catalog

    forms = _catalog(locale).entries[key].forms
    return {name for form in forms for name in PLACEHOLDER.findall(form)}


@pytest.mark.parametrize("locale", [loc for loc in LOCALES if loc != "en"])
def test_placeholders_match_english(locale: str) -> None:
    mismatched = [
        key
        for key in sorted(catalog_keys("en"))
        if _placeholders(locale, key) != _placeholders("en", key)
    ]
    assert mismatched == []


def test_plural_forms_follow_the_count() -> None:
    assert t("en", "step.list.count", count=1) == "1 option"
    assert t("en", "step.list.count", count=5) == "5 options"
    assert t("fr", "step.list.count", count=0) != t("fr", "step.list.count", count=2)


def test_unknown_locale_falls_back_to_english() -> None:
    assert t("xx", "btn.cancel") == t("en", "btn.cancel")


def test_html_text_params_are_escaped_but_button_labels_are_not() -> None:
    assert "&lt;b&gt;" in t("en", "step.input.prompt", description="<b>")
    assert t("en", "btn.option.not_live", name="A&B").endswith("A&B")


def test_unknown_key_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        t("en", "no.such.key")


@pytest.mark.parametrize(
    ("telegram", "override", "expected"),
    [
        ("de-AT", None, "de"),
        ("pt-BR", None, "es"),
        ("de", "fr", "fr"),
        (None, None, "es"),
        ("xx", "yy", "es"),
    ],
)
def test_resolve_locale(telegram: str | None, override: str | None, expected: str) -> None:
    assert resolve_locale(telegram, override, "es") == expected


def _po(path: Path, entries: dict[str, str]) -> None:
    body = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', ""]
    for key, text in entries.items():
        body += [f'msgid "{key}"', f'msgstr "{text}"', ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(body), encoding="utf-8")


def test_a_feature_catalog_file_joins_its_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dialogs.i18n as i18n

    _po(tmp_path / "en/LC_MESSAGES/messages.po", {"a.title": "A"})
    _po(tmp_path / "en/LC_MESSAGES/devices.po", {"device.x": "X"})
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n._catalog.cache_clear()
    try:
        assert i18n.t("en", "device.x") == "X"
        assert i18n.t("en", "a.title") == "A"
        _po(tmp_path / "en/LC_MESSAGES/voice.po", {"a.title": "again"})
        i18n._catalog.cache_clear()
        with pytest.raises(ValueError, match="already defined"):
            i18n.t("en", "a.title")
    finally:
        monkeypatch.undo()
        i18n._catalog.cache_clear()
