"""Kraken error codes and the exceptions the client raises.

Every failure the client surfaces is a `KrakenError` carrying a `category`, so callers decide
what to do (retry, re-render, ask again, give up) from one field instead of matching codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class ErrorCategory(StrEnum):
    """What a caller should do about an error."""

    RETRY = "RETRY"
    """Transient: the same call may succeed later (the client already retried with backoff)."""
    STEP_MOVED_ON = "STEP_MOVED_ON"
    """The wizard is no longer on the step the call named: re-read it and re-render."""
    REAUTHENTICATE = "REAUTHENTICATE"
    """The API token expired and could not be renewed transparently."""
    USER_CAN_FIX = "USER_CAN_FIX"
    """The user can change something (input, plug the car in) and try again."""
    FATAL = "FATAL"
    """Nothing to retry: explain and offer support."""
    UNSUPPORTED = "UNSUPPORTED"
    """This Kraken instance lacks what the step needs: the customer finishes it in the app."""


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    category: ErrorCategory
    summary: str


def _table(entries: Mapping[str, tuple[ErrorCategory, str]]) -> Mapping[str, ErrorInfo]:
    return MappingProxyType(
        {
            f"KT-CT-{number}": ErrorInfo(category, summary)
            for number, (category, summary) in entries.items()
        }
    )


_R, _M, _A, _U, _F = (
    ErrorCategory.RETRY,
    ErrorCategory.STEP_MOVED_ON,
    ErrorCategory.REAUTHENTICATE,
    ErrorCategory.USER_CAN_FIX,
    ErrorCategory.FATAL,
)

ERROR_CODES: Mapping[str, ErrorInfo] = _table(
    {
        # Authentication and authorisation.
        "1111": (_F, "Unauthorized."),
        "1112": (_F, "'Authorization' header not provided."),
        "1113": (_F, "Disabled GraphQL field requested."),
        "1120": (_A, "The Kraken Token has expired."),
        "1121": (_F, "Please use Kraken Token to issue long-lived refresh tokens."),
        "1122": (_F, "Long-lived refresh tokens can only be issued for account users."),
        "1124": (_A, "Signature of the JWT has expired."),
        "1132": (_F, "Unauthorized."),
        "1134": (_F, "Invalid data."),
        "1135": (_F, "Invalid data."),
        "1138": (_F, "Invalid email or password."),
        "1139": (_F, "Authentication failed."),
        "1143": (_F, "Authentication failed."),
        # Request limits.
        "1188": (_F, "Query complexity limit exceeded."),
        "1189": (_F, "Node limit exceeded."),
        "1199": (_R, "Too many requests."),
        # Devices.
        "4301": (_F, "Unable to find device for given account."),
        "4312": (_F, "Unable to register device."),
        "4313": (_F, "Could not find KrakenFlex device."),
        "4314": (_F, "Unable to get provider details."),
        "4321": (_F, "Serializer validation error."),
        "4324": (_F, "Device already registered error."),
        "4329": (_U, "Invalid data."),
        "4336": (_F, "Unable to set hot water state."),
        "4337": (_F, "Unable to set climate control state."),
        "4343": (_F, "Unable to list electric vehicles."),
        "4344": (_F, "Unable to list electric vehicles."),
        "4346": (_F, "Unable to set the room temperature."),
        "4350": (_F, "Unable to de-authenticate device."),
        "4352": (_F, "This device cannot currently be de-authenticated."),
        "4353": (_F, "An error occurred while trying to update your charging preferences."),
        "4354": (_F, "Unable to cancel boost charge."),
        "4355": (_U, "Unable to trigger charge."),
        "4356": (_F, "A boost charge cannot currently be performed."),
        "4357": (_U, "Unable to trigger boost charge."),
        "4358": (_F, "Unable to suspend device control."),
        "4359": (_F, "Unable to resume device control."),
        "4362": (_U, "Device not ready for test charge."),
        "4363": (_F, "No capable devices found."),
        "4364": (_F, "Multiple devices found."),
        # Onboarding wizard.
        "4371": (_F, "Onboarding wizard ID is invalid."),
        "4372": (_R, "Simultaneous attempts to update onboarding process."),
        "4374": (_F, "An error occurred while trying to set your device preferences."),
        "4375": (_U, "Incorrect or missing parameters for SmartFlex onboarding step."),
        "4376": (_R, "Unable to complete onboarding step. Please try again later."),
        "4377": (_M, "Invalid onboarding step ID."),
        "4378": (_M, "Invalid input or step id."),
        "4379": (_U, "Vehicle is not ready for a test charge."),
        "4385": (_F, "Re-authentication is not supported for this device."),
        "4386": (
            _F,
            "An error occurred while trying to update your device's grid export status.",
        ),
        "4387": (_F, "Could not find the KrakenFlex controller device."),
        "4389": (
            _F,
            "An error occurred while trying to update your device's "
            "isChargingDurationCapped setting.",
        ),
        "4390": (_F, "An error occurred while trying to update your device's preference."),
        "4391": (_F, "This onboarding wizard has been cancelled."),
        "7223": (_F, "Unauthorized."),
        "7899": (_F, "An internal error occurred."),
    }
)

RETRYABLE_CODES: frozenset[str] = frozenset(
    code for code, info in ERROR_CODES.items() if info.category is ErrorCategory.RETRY
)
TOKEN_EXPIRED = "KT-CT-1124"
WIZARD_NOT_FOUND = "KT-CT-4371"
DISABLED_FIELD = "KT-CT-1113"
"""The instance has the field but has switched it off: for the client, the same as missing."""
STEP_ID_INVALID = "KT-CT-4377"
TEST_CHARGE_REFUSAL_PREFIX = "TC_"
"""triggerTestCharge spells TestChargeRefusalReason values with this prefix (TC_DEVICE_LIVE)."""


def category_of(code: str | None) -> ErrorCategory:
    """Category for a code; codes the table does not know are FATAL (never retried blindly)."""
    info = ERROR_CODES.get(code or "")
    return info.category if info else ErrorCategory.FATAL


@dataclass(frozen=True, slots=True)
class ValidationError:
    """One entry of `extensions.validationErrors`: which input was wrong and why."""

    code: str | None
    message: str
    input_path: tuple[str, ...]


class KrakenError(Exception):
    """An error reported by Kraken (or a failure to talk to it)."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        description: str | None = None,
        error_type: str | None = None,
        validation_errors: Sequence[ValidationError] = (),
        refusal_reasons: Sequence[str] = (),
    ) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.message = message
        self.description = description
        self.error_type = error_type
        self.validation_errors = list(validation_errors)
        self.refusal_reasons = list(refusal_reasons)

    @property
    def category(self) -> ErrorCategory:
        return category_of(self.code)

    @classmethod
    def from_graphql(cls, error: Mapping[str, Any]) -> KrakenError:
        """Build from one `errors[]` entry, tolerating any missing or mistyped key."""
        extensions = error.get("extensions")
        ext: Mapping[str, Any] = extensions if isinstance(extensions, Mapping) else {}
        refusals = [
            reason.removeprefix(TEST_CHARGE_REFUSAL_PREFIX)
            for reason in _strings(ext.get("testChargeRefusalReasons"))
        ] + _strings(ext.get("boostChargeRefusalReasons"))
        code = _text(ext.get("errorCode"))
        message = _text(error.get("message")) or ""
        if (
            code is None
            and "path" not in error
            and "locations" in error
            and not message.startswith("Variable '$")  # our variables' values, not the schema
        ):
            # Located in the document, with no code and no result path: the document itself was
            # rejected (GraphQL validation), so the instance's schema is not what was detected.
            return SchemaMismatch(message or "Kraken rejected the document.")
        return cls(
            message or "Unknown Kraken error.",
            code=code,
            description=_text(ext.get("errorDescription")),
            error_type=_text(ext.get("errorType")),
            validation_errors=_validation_errors(ext.get("validationErrors")),
            refusal_reasons=refusals,
        )


