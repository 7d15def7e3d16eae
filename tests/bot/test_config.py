from __future__ import annotations

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


def test_asking_for_an_unknown_setting_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="KRAKEN_URL"):
        load_settings({"KRAKEN_URL"})
