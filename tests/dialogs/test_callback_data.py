import pytest

from dialogs.callback_data import Action, CallbackData, decode, encode, option_hash, step_hash


def test_round_trip_carries_step_action_and_argument() -> None:
    data = encode("step-123", Action.CHOOSE, 7)
    assert decode(data) == CallbackData(step_hash("step-123"), Action.CHOOSE, "7")
    assert decode(data) is not None and decode(data).int_arg() == 7  # type: ignore[union-attr]


def test_long_step_ids_still_fit_telegrams_64_bytes() -> None:
    data = encode("x" * 500, Action.INTEGRATION, "ELECTRIC_VEHICLE")
    assert len(data.encode()) <= 64


def test_different_steps_hash_differently() -> None:
    assert step_hash("a") != step_hash("b")


@pytest.mark.parametrize(
    "forged",
    [
        "",
        "garbage",
        "2|abcdef|c|1",
        "1|abcdef|Z|1",
        "1|ABCDEF|c|1",
        "1|abcdef|c|1|2",
        "1|abcdef|c|a b",
        "1|abc|c|1",
        "1|abcdef|c|" + "9" * 70,
    ],
)
def test_forged_or_malformed_data_is_rejected(forged: str) -> None:
    assert decode(forged) is None


def test_unencodable_argument_is_refused_at_encoding_time() -> None:
    with pytest.raises(ValueError):
        encode("s", Action.CHOOSE, "has space")


def test_an_option_is_named_by_a_hash_of_its_id_that_any_id_can_carry() -> None:
    data = encode("x" * 500, Action.CHOOSE, option_hash("variant/ü 7kW " * 20))
    decoded = decode(data)
    assert decoded is not None and decoded.arg == option_hash("variant/ü 7kW " * 20)
    assert len(data.encode()) <= 64 and option_hash("a") != option_hash("b")
