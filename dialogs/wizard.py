"""What the conversation knows of Kraken's wizard, and how it reads it.

- `KrakenPort`: the part of the Kraken client the conversation uses (a Protocol, so unit
  tests pass a small fake while scenario tests and the bot pass the real client).
- `WizardSnapshots`: wizards as Kraken last returned them, so a tap does not re-read what a
  mutation just said. A step's content never changes under the same id for the steps this
  serves — list, input and sign-in steps (Kraken mints a new id whenever a step is
  re-entered) — so the wizard a mutation answered with is still the truth when the customer
  taps a button on it. Steps whose fields move while their id stays (a running test charge,
  waits) are never served from here; a miss (another worker took the previous tap, a
  restart) reads Kraken, and an answer then goes ahead only if Kraken is still on the step
  the chat shows (`Turn.seen_step`). If Kraken moved on behind our back after a hit, the
  mutation still carries only the step id the customer saw: Kraken refuses it ("step moved
  on", and the engine re-reads), or, for a list step it has since completed, takes it as
  going back to that step. They also remember which wizards Kraken listed as complete (no
  step left, not cancelled): such a wizard never changes again, so how it ended is then a
  question for `devices` alone.
- Reading: a wizard is read among the account's wizards that are not cancelled
  (`read_wizard`), so an answer with no step left says "complete" by itself; `read_ending`
  then needs no second look at the list. A chat settled LIVE does not read its wizard at all
  (`read_device`): only its device can change.
- Going back: Kraken reverses a choice when an earlier list step is re-selected. The earlier
  step keeps the id and options it had in ``completedSteps``; re-selecting on it resets the
  wizard to that point. Device registration cannot be undone, so history before it is out of
  reach.
- Landing: the URL a customer lands on after signing in at the provider (pasted, or from our
  callback), and the OAuth ``state`` that maps the callback back to the wizard.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from dialogs.conversation import Conversation
from dialogs.machine import DEVICE_STATES, state_for
from kraken.models import (
    AuthFlowStep,
    Device,
    DeviceLifecycleStatus,
    DeviceRegistrationStep,
    HeatPumpState,
    Integration,
    PreferenceSchedule,
    SelectFromListStep,
    Step,
    UserInputRequiredStep,
    Wizard,
)


class KrakenPort(Protocol):
    async def start_onboarding(self, account_number: str, property_id: int) -> Wizard: ...

    async def wizards(
        self,
        account_number: str,
        *,
        property_id: int | None = None,
        wizard_id: str | None = None,
        include_cancelled: bool | None = None,
        include_completed: bool | None = None,
        is_resumable: bool | None = None,
    ) -> Sequence[Wizard]: ...

    async def devices(
        self, account_number: str, property_id: int | str | None = None
    ) -> Sequence[Device]: ...

    async def set_smart_control(self, device_id: str, suspend: bool) -> Device: ...

    async def boost(self, device_id: str, cancel: bool = False) -> Device: ...

    async def deauthenticate_device(self, account_number: str, device_id: str) -> str | None: ...

    async def set_preferences(
        self, account_number: str, device: Device, schedules: Sequence[PreferenceSchedule]
    ) -> Device | None: ...

    async def cap_charging_duration(self, device_id: str, enabled: bool) -> Device: ...

    async def set_grid_export(self, device_id: str, enabled: bool) -> Device: ...

    async def set_climate_control(self, device_id: str, enabled: bool) -> HeatPumpState: ...

    async def set_hot_water(self, device_id: str, enabled: bool) -> HeatPumpState: ...

    async def set_room_temperature(self, device_id: str, temperature: float) -> HeatPumpState: ...

    async def wizard(self, account_number: str, wizard_id: str) -> Wizard: ...

    async def cancel(self, wizard_id: str) -> Wizard: ...

    async def start_reauthentication(
        self, account_number: str, device_id: str, property_id: int
    ) -> Wizard: ...

    async def eligible_device_types(
        self, account_number: str, property_id: int | None = None
    ) -> Sequence[str]: ...

    async def select_from_list(self, wizard_id: str, step_id: str, option_id: str) -> Wizard: ...

    async def select_vehicle_or_charge_point(
        self, wizard_id: str, step_id: str, integration: Integration
    ) -> Wizard: ...

    async def complete_auth_flow(
        self, wizard_id: str, step_id: str, continuation_uri: str
    ) -> Wizard: ...

    async def complete_tesla_virtual_key(self, wizard_id: str, step_id: str) -> Wizard: ...

    async def complete_user_action(self, wizard_id: str, step_id: str) -> Wizard: ...

    async def complete_user_input(
        self, wizard_id: str, step_id: str, inputs: Mapping[str, str]
    ) -> Wizard: ...

    async def start_test_charge(self, wizard_id: str, step_id: str) -> Wizard: ...

    async def complete_retry(self, wizard_id: str, step_id: str) -> Wizard: ...


_STABLE_STEPS = (SelectFromListStep, UserInputRequiredStep, AuthFlowStep)
DEFAULT_SIZE = 2048


class WizardSnapshots:
    def __init__(self, maxsize: int = DEFAULT_SIZE) -> None:
        self._maxsize = maxsize
        self._wizards: OrderedDict[str, Wizard] = OrderedDict()
        self._complete: OrderedDict[str, None] = OrderedDict()

    def remember_kept(self, wizard: Wizard) -> None:
        """Kraken listed `wizard` among the wizards that are not cancelled: with no step left,
        it is complete, and stays so."""
        if wizard.current_step is None:
            self._complete[wizard.id] = None
            self._complete.move_to_end(wizard.id)
            while len(self._complete) > self._maxsize:
                self._complete.popitem(last=False)

    def known_complete(self, wizard_id: str) -> bool:
        return wizard_id in self._complete

    def remember(self, wizard: Wizard) -> None:
        self._wizards.pop(wizard.id, None)
        if isinstance(wizard.current_step, _STABLE_STEPS):
            self._wizards[wizard.id] = wizard
            while len(self._wizards) > self._maxsize:
                self._wizards.popitem(last=False)

    def recall(self, wizard_id: str | None, step_id: str | None) -> Wizard | None:
        """The remembered wizard if it is still at `step_id` (the step the chat shows)."""
        wizard = self._wizards.get(wizard_id or "")
        if wizard is None or wizard.current_step is None or wizard.current_step.id != step_id:
            return None
        self._wizards.move_to_end(wizard.id)
        return wizard

    def __len__(self) -> int:
        return len(self._wizards)


_IRREVERSIBLE = (DeviceRegistrationStep,)


def previous_list_step(wizard: Wizard, before: str | None = None) -> SelectFromListStep | None:
    """The latest completed list step (earlier than step ``before`` when it is given)."""
    history = list(wizard.completed_steps)
    ids = [step.id for step in history]
    if before is not None and before in ids:
        history = history[: ids.index(before)]
    for step in reversed(history):
        if isinstance(step, _IRREVERSIBLE):
            return None
        if isinstance(step, SelectFromListStep):
            return step
    return None


def find_step(wizard: Wizard, step_id: str | None) -> Step | None:
    """The current or a completed step with this id."""
    candidates = [wizard.current_step, *wizard.completed_steps]
    return next((s for s in candidates if s is not None and s.id == step_id), None)


def back_target(wizard: Wizard, before: str | None = None) -> str | None:
    """Id of the list step "back" leads to, unless Kraken says the wizard cannot rewind."""
    if wizard.is_rewindable is False:
        return None
    step = previous_list_step(wizard, before)
    return step.id if step is not None else None


@dataclass(frozen=True)
class Ending:
    """How a wizard with no step left really ended: `currentStep: null` means complete *or*
    cancelled, and complete does not mean the device is LIVE yet."""

    cancelled: bool
    device: Device | None = None

    @property
    def status(self) -> DeviceLifecycleStatus | None:
        return self.device.status.current if self.device is not None else None


async def read_wizard(
    kraken: KrakenPort,
    account_number: str,
    wizard_id: str,
    snapshots: WizardSnapshots | None = None,
) -> Wizard:
    """The wizard as Kraken has it now, asked among the wizards that are not cancelled, so
    that an answer with no step left means complete (noted in `snapshots`). A cancelled one is
    not among them and is read again with the cancelled ones: one read more, on a rare path."""
    kept = await _kept(kraken, account_number, wizard_id)
    if kept is None:
        return await kraken.wizard(account_number, wizard_id)
    if snapshots is not None:
        snapshots.remember_kept(kept)
    return kept


async def _kept(kraken: KrakenPort, account_number: str, wizard_id: str) -> Wizard | None:
    """The wizard if Kraken lists it among those not cancelled (open or complete)."""
    found = await kraken.wizards(
        account_number, wizard_id=wizard_id, include_cancelled=False, include_completed=True
    )
    return next((wizard for wizard in found if wizard.id == wizard_id), None)


async def read_ending(
    kraken: KrakenPort,
    account_number: str,
    property_id: int | None,
    wizard: Wizard,
    snapshots: WizardSnapshots | None = None,
) -> Ending:
    """Ask Kraken: is the wizard still there among the completed ones (not cancelled) —
    unless `snapshots` already know it complete — and what does `devices` say of the device
    it set up?"""
    if snapshots is None or not snapshots.known_complete(wizard.id):
        kept = await _kept(kraken, account_number, wizard.id)
        if kept is None:
            return Ending(cancelled=True)
        if snapshots is not None:
            snapshots.remember_kept(kept)
    devices = await kraken.devices(account_number, property_id)
    return Ending(cancelled=False, device=device_of(wizard, devices))


async def read_device(
    kraken: KrakenPort, account_number: str, property_id: int | None, device_id: str
) -> Ending:
    """How a chat that settled LIVE stands now. Its wizard is complete and never changes
    again; its device can (removed, out of smart control, no longer LIVE), and only `devices`
    says so. Found by its id: another device of the same type never stands in for it."""
    devices = await kraken.devices(account_number, property_id)
    return Ending(cancelled=False, device=next((d for d in devices if d.id == device_id), None))


def device_of(wizard: Wizard, devices: Sequence[Device]) -> Device | None:
    """The device a wizard set up. Kraken does not link them: the same type, and among
    several, the one whose make or model the wizard's name mentions, else one not retired."""
    candidates = [d for d in devices if wizard.device_type in (None, d.device_type)]
    name = (wizard.display_name or "").casefold()
    named = [
        d
        for d in candidates
        if any(part and part.casefold() in name for part in (d.name, d.model, d.make))
    ]
    for group in (named, candidates):
        current = [d for d in group if d.status.current is not DeviceLifecycleStatus.RETIRED]
        if current or group:
            return (current or group)[0]
    return None


