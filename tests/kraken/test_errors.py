from __future__ import annotations

import pytest

from kraken.errors import (
    ERROR_CODES,
    CapabilityMissing,
    ErrorCategory,
    KrakenAuthError,
    KrakenError,
    KrakenResponseError,
    KrakenTransportError,
    SchemaMismatch,
    category_of,
)

REFERENCE_CODES = [
    "1111",
    "1112",
    "1113",
    "1120",
    "1121",
    "1122",
    "1124",
    "1132",
    "1134",
    "1135",
    "1138",
    "1139",
    "1143",
    "1188",
    "1189",
    "1199",
    "4301",
    "4312",
    "4321",
    "4324",
    "4350",
    "4352",
    "4355",
    "4357",
    "4362",
    "4363",
    "4364",
    "4371",
    "4372",
    "4375",
    "4376",
    "4377",
    "4378",
    "4379",
    "4385",
    "4391",
    "7899",
    "4343",
    "4344",
]


def test_every_code_the_reference_lists_has_an_entry_with_a_summary() -> None:
    missing = [c for c in REFERENCE_CODES if f"KT-CT-{c}" not in ERROR_CODES]
    assert missing == []
    assert all(info.summary for info in ERROR_CODES.values())


@pytest.mark.parametrize(
    ("code", "category"),
    [
        ("KT-CT-4372", ErrorCategory.RETRY),
        ("KT-CT-4376", ErrorCategory.RETRY),
        ("KT-CT-1199", ErrorCategory.RETRY),
        ("KT-CT-4377", ErrorCategory.STEP_MOVED_ON),
        ("KT-CT-4378", ErrorCategory.STEP_MOVED_ON),
        ("KT-CT-1124", ErrorCategory.REAUTHENTICATE),
        ("KT-CT-4375", ErrorCategory.USER_CAN_FIX),
        ("KT-CT-4379", ErrorCategory.USER_CAN_FIX),
        ("KT-CT-4371", ErrorCategory.FATAL),
        ("KT-CT-4391", ErrorCategory.FATAL),
        ("KT-CT-9999", ErrorCategory.FATAL),
        (None, ErrorCategory.FATAL),
    ],
)
def test_category_decides_the_reaction(code: str | None, category: ErrorCategory) -> None:
    assert category_of(code) is category
    assert KrakenError("x", code=code).category is category


def test_from_graphql_reads_kraken_extensions() -> None:
    error = KrakenError.from_graphql(
        {
            "message": "Invalid data.",
            "extensions": {
                "errorType": "VALIDATION",
                "errorCode": "KT-CT-4375",
                "errorDescription": "Incorrect or missing parameters supplied for onboarding step.",
                "validationErrors": [
                    {"code": "V1", "message": "VIN is invalid.", "inputPath": ["input", "vin"]},
                    "junk",
                ],
                "testChargeRefusalReasons": ["DEVICE_AWAY_FROM_HOME", 3],
            },
        }
    )
    assert (error.code, error.error_type, error.category) == (
        "KT-CT-4375",
        "VALIDATION",
        ErrorCategory.USER_CAN_FIX,
    )
    assert [(v.message, v.input_path) for v in error.validation_errors] == [
        ("VIN is invalid.", ("input", "vin"))
    ]
    assert error.refusal_reasons == ["DEVICE_AWAY_FROM_HOME"]


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"message": "boom"},
        {"message": 5, "extensions": "nope"},
        {"extensions": {"errorCode": 7}},
    ],
)
def test_from_graphql_never_fails_on_odd_errors(raw: dict[str, object]) -> None:
    error = KrakenError.from_graphql(raw)
    assert error.code is None
    assert error.message
    assert error.category is ErrorCategory.FATAL


def test_subclass_categories() -> None:
    assert KrakenTransportError("down").category is ErrorCategory.RETRY
    assert KrakenResponseError("odd", code="KT-CT-4372").category is ErrorCategory.FATAL
    assert KrakenAuthError("bad key", code="KT-CT-1124").category is ErrorCategory.FATAL


def test_a_rejected_document_is_a_schema_mismatch_but_a_bad_variable_is_not() -> None:
    located = {"locations": [{"line": 2, "column": 3}]}
    rejected = "Cannot query field 'isComplete' on type 'SmartFlexOnboardingWizard'."
    mismatch = KrakenError.from_graphql({"message": rejected, **located})
    assert isinstance(mismatch, SchemaMismatch)
    bad_value = KrakenError.from_graphql(
        {"message": "Variable '$deviceType' got invalid value 'CARS'.", **located}
    )
    assert not isinstance(bad_value, SchemaMismatch)
    resolver = KrakenError.from_graphql({"message": "Oops.", "path": ["devices"], **located})
    assert not isinstance(resolver, SchemaMismatch)


def test_trigger_test_charge_refusal_reasons_lose_their_tc_prefix() -> None:
    error = KrakenError.from_graphql(
        {
            "message": "Unable to trigger charge.",
            "path": ["triggerTestCharge"],
            "extensions": {
                "errorCode": "KT-CT-4355",
                "testChargeRefusalReasons": ["TC_DEVICE_LIVE", "DEVICE_RETIRED"],
            },
        }
    )
    assert error.refusal_reasons == ["DEVICE_LIVE", "DEVICE_RETIRED"]


def test_a_missing_capability_says_what_to_do_and_names_itself() -> None:
    error = CapabilityMissing("test_charge", "none of triggerTestCharge")
    assert error.category is ErrorCategory.UNSUPPORTED
    assert error.code == "UNSUPPORTED-test_charge" and error.capability == "test_charge"
