from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run from an empty directory (no .env) with none of the bot's variables set."""
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def test_defaults_are_the_documented_ones() -> None:
    settings = load_settings()
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert (settings.port, settings.default_locale) == (8080, "en")
    assert settings.handoff_ttl == timedelta(days=7)
    assert settings.binding_ttl == timedelta(days=90)
    assert settings.watch_give_up_after == timedelta(hours=1)
    assert settings.data_dir == Path("var")
    assert settings.redis_url is None


def test_durations_and_usernames_are_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOFF_TTL", "P2D")
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "@SmartFlexBot")
    monkeypatch.setenv("PUBLIC_URL", "https://bot.example/")
    settings = load_settings({"PUBLIC_URL"})
    assert settings.handoff_ttl == timedelta(days=2)
    assert settings.telegram_bot_username == "SmartFlexBot"
    assert settings.public_url == "https://bot.example"


def test_secrets_are_hidden_in_repr_but_listed_for_redaction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KRAKEN_API_KEY", "kraken-key-value")
    monkeypatch.setenv("SUPPORT_API_TOKEN", "support-token-value")
    settings = load_settings({"KRAKEN_API_KEY"})
    assert "kraken-key-value" not in repr(settings)
    assert set(settings.secret_values()) == {"kraken-key-value", "support-token-value"}


def test_negative_ttl_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOFF_TTL", "-5")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.setting == "HANDOFF_TTL"


@pytest.mark.parametrize("name", ["HANDOFF_TTL", "WATCH_GIVE_UP_AFTER", "BINDING_TTL"])
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3600", timedelta(hours=1)),
        ("86400", timedelta(days=1)),
        (" 90.5 ", timedelta(seconds=90.5)),
        ("PT1H", timedelta(hours=1)),
        ("P7D", timedelta(days=7)),
        ("P30D", timedelta(days=30)),
    ],
)
def test_durations_read_plain_seconds_and_iso_8601(
    monkeypatch: pytest.MonkeyPatch, name: str, raw: str, expected: timedelta
) -> None:
    monkeypatch.setenv(name, raw)
    assert getattr(load_settings(), name.lower()) == expected


def test_device_alerts_are_looked_at_every_half_hour_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().alerts_every == timedelta(minutes=30)
    monkeypatch.setenv("ALERTS_EVERY", "PT10M")
    assert load_settings().alerts_every == timedelta(minutes=10)


@pytest.mark.parametrize(
    ("name", "raw", "rule"),
    [
        ("HANDOFF_TTL", "0", "must be more than 0 and at most 30 days"),
        ("HANDOFF_TTL", "-3600", "must be more than 0 and at most 30 days"),
        ("HANDOFF_TTL", "P31D", "must be more than 0 and at most 30 days"),
        ("HANDOFF_TTL", "2592001", "must be more than 0 and at most 30 days"),
        ("HANDOFF_TTL", "9" * 40, "must be more than 0 and at most 30 days"),
        ("WATCH_GIVE_UP_AFTER", "PT0S", "must be more than 0 and at most 30 days"),
        ("WATCH_GIVE_UP_AFTER", "P90D", "must be more than 0 and at most 30 days"),
        ("BINDING_TTL", "P401D", "must be more than 0 and at most 400 days"),
        ("BINDING_TTL", "-P1D", "must be more than 0 and at most 400 days"),
        ("BINDING_TTL", "ninety days", "not a duration (seconds or ISO 8601, e.g. P7D)"),
        ("ALERTS_EVERY", "0", "must be more than 0 and at most 1 day"),
        ("ALERTS_EVERY", "P2D", "must be more than 0 and at most 1 day"),
    ],
)
def test_durations_out_of_bounds_name_the_setting_and_rule_not_the_value(
    monkeypatch: pytest.MonkeyPatch, name: str, raw: str, rule: str
) -> None:
    monkeypatch.setenv(name, raw)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == f"configuration error: {name}: {rule}"


def test_binding_ttl_goes_up_to_400_days(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BINDING_TTL", "P400D")
    assert load_settings().binding_ttl == timedelta(days=400)


@pytest.mark.parametrize("name", ["SUPPORT_API_TOKEN", "WEBHOOK_SECRET"])
def test_short_shared_secrets_are_refused(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "Abc_123-xyz_789")  # 15 characters
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == (
        f"configuration error: {name}: must be at least 16 characters long"
    )
    monkeypatch.setenv(name, "Abc_123-xyz_7890")
    assert getattr(load_settings(), name.lower()).get_secret_value() == "Abc_123-xyz_7890"


def test_webhook_secret_keeps_telegrams_character_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", "long enough but has spaces")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.reason == "must be 1-256 characters from A-Z a-z 0-9 _ -"


def test_asking_for_an_unknown_setting_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="KRAKEN_URL"):
        load_settings({"KRAKEN_URL"})


def test_the_notifier_pacing_is_still_read_under_its_old_poll_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POLL_FIRST_DELAY", "0.5")
    monkeypatch.setenv("POLL_GIVE_UP_AFTER", "600")
    settings = load_settings()
    assert settings.watch_first_delay == 0.5
    assert settings.watch_give_up_after == timedelta(minutes=10)


def test_the_example_environment_documents_every_setting_and_loads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Operators start from .env.example: a setting missing there is a setting nobody finds."""
    text = (Path(__file__).resolve().parents[2] / ".env.example").read_text(encoding="utf-8")
    given = dict(re.findall(r"^([A-Z][A-Z0-9_]+)=(.*)$", text, re.MULTILINE))
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))
    assert sorted({name.upper() for name in Settings.model_fields} - documented) == []
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.kraken_requests_per_hour == int(given["KRAKEN_REQUESTS_PER_HOUR"])