class KrakenTransportError(KrakenError):
    """Kraken could not be reached or answered garbage (network, timeout, 5xx, non-JSON).

    `may_have_landed` is False only when the request certainly never reached Kraken (connect
    failures): a mutation that may have landed must not be replayed without checking first.
    """

    def __init__(self, message: str, *, may_have_landed: bool = True) -> None:
        super().__init__(message)
        self.may_have_landed = may_have_landed

    @property
    def category(self) -> ErrorCategory:
        return ErrorCategory.RETRY


class KrakenResponseError(KrakenError):
    """Kraken answered with JSON the client cannot make sense of."""

    @property
    def category(self) -> ErrorCategory:
        return ErrorCategory.FATAL


class KrakenAuthError(KrakenError):
    """The client's own credentials were refused: operators must fix the configuration."""

    @classmethod
    def wrap(cls, error: KrakenError) -> KrakenAuthError:
        return cls(
            error.message,
            code=error.code,
            description=error.description,
            error_type=error.error_type,
            validation_errors=error.validation_errors,
        )

    @property
    def category(self) -> ErrorCategory:
        return ErrorCategory.FATAL


class SchemaMismatch(KrakenError):
    """Kraken rejected the document itself (e.g. "Cannot query field ..."): its schema no longer
    matches what the client detected. The client re-detects and tries once more."""

    @property
    def category(self) -> ErrorCategory:
        return ErrorCategory.FATAL


class CapabilityMissing(KrakenError):
    """This instance lacks every variant of something the call needs (e.g. no test charge
    mutation at all). Never shown as is: the customer gets "finish this step in the app".

    `capability` names what is missing (see `kraken.capabilities.CAPABILITIES`); `code` is
    `UNSUPPORTED-<capability>`, short enough for a support reference.
    """

    def __init__(self, capability: str, detail: str = "", *, operation: str | None = None) -> None:
        text = f"This Kraken instance does not support {capability}"
        super().__init__(
            f"{text}: {detail}" if detail else f"{text}.",
            code=f"UNSUPPORTED-{capability}",
            error_type="UNSUPPORTED",
        )
        self.capability = capability
        self.operation = operation
        """The operation found missing, when the failure is about one variant of several."""

    @property
    def category(self) -> ErrorCategory:
        return ErrorCategory.UNSUPPORTED


def schema_gap(error: KrakenError) -> bool:
    """Kraken refused the operation itself: its schema changed, or the field is switched off."""
    return isinstance(error, SchemaMismatch) or error.code == DISABLED_FIELD


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(value: object) -> list[str]:
    return [item for item in _list(value) if isinstance(item, str)]


def _validation_errors(value: object) -> list[ValidationError]:
    return [
        ValidationError(
            code=_text(item.get("code")),
            message=_text(item.get("message")) or "",
            input_path=tuple(str(part) for part in _list(item.get("inputPath"))),
        )
        for item in _list(value)
        if isinstance(item, Mapping)
    ]
