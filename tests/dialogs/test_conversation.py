from datetime import UTC, datetime

from dialogs import conversation as conv_module
from dialogs.conversation import Conversation


def test_json_round_trip_keeps_everything() -> None:
    conv = Conversation(
        account_number="A-1",
        property_id=1,
        wizard_id="w",
        step_id="s",
        step_type="AuthFlow",
        state="signing_in",
        inputs={"vin": "X"},
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert Conversation.from_json(conv.to_json()) == conv


def test_typical_conversation_is_small_and_versioned() -> None:
    conv = Conversation(
        account_number="A-SANDBOX1",
        property_id=1,
        wizard_id="123456",
        step_id="step-abcdef-123456",
        step_type="SelectVehicleMake",
        state="choosing",
        message_id=42,
        list_filter="tes",
        started_at=datetime.now(UTC),
        last_activity_at=datetime.now(UTC),
    )
    raw = conv.to_json()
    assert len(raw) < 400
    assert raw.startswith('{"version":1')


def test_older_versions_are_migrated(monkeypatch: object) -> None:
    import pytest

    mp = pytest.MonkeyPatch()
    mp.setattr(conv_module, "CURRENT_VERSION", 2)
    mp.setitem(conv_module.MIGRATIONS, 1, lambda d: {**d, "locale": d.pop("lang")})
    try:
        conv = Conversation.from_json('{"version":1,"lang":"de"}')
    finally:
        mp.undo()
    assert conv.locale == "de"
    assert conv.version == 2