def unchanged(conv: Conversation, wizard: Wizard) -> bool:
    """Whether Kraken's wizard is still where the chat shows it (nothing to tell)."""
    step = wizard.current_step
    same_step = (step.id if step else None) == conv.step_id
    if conv.state in DEVICE_STATES:
        return same_step  # looking at devices: only a new step is news
    return same_step and state_for(step) == conv.state


class LandingKind(Enum):
    OK = "ok"
    ACCESS_DENIED = "access_denied"
    PROVIDER_ERROR = "provider_error"
    INVALID = "invalid"


@dataclass(frozen=True)
class Landing:
    kind: LandingKind
    error: str = ""


def _query(url: str) -> dict[str, list[str]] | None:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    # Some providers put the answer in the fragment (implicit-style redirects).
    return parse_qs(parts.query) | parse_qs(parts.fragment)


def classify_landing(url: str) -> Landing:
    """OK carries an authorisation code; an ``error`` parameter says why sign-in stopped."""
    query = _query(url)
    if query is None:
        return Landing(LandingKind.INVALID)
    if "error" in query:
        error = query["error"][0]
        if error == "access_denied":
            return Landing(LandingKind.ACCESS_DENIED, error)
        return Landing(LandingKind.PROVIDER_ERROR, error[:60])
    return Landing(LandingKind.OK) if query.get("code") else Landing(LandingKind.INVALID)


def oauth_state(authorization_uri: str | None) -> str | None:
    """The ``state`` we will see again on the callback, so it can be mapped to the wizard."""
    query = _query(authorization_uri or "")
    values = (query or {}).get("state")
    return values[0] if values else None
