"""The client against the Kraken sandbox, in process (httpx.ASGITransport)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from kraken.client import KrakenClient
from kraken.credentials import ApiKeyCredentials, PasswordCredentials
from kraken.errors import ErrorCategory, KrakenAuthError, KrakenError
from kraken.models import (
    AuthFlowStep,
    DeviceLifecycleStatus,
    DeviceType,
    Integration,
    SelectVehicleMakeStep,
    SelectVehicleVariantStep,
    UserInputRequiredStep,
)
from tests.kraken.sandbox_driver import (
    ACCOUNT,
    PROPERTY,
    Driver,
    Journey,
    pick,
    sandbox_client,
)

NO_CHARGER = "No smart charger / not listed"


EV = "Electric vehicle or charger"
JOURNEYS = {
    "tesla_single_car": (
        Journey({"SelectDeviceType": EV, "SelectVehicleMake": "Tesla",
                 "SelectVehicleVariant": "Model 3", "SelectChargePointMake": NO_CHARGER}),
        ["SelectDeviceType", "SelectVehicleMake", "SelectVehicleVariant",
         "SelectChargePointMake", "AuthFlow", "TeslaSetupVirtualKey", "TestCharge",
         "WaitForTransition"],
    ),
    "tesla_two_cars": (
        Journey({"SelectDeviceType": EV, "SelectVehicleMake": "Tesla",
                 "SelectVehicleVariant": "Model S", "SelectChargePointMake": NO_CHARGER,
                 "SelectUserVehicle": ""}),
        ["SelectDeviceType", "SelectVehicleMake", "SelectVehicleVariant",
         "SelectChargePointMake", "AuthFlow", "TeslaSetupVirtualKey", "SelectUserVehicle",
         "TestCharge", "WaitForTransition"],
    ),
    "aggregator_with_registration": (
        Journey({"SelectDeviceType": EV, "SelectVehicleMake": "Jaguar",
                 "SelectVehicleVariant": "I-Pace", "SelectChargePointMake": NO_CHARGER}),
        ["SelectDeviceType", "SelectVehicleMake", "SelectVehicleVariant",
         "SelectChargePointMake", "AuthFlow", "SmartFlexOnboardingDeviceRegistration",
         "TestCharge", "WaitForTransition"],
    ),
    "car_and_charger_choose_charger": (
        Journey({"SelectDeviceType": EV, "SelectVehicleMake": "Tesla",
                 "SelectVehicleVariant": "Model Y", "SelectChargePointMake": "Ohme",
                 "SelectChargePointVariant": "Home Pro"},
                integration=Integration.CHARGE_POINT),
        ["SelectDeviceType", "SelectVehicleMake", "SelectVehicleVariant",
         "SelectChargePointMake", "SelectChargePointVariant", "SelectVehicleOrChargePoint",
         "AuthFlow", "SmartFlexOnboardingDeviceRegistration", "TestCharge",
         "WaitForTransition"],
    ),
    "ocpp_charger": (
        Journey({"SelectDeviceType": EV, "SelectVehicleMake": "Fiat",
                 "SelectVehicleVariant": "500e", "SelectChargePointMake": "Easee",
                 "SelectChargePointVariant": "One"},
                inputs={"serialNumber": "EH123456789"}),
        ["SelectDeviceType", "SelectVehicleMake", "SelectVehicleVariant",
         "SelectChargePointMake", "SelectChargePointVariant", "UserInputRequired",
         "UserActionRequired", "WaitForTransition"],
    ),
    "heat_pump": (
        Journey({"SelectDeviceType": "Heat pump", "SelectHeatPumpMake": "Daikin"}),
        ["SelectDeviceType", "SelectHeatPumpMake", "AuthFlow", "WaitForLiveIntegration"],
    ),
    "unsupported_combination": (
        Journey({"SelectDeviceType": EV, "SelectVehicleMake": "Lucid",
                 "SelectVehicleVariant": "Air", "SelectChargePointMake": NO_CHARGER}),
        ["SelectDeviceType", "SelectVehicleMake", "SelectVehicleVariant",
         "SelectChargePointMake", "UnsupportedCombination"],
    ),
    "test_charge_refused_then_ok": (
        Journey({"SelectDeviceType": EV, "SelectVehicleMake": "Nissan",
                 "SelectVehicleVariant": "Leaf", "SelectChargePointMake": NO_CHARGER}),
        ["SelectDeviceType", "SelectVehicleMake", "SelectVehicleVariant",
         "SelectChargePointMake", "AuthFlow", "SmartFlexOnboardingDeviceRegistration",
         "TestCharge", "WaitForTransition"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(JOURNEYS))
async def test_journey(name: str, client: KrakenClient, driver: Driver) -> None:
    journey, expected = JOURNEYS[name]
    wizard = await client.start_onboarding(ACCOUNT, PROPERTY)
    walk = await driver.walk(wizard, journey)
    assert walk.visited == expected
    if expected[-1] == "UnsupportedCombination":
        assert walk.wizard.is_complete is False
        return
    assert walk.wizard.current_step is None
    assert walk.wizard.is_complete
    devices = await client.devices(ACCOUNT, PROPERTY)
    assert devices
    assert devices[-1].status.current is DeviceLifecycleStatus.LIVE


async def test_go_back_to_an_earlier_list_step(client: KrakenClient, driver: Driver) -> None:
    journey = Journey(JOURNEYS["tesla_single_car"][0].choices, stop_at="SelectChargePointMake")
    walk = await driver.walk(await client.start_onboarding(ACCOUNT, PROPERTY), journey)
    make_step = next(s for s in walk.wizard.completed_steps if isinstance(s, SelectVehicleMakeStep))
    again = await client.select_from_list(walk.wizard.id, make_step.id, pick(make_step, "Nissan"))
    variants = again.current_step
    assert isinstance(variants, SelectVehicleVariantStep)
    assert {o.make for o in variants.options} == {"Nissan"}


async def test_cancel_and_resume(client: KrakenClient, driver: Driver) -> None:
    journey = Journey(JOURNEYS["heat_pump"][0].choices, stop_at="AuthFlow")
    first = await driver.walk(await client.start_onboarding(ACCOUNT, PROPERTY), journey)
    resumable = await client.wizards(ACCOUNT, property_id=PROPERTY, is_resumable=True)
    assert [w.id for w in resumable] == [first.wizard.id]
    assert isinstance(resumable[0].current_step, AuthFlowStep)
    cancelled = await client.cancel(first.wizard.id)
    assert await client.wizards(ACCOUNT, property_id=PROPERTY, is_resumable=True) == []
    step = first.wizard.current_step
    assert step is not None
    with pytest.raises(KrakenError) as caught:
        await client.complete_auth_flow(cancelled.id, step.id, "https://x/?code=1&state=2")
    assert caught.value.code in {"KT-CT-4391", "KT-CT-4371"}


async def test_stale_step_and_unknown_wizard(client: KrakenClient) -> None:
    wizard = await client.start_onboarding(ACCOUNT, PROPERTY)
    step = wizard.current_step
    assert step is not None
    moved = await client.select_from_list(wizard.id, step.id, "ELECTRIC_VEHICLES")
    with pytest.raises(KrakenError) as stale:
        await client.select_from_list(moved.id, step.id + "-old", "ELECTRIC_VEHICLES")
    assert stale.value.category is ErrorCategory.STEP_MOVED_ON
    with pytest.raises(KrakenError) as missing:
        await client.wizard(ACCOUNT, "1")
    assert missing.value.code == "KT-CT-4371"


async def test_wrong_user_input_is_reported_on_the_step(
    client: KrakenClient, driver: Driver
) -> None:
    journey = Journey(JOURNEYS["ocpp_charger"][0].choices, stop_at="UserInputRequired")
    walk = await driver.walk(await client.start_onboarding(ACCOUNT, PROPERTY), journey)
    step = walk.wizard.current_step
    assert isinstance(step, UserInputRequiredStep)
    again = await client.complete_user_input(walk.wizard.id, step.id, {"serialNumber": "bad!"})
    assert isinstance(again.current_step, UserInputRequiredStep)
    assert again.current_step.error_message
    with pytest.raises(KrakenError) as caught:
        await client.complete_user_input(again.id, again.current_step.id, {})
    assert caught.value.category in {ErrorCategory.USER_CAN_FIX, ErrorCategory.STEP_MOVED_ON}
    assert caught.value.validation_errors


async def test_oauth_denied_shows_the_error_on_a_new_auth_step(
    client: KrakenClient, driver: Driver
) -> None:
    journey = Journey(JOURNEYS["heat_pump"][0].choices, stop_at="AuthFlow")
    walk = await driver.walk(await client.start_onboarding(ACCOUNT, PROPERTY), journey)
    step = walk.wizard.current_step
    assert isinstance(step, AuthFlowStep)
    denied = await driver.consent(step, allow=False)
    again = await client.complete_auth_flow(walk.wizard.id, step.id, denied)
    assert isinstance(again.current_step, AuthFlowStep)
    assert again.current_step.error_message


async def test_eligible_types_virtual_key_and_device_controls(
    client: KrakenClient, driver: Driver
) -> None:
    assert DeviceType.ELECTRIC_VEHICLES in await client.eligible_device_types(ACCOUNT, PROPERTY)
    key = await client.provider_virtual_key_details("TESLA", DeviceType.ELECTRIC_VEHICLES)
    assert key.virtual_key_uri.startswith("http")
    journey, _ = JOURNEYS["tesla_single_car"]
    await driver.walk(await client.start_onboarding(ACCOUNT, PROPERTY), journey)
    (device,) = await client.devices(ACCOUNT, PROPERTY)
    suspended = await client.set_smart_control(device.id, suspend=True)
    assert suspended.status.is_suspended is True
    resumed = await client.set_smart_control(device.id, suspend=False)
    assert resumed.status.is_suspended is False
    reauth = await client.start_reauthentication(ACCOUNT, device.id, PROPERTY)
    assert isinstance(reauth.current_step, AuthFlowStep)


async def test_bad_api_key_and_password_login(transport: httpx.ASGITransport) -> None:
    async with sandbox_client(transport, credentials=ApiKeyCredentials(api_key="wrong-key")) as c:
        with pytest.raises(KrakenAuthError):
            await c.devices(ACCOUNT)
    login = PasswordCredentials(email="customer@example.com", password="sandbox-password")
    async with sandbox_client(transport, credentials=login) as c:
        assert await c.wizards(ACCOUNT) == []


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts token requests on their way to the sandbox."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.token_requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("operationName") == "ObtainKrakenToken":
            self.token_requests += 1
        return await self.inner.handle_async_request(request)


async def test_token_expiry_under_concurrency_renews_once(
    transport: httpx.ASGITransport, driver: Driver
) -> None:
    counting = CountingTransport(transport)
    async with sandbox_client(counting) as client:
        await client.devices(ACCOUNT)
        (await driver.hooks.post("/sandbox/tokens/expire")).raise_for_status()
        results = await asyncio.gather(*(client.devices(ACCOUNT) for _ in range(50)))
    assert all(r == [] for r in results)
    # The first token, then ONE renewal: expiring everything also revokes the refresh token,
    # so that renewal is a refused refresh followed by the API key (3 requests, not 51+).
    assert counting.token_requests == 3


@pytest.mark.parametrize(
    "fault",
    [
        {"operation": "selectFromListForSmartFlexOnboarding", "code": "KT-CT-4376", "times": 2},
        {"operation": "selectFromListForSmartFlexOnboarding", "code": "KT-CT-4372", "times": 1},
        {"operation": "SelectFromList", "http_status": 502, "times": 2},
        {"operation": "smartFlexOnboardingWizards", "http_status": 503, "times": 2},
    ],
)
async def test_injected_faults_are_retried(
    fault: dict[str, object], client: KrakenClient, driver: Driver
) -> None:
    wizard = await client.start_onboarding(ACCOUNT, PROPERTY)
    step = wizard.current_step
    assert step is not None
    (await driver.hooks.post("/sandbox/faults", json=fault)).raise_for_status()
    if fault["operation"] == "smartFlexOnboardingWizards":
        (found,) = await client.wizards(ACCOUNT, property_id=PROPERTY)
        assert found.id == wizard.id
    else:
        moved = await client.select_from_list(wizard.id, step.id, "ELECTRIC_VEHICLES")
        assert isinstance(moved.current_step, SelectVehicleMakeStep)
