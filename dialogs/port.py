"""The part of the Kraken client the conversation uses.

A Protocol so unit tests can pass a small fake while scenario tests (and the bot) pass the
real `kraken.client.KrakenClient`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from kraken.models import Integration, Wizard


class KrakenPort(Protocol):
    async def start_onboarding(self, account_number: str, property_id: int) -> Wizard: ...

    async def wizards(
        self,
        account_number: str,
        *,
        property_id: int | None = None,
        is_resumable: bool | None = None,
    ) -> Sequence[Wizard]: ...

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
