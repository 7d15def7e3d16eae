"""What support asks for when handing a customer over (account, property, optional intent)
or taking a hand-over back (a link, a chat).

One model validates both the CLI arguments and the support endpoint's JSON, so both reject
the same inputs with the same words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from dialogs.events import Intent, ReAuthenticate, Resume

_ACCOUNT_NUMBER = re.compile(r"A-[0-9A-Z]{1,32}")
_INTENT_ARG = re.compile(r"[A-Za-z0-9_.:=-]{1,128}")


def normalise_account_number(value: str) -> str:
    """Kraken account numbers are `A-` then upper-case letters/digits (e.g. A-1B2C3D4E)."""
    candidate = value.strip().upper()
    if not _ACCOUNT_NUMBER.fullmatch(candidate):
        raise ValueError("must look like A-1B2C3D4E (A- then letters and digits)")
    return candidate


def intent_spec(intent: Intent) -> str:
    """The CLI and storage form of an intent: `resume:<wizardId>` or `reauth:<deviceId>`."""
    match intent:
        case Resume(wizard_id=wizard_id):
            return f"resume:{wizard_id}"
        case ReAuthenticate(device_id=device_id):
            return f"reauth:{device_id}"


def parse_intent(spec: str) -> Intent:
    """`resume:<wizardId>` or `reauth:<deviceId>`, the CLI and storage form of an intent."""
    kind, _, arg = spec.partition(":")
    if not _INTENT_ARG.fullmatch(arg):
        raise ValueError("must be resume:<wizardId> or reauth:<deviceId>")
    if kind == "resume":
        return Resume(arg)
    if kind == "reauth":
        return ReAuthenticate(arg)
    raise ValueError("must be resume:<wizardId> or reauth:<deviceId>")


def _check_intent(spec: str | None) -> str | None:
    return None if spec is None else intent_spec(parse_intent(spec))


class HandoffRequest(BaseModel):
    """Field aliases are the support endpoint's JSON names."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="forbid")

    account_number: Annotated[str, AfterValidator(normalise_account_number)] = Field(
        alias="accountNumber"
    )
    property_id: int | None = Field(default=None, alias="propertyId", gt=0)
    intent_spec: Annotated[str | None, AfterValidator(_check_intent)] = Field(
        default=None, alias="intent"
    )

    @property
    def intent(self) -> Intent | None:
        return None if self.intent_spec is None else parse_intent(self.intent_spec)


class RevokeLinkRequest(BaseModel):
    """`{"link": "https://t.me/..."}` or `{"token": "..."}`: the link to make unusable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    link: StrictStr | None = None
    token: StrictStr | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> RevokeLinkRequest:
        if (self.link is None) == (self.token is None):
            raise ValueError("give exactly one of link, token")
        return self

    @property
    def link_or_token(self) -> str:
        return self.link if self.link is not None else self.token or ""


class ChatRevokeRequest(BaseModel):
    """`{"chatId": N}`: the chat to unbind from its account."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="forbid")

    chat_id: StrictInt = Field(alias="chatId")


def describe_validation_error(error: ValidationError, names: Mapping[str, str] = {}) -> str:
    """`accountNumber: must look like ...` for the first problem; `names` renames fields
    (the CLI says `--account`). Never includes the input, which may be a pasted secret."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "request"
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "is not a known field"
    return f"{names.get(field, field)}: {message}"
