"""Chat-level conversation state: the little the bot must keep between updates.

Kraken owns the wizard; this holds only what is needed to render the current step and to
interpret the next tap (ids, machine state, list page/filter, partially typed inputs). It is
stored as versioned JSON; `from_json` upgrades older versions through `MIGRATIONS` so a deploy
never strands a conversation that is mid-way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from dialogs.machine import State

CURRENT_VERSION = 1

Migration = Callable[[dict[str, Any]], dict[str, Any]]
# MIGRATIONS[n] upgrades a version-n document to version n+1.
MIGRATIONS: dict[int, Migration] = {}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Conversation(BaseModel):
    version: int = CURRENT_VERSION
    account_number: str | None = None
    property_id: int | None = None
    wizard_id: str | None = None
    step_id: str | None = None
    step_type: str | None = None
    state: State = State.NOT_LINKED
    locale: str = "en"
    locale_override: bool = False
    # The live message: the one message that carries wizard buttons (see bot.delivery).
    message_id: int | None = None
    message_buttons: bool = False
    # Its text without the footer, kept only while it shows one (to finalise it later).
    message_text: str | None = None
    progress_shown_at: datetime | None = None
    # The lifecycle of the device the wizard set up, while it is not LIVE yet (COMPLETING).
    device_status: str | None = None
    # The device card shown, and the action waiting for "yes" (pause, remove).
    device_id: str | None = None
    device_pending: str | None = None
    # The device setting whose value is awaited (DEVICE_INPUT): see `dialogs.devices.Editor`.
    # Added without a version bump: documents without it load with None.
    device_editing: str | None = None
    # The device the wizard set up, as `devices` named it when the chat settled LIVE: the
    # wizard is complete then and never changes again, so re-showing a LIVE chat asks
    # `devices` alone. Added without a version bump: documents without it take the old path
    # (read the wizard, then its ending) once, which fills it in.
    wizard_device_id: str | None = None
    list_page: int = 0
    list_filter: str = ""
    device_name: str | None = None
    # The latest earlier list step the user can go back to (Kraken re-selects on it).
    back_step_id: str | None = None
    # An earlier list step the user went back to and is now looking at.
    revisit_step_id: str | None = None
    input_index: int = 0
    inputs: dict[str, str] = Field(default_factory=dict)
    awaiting_url: bool = False
    auth_state: str | None = None
    last_error: str | None = None
    started_at: datetime | None = None
    last_activity_at: datetime | None = None
    waiting_since: datetime | None = None
    # A hand-off link for another account, waiting for "switch?" (its hash, never the token).
    switch_digest: str | None = None
    switch_account: str | None = None
    switch_offered_at: datetime | None = None
    state_before_switch: State | None = None

    def to_dict(self) -> dict[str, Any]:
        """The stored form: defaults are left out, the version always stays in."""
        body = self.model_dump(mode="json", exclude_defaults=True, exclude={"version"})
        return {"version": self.version, **body}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Conversation:
        return cls.from_dict(json.loads(raw))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        """Upgrade and validate a stored document (the store hands over decoded JSON)."""
        data = dict(data)
        version = int(data.get("version", 1))
        while version < CURRENT_VERSION:
            data = MIGRATIONS[version](data)
            version += 1
        data["version"] = CURRENT_VERSION
        return cls.model_validate(data)

    def reset_step_view(self) -> None:
        """Forget per-step UI state when Kraken moves to another step."""
        self.list_page = 0
        self.list_filter = ""
        self.revisit_step_id = None
        self.input_index = 0
        self.inputs = {}
        self.awaiting_url = False
