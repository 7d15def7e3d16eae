"""Every step type the sandbox flavours produce, rendered and completed in a real journey:
the conversation engine with the real client against the in-process sandbox (eu or uk)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from dialogs.machine import State
from harness.conversation import DialogTester
from kraken.client import KrakenClient
from kraken.credentials import ApiKeyCredentials
from sandbox.kraken import SandboxClock, SandboxConfig, create_app

from .conftest import PROPERTY, SANDBOX_URL, Sandbox, _no_wait
from .test_scenarios import choose, sign_in, wait_until_done


async def user_on(flavour: str) -> AsyncIterator[tuple[DialogTester, Sandbox]]:
    app: Any = create_app(
        SandboxConfig(public_url=SANDBOX_URL, commit_seconds=0, flavour=flavour), SandboxClock()
    )
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url=SANDBOX_URL) as http,
        KrakenClient(
            f"{SANDBOX_URL}/v1/graphql/",
            ApiKeyCredentials(api_key="sandbox-api-key"),
            transport=httpx.ASGITransport(app=app),
            sleep=_no_wait,
        ) as kraken,
    ):
        sandbox = Sandbox(http)
        yield DialogTester(kraken, advance_clock=sandbox.advance), sandbox


@pytest.fixture
async def uk() -> AsyncIterator[tuple[DialogTester, Sandbox]]:
    async for pair in user_on("uk"):
        yield pair


@pytest.fixture
async def eu() -> AsyncIterator[tuple[DialogTester, Sandbox]]:
    async for pair in user_on("eu"):
        yield pair


async def grant_scopes(user: DialogTester, sandbox: Sandbox) -> None:
    """TeslaModifyScopes: the consent page for the missing scopes, then the landing URL."""
    landed = await sandbox.consent(user.url("Update permissions"))
    await user.tap("I've signed in")
    await user.type(landed)


async def tesla_to_key(user: DialogTester, sandbox: Sandbox, account: str) -> None:
    await user.begin(account, PROPERTY)
    await choose(user, "Electric car or charger", "Tesla", "Model 3", "No smart charger")
    await sign_in(user, sandbox)


async def finish_tesla(user: DialogTester) -> None:
    assert user.state == State.ADDING_VIRTUAL_KEY
    await user.tap("I've added the key")
    await user.tap("start the test")
    await wait_until_done(user)
    assert user.state == State.LIVE and "is connected" in user.last_screen.text


async def test_uk_heat_pump_variant(uk: tuple[DialogTester, Sandbox]) -> None:
    user, sandbox = uk
    await user.begin("A-SANDBOX1", PROPERTY)
    await choose(user, "Heat pump", "Daikin")
    assert user.state == State.CHOOSING  # SelectHeatPumpVariant: the make's models
    await user.tap(user.labels()[0])
    await sign_in(user, sandbox)
    await wait_until_done(user)
    assert user.state == State.LIVE


@pytest.mark.parametrize("make", ["GivEnergy", "Enphase"])
async def test_battery_or_inverter_with_a_session_device(
    eu: tuple[DialogTester, Sandbox], make: str
) -> None:
    """SelectInverterMake, then SelectSessionDevice when the maker's account has several."""
    user, sandbox = eu
    await user.begin("A-SANDBOX1", PROPERTY)
    kind = "battery" if make == "GivEnergy" else "inverter"
    await choose(user, kind, make)
    await sign_in(user, sandbox)
    if user.state == State.CHOOSING:  # SelectSessionDevice
        await user.tap(user.labels()[0])
    await wait_until_done(user)
    assert user.state == State.LIVE and "is connected" in user.last_screen.text


async def test_tesla_modify_scopes_is_signed_in_like_an_auth_flow(
    eu: tuple[DialogTester, Sandbox],
) -> None:
    user, sandbox = eu
    await tesla_to_key(user, sandbox, "A-TESLA-SCOPES")
    assert user.state == State.SIGNING_IN  # TeslaModifyScopes
    await grant_scopes(user, sandbox)
    await finish_tesla(user)


async def test_a_failed_tesla_registration_can_grant_the_missing_permission(
    eu: tuple[DialogTester, Sandbox],
) -> None:
    user, sandbox = eu
    await tesla_to_key(user, sandbox, "A-TESLA-FAILED")
    assert user.state == State.TESLA_FAILED
    await user.tap("Grant the missing permission")
    assert user.state == State.SIGNING_IN  # TeslaModifyScopes
    await grant_scopes(user, sandbox)
    assert user.state == State.ADDING_VIRTUAL_KEY


async def test_a_failed_tesla_registration_can_sign_in_again(
    eu: tuple[DialogTester, Sandbox],
) -> None:
    user, sandbox = eu
    await tesla_to_key(user, sandbox, "A-TESLA-FAILED")
    await user.tap("Sign in to Tesla again")
    assert user.state == State.SIGNING_IN  # a new AuthFlow
    assert any("Sign in" in label for label in user.labels())


async def test_a_missing_virtual_key_fails_the_test_charge_and_asks_for_the_key_again(
    eu: tuple[DialogTester, Sandbox],
) -> None:
    user, sandbox = eu
    await tesla_to_key(user, sandbox, "A-TESLA-NOKEY")
    await user.tap("I've added the key")
    await user.tap("start the test")
    await wait_until_done(user)
    assert user.state == State.ADDING_VIRTUAL_KEY  # back to the key, as the seeds warn
    await finish_tesla(user)


async def test_uk_retry_after_a_failed_registration(uk: tuple[DialogTester, Sandbox]) -> None:
    user, sandbox = uk
    await user.begin("A-REG-RETRY", PROPERTY)
    await choose(user, "Electric car or charger", "Volkswagen", "e-Golf", "No smart charger")
    await sign_in(user, sandbox)
    await wait_until_done(user)
    assert user.state == State.RETRY_OFFERED
    await user.tap("Try again")
    await wait_until_done(user)
    assert user.state == State.TEST_CHARGE


async def test_uk_terminal_error_gives_the_reference(uk: tuple[DialogTester, Sandbox]) -> None:
    user, sandbox = uk
    await user.begin("A-DEVICE-TAKEN", PROPERTY)
    await choose(user, "Electric car or charger", "Volkswagen", "e-Golf", "No smart charger")
    await sign_in(user, sandbox)
    await wait_until_done(user)
    assert user.state == State.TERMINAL
    assert "KT-CT-4324" in user.last_screen.text and "SF-" in user.last_screen.text
