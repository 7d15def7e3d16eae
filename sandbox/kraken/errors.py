"""Kraken's error vocabulary: codes, messages and the `extensions` envelope.

Raised anywhere below a resolver as `KrakenError`; the GraphQL layer formats it exactly like
Kraken (HTTP 200, `errors[].extensions {errorType, errorCode, errorDescription, ...}`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

APPLICATION = "APPLICATION"
VALIDATION = "VALIDATION"
AUTHORIZATION = "AUTHORIZATION"
NOT_FOUND = "NOT_FOUND"
SERVICE_AVAILABILITY = "SERVICE_AVAILABILITY"


@dataclass(frozen=True)
class ErrorSpec:
    code: str
    message: str
    error_type: str
    description: str


_SPECS = [
    ErrorSpec("KT-CT-1111", "Unauthorized.", AUTHORIZATION, "Unauthorized."),
    ErrorSpec(
        "KT-CT-1112",
        "'Authorization' header not provided.",
        AUTHORIZATION,
        "You must provide the AUTHORIZATION header while executing the query/mutation.",
    ),
    ErrorSpec(
        "KT-CT-1124",
        "Signature of the JWT has expired",
        AUTHORIZATION,
        "The provided token has expired. Please obtain a new token.",
    ),
    ErrorSpec(
        "KT-CT-1113",
        "Disabled GraphQL field requested.",
        APPLICATION,
        "This field is disabled on this instance.",
    ),
    ErrorSpec("KT-CT-1134", "Invalid data.", VALIDATION, "Authentication failed."),
    ErrorSpec("KT-CT-1135", "Invalid data.", VALIDATION, "Invalid or expired refresh token."),
    ErrorSpec(
        "KT-CT-1138",
        "Invalid data.",
        VALIDATION,
        "Please make sure the email and password are correct.",
    ),
    ErrorSpec("KT-CT-1139", "Invalid data.", VALIDATION, "Authentication failed."),
    ErrorSpec("KT-CT-1199", "Too many requests.", SERVICE_AVAILABILITY, "Too many requests."),
    ErrorSpec(
        "KT-CT-4301", "Unable to find device for given account.", NOT_FOUND, "Device not found."
    ),
    ErrorSpec("KT-CT-4313", "Could not find KrakenFlex device.", NOT_FOUND, "Device not found."),
    ErrorSpec(
        "KT-CT-4314",
        "Unable to get provider details.",
        APPLICATION,
        "The device's provider cannot be reached: its authentication has expired.",
    ),
    ErrorSpec(
        "KT-CT-4321", "Serializer validation error.", VALIDATION, "Serializer validation error."
    ),
    ErrorSpec("KT-CT-4329", "Invalid data.", VALIDATION, "The room temperature is out of bounds."),
    ErrorSpec(
        "KT-CT-4336",
        "Unable to set hot water state.",
        APPLICATION,
        "The device is not a live heat pump Kraken can reach.",
    ),
    ErrorSpec(
        "KT-CT-4337",
        "Unable to set climate control state.",
        APPLICATION,
        "The device is not a live heat pump Kraken can reach.",
    ),
    ErrorSpec(
        "KT-CT-4346",
        "Unable to set the room temperature.",
        APPLICATION,
        "The device is not a live heat pump with its heating on that Kraken can reach.",
    ),
    ErrorSpec(
        "KT-CT-4324",
        "Device already registered error.",
        APPLICATION,
        "The device is registered to another account.",
    ),
    ErrorSpec(
        "KT-CT-4350",
        "Unable to de-authenticate device.",
        APPLICATION,
        "No device of this account matches.",
    ),
    ErrorSpec(
        "KT-CT-4352",
        "This device cannot currently be de-authenticated.",
        APPLICATION,
        "The device is retired or running its test charge.",
    ),
    ErrorSpec(
        "KT-CT-4353",
        "An error occurred while trying to update your charging preferences.",
        APPLICATION,
        "The vehicle is retired or its authentication has expired.",
    ),
    ErrorSpec(
        "KT-CT-4354",
        "Unable to cancel boost charge.",
        APPLICATION,
        "The device is not boosting.",
    ),
    ErrorSpec(
        "KT-CT-4355",
        "Unable to trigger charge.",
        APPLICATION,
        "The test charge was refused; see testChargeRefusalReasons.",
    ),
    ErrorSpec(
        "KT-CT-4356",
        "A boost charge cannot currently be performed.",
        APPLICATION,
        "This kind of device cannot be boosted.",
    ),
    ErrorSpec(
        "KT-CT-4357",
        "Unable to trigger boost charge.",
        APPLICATION,
        "The boost was refused; see boostChargeRefusalReasons.",
    ),
    ErrorSpec(
        "KT-CT-4358",
        "Unable to suspend device control.",
        APPLICATION,
        "Only a live device's smart control can be suspended.",
    ),
    ErrorSpec(
        "KT-CT-4359",
        "Unable to resume device control.",
        APPLICATION,
        "Only a live device's smart control can be resumed.",
    ),
    ErrorSpec(
        "KT-CT-4362",
        "Device not ready for test charge.",
        APPLICATION,
        "No device of this account is waiting for its test charge.",
    ),
    ErrorSpec(
        "KT-CT-4371",
        "Onboarding wizard ID is invalid.",
        APPLICATION,
        "Onboarding wizard not found with ID. Please pass a correct ID.",
    ),
    ErrorSpec(
        "KT-CT-4372",
        "Simultaneous attempts to update onboarding process.",
        APPLICATION,
        "Another request is updating this onboarding wizard. Please try again.",
    ),
    ErrorSpec(
        "KT-CT-4374",
        "An error occurred while trying to set your device preferences.",
        APPLICATION,
        "The device is retired or takes no schedule.",
    ),
    ErrorSpec(
        "KT-CT-4375",
        "Incorrect or missing parameters for SmartFlex onboarding step.",
        APPLICATION,
        "Incorrect or missing parameters supplied for onboarding step.",
    ),
    ErrorSpec(
        "KT-CT-4376",
        "Unable to complete onboarding step. Please try again later.",
        APPLICATION,
        "Unable to complete onboarding step. Please try again later.",
    ),
    ErrorSpec(
        "KT-CT-4377",
        "Invalid onboarding step ID.",
        APPLICATION,
        "Invalid step ID provided for onboarding step",
    ),
    ErrorSpec(
        "KT-CT-4378",
        "Invalid input or step id. Please make sure you are using the correct step id and "
        "providing the expected input params.",
        APPLICATION,
        "The step ID or the input does not match the current onboarding step.",
    ),
    ErrorSpec(
        "KT-CT-4379",
        "Vehicle is not ready for a test charge.",
        APPLICATION,
        "The vehicle must be plugged in at home and not fully charged.",
    ),
    ErrorSpec(
        "KT-CT-4385",
        "Re-authentication is not supported for this device.",
        APPLICATION,
        "Re-authentication is not supported for this device.",
    ),
    ErrorSpec(
        "KT-CT-4386",
        "An error occurred while trying to update your device's grid export status.",
        APPLICATION,
        "Only a live battery or inverter Kraken can reach exports to the grid.",
    ),
    ErrorSpec(
        "KT-CT-4387",
        "Could not find the KrakenFlex controller device.",
        NOT_FOUND,
        "The heat pump's controller was de-authenticated.",
    ),
    ErrorSpec(
        "KT-CT-4389",
        "An error occurred while trying to update your device's isChargingDurationCapped setting.",
        APPLICATION,
        "The device is not live or Kraken cannot reach it.",
    ),
    ErrorSpec(
        "KT-CT-4390",
        "An error occurred while trying to update your device's preference.",
        APPLICATION,
        "The charging duration cap does not apply to this device.",
    ),
    ErrorSpec(
        "KT-CT-4391",
        "This onboarding wizard has been cancelled.",
        APPLICATION,
        "Cannot complete a step on a cancelled onboarding wizard.",
    ),
    ErrorSpec("KT-CT-7223", "Unauthorized.", AUTHORIZATION, "No such device on your accounts."),
    ErrorSpec(
        "KT-CT-7899", "An internal error occurred.", APPLICATION, "An internal error occurred."
    ),
]
SPECS: dict[str, ErrorSpec] = {spec.code: spec for spec in _SPECS}


@dataclass(frozen=True)
class FieldError:
    """One entry of `extensions.validationErrors`."""

    code: str
    message: str
    input_path: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "inputPath": list(self.input_path)}


class KrakenError(Exception):
    """A Kraken error for one field; `extra` lands verbatim in `extensions`."""

    def __init__(
        self,
        code: str,
        *,
        validation_errors: list[FieldError] | None = None,
        extra: dict[str, Any] | None = None,
        description: str | None = None,
    ) -> None:
        self.spec = SPECS.get(code) or ErrorSpec(
            code, "Injected error.", APPLICATION, "Injected error."
        )
        super().__init__(self.spec.message)
        self.validation_errors = validation_errors or []
        self.extra = extra or {}
        self.description = description or self.spec.description

    @property
    def code(self) -> str:
        return self.spec.code

    def extensions(self) -> dict[str, Any]:
        ext: dict[str, Any] = {
            "errorType": self.spec.error_type,
            "errorCode": self.spec.code,
            "errorDescription": self.description,
        }
        if self.spec.error_type == VALIDATION or self.validation_errors:
            ext["errorClass"] = VALIDATION
            ext["validationErrors"] = [e.as_dict() for e in self.validation_errors]
        ext.update(self.extra)
        return ext
