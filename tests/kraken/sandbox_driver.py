"""Walks a sandbox wizard by following `current_step` generically, like a patient user."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from kraken.client import KrakenClient
from kraken.credentials import ApiKeyCredentials
from kraken.models import (
    AuthFlowStep,
    DeviceRegistrationStep,
    Integration,
    SelectFromListStep,
    SelectVehicleOrChargePointStep,
    TeslaSetupVirtualKeyStep,
    TestChargeStep,
    UserActionRequiredStep,
    UserInputRequiredStep,
    WaitForLiveIntegrationStep,
    WaitForTransitionStep,
    Wizard,
)
from kraken.retry import RetryPolicy
from sandbox.kraken.browser import press_consent

URL = "http://sandbox/v1/graphql/"
ACCOUNT = "A-SANDBOX1"
PROPERTY = 1
WAIT_SECONDS = 25.0
MAX_STEPS = 100


async def no_sleep(_: float) -> None:
    await asyncio.sleep(0)


def sandbox_client(transport: httpx.AsyncBaseTransport, **kwargs: object) -> KrakenClient:
    """A client of the in-process sandbox, retrying at once."""
    return KrakenClient(
        URL,
        kwargs.pop("credentials", ApiKeyCredentials(api_key="sandbox-api-key")),  # type: ignore[arg-type]
        transport=transport,
        sleep=no_sleep,
        retry=RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.05, max_total=5.0),
        **kwargs,  # type: ignore[arg-type]
    )


@dataclass
class Journey:
    """The choices a user makes: list step type -> option label (or label prefix)."""

    choices: Mapping[str, str]
    inputs: Mapping[str, str] = field(default_factory=dict)
    integration: Integration = Integration.ELECTRIC_VEHICLE
    stop_at: str | None = None


@dataclass
class Walk:
    wizard: Wizard
    visited: list[str]


def pick(step: SelectFromListStep, wanted: str) -> str:
    for exact in (True, False):
        for option in step.options:
            if option.label == wanted or (not exact and option.label.startswith(wanted)):
                return option.id
    labels = [o.label for o in step.options]
    raise AssertionError(f"{step.typename}: no option {wanted!r} among {labels}")


class Driver:
    def __init__(self, client: KrakenClient, hooks: httpx.AsyncClient) -> None:
        self.client = client
        self.hooks = hooks

    async def advance(self, seconds: float = WAIT_SECONDS) -> None:
        response = await self.hooks.post("/sandbox/clock", json={"advanceSeconds": seconds})
        response.raise_for_status()

    async def consent(self, step: AuthFlowStep, *, allow: bool = True) -> str:
        """Click Allow (or Deny) on the fake manufacturer's page; return where it redirects."""
        assert step.authorization_uri
        return await press_consent(self.hooks, step.authorization_uri, allow=allow)

    async def reread(self, wizard: Wizard) -> Wizard:
        return await self.client.wizard(ACCOUNT, wizard.id)

    async def walk(self, wizard: Wizard, journey: Journey) -> Walk:
        visited: list[str] = []
        for _ in range(MAX_STEPS):
            step = wizard.current_step
            if step is None or step.typename == journey.stop_at:
                return Walk(wizard, visited)
            if not visited or visited[-1] != step.typename:
                visited.append(step.typename)
            wizard = await self._answer(wizard, journey)
            if wizard.current_step is not None and wizard.current_step.typename in {
                "UnsupportedCombination",
                "TerminalError",
            }:
                visited.append(wizard.current_step.typename)
                return Walk(wizard, visited)
        raise AssertionError(f"journey did not finish: {visited}")

    async def _answer(self, wizard: Wizard, journey: Journey) -> Wizard:
        step, wid, c = wizard.current_step, wizard.id, self.client
        assert step is not None
        if isinstance(step, SelectFromListStep):
            return await c.select_from_list(
                wid, step.id, pick(step, journey.choices[step.typename])
            )
        if isinstance(step, SelectVehicleOrChargePointStep):
            return await c.select_vehicle_or_charge_point(wid, step.id, journey.integration)
        if isinstance(step, AuthFlowStep):
            return await c.complete_auth_flow(wid, step.id, await self.consent(step))
        if isinstance(step, TeslaSetupVirtualKeyStep):
            return await c.complete_tesla_virtual_key(wid, step.id)
        if isinstance(step, UserActionRequiredStep):
            return await c.complete_user_action(wid, step.id)
        if isinstance(step, UserInputRequiredStep):
            values = {i.key: journey.inputs[i.key] for i in step.user_inputs}
            return await c.complete_user_input(wid, step.id, values)
        if isinstance(step, TestChargeStep) and step.is_ready and not step.is_started:
            return await c.start_test_charge(wid, step.id)
        waiting = (TestChargeStep, DeviceRegistrationStep, WaitForTransitionStep)
        if isinstance(step, (*waiting, WaitForLiveIntegrationStep)):
            await self.advance()
            return await self.reread(wizard)
        raise AssertionError(f"driver cannot answer {step.typename}")
