"""Going back, stale ids, cancel, resume filters, re-authentication and the wizard's errors."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import httpx
import pytest

from sandbox.kraken import SandboxConfig, create_app

from .gql import Driver, KrakenError, label, make, variant

EV = label("Electric vehicle or charger")
TESLA_TO_KEY = {
    "SelectDeviceType": EV,
    "SelectVehicleMake": make("Tesla"),
    "SelectVehicleVariant": variant("Model 3"),
    "SelectChargePointMake": make("No smart charger / not listed"),
}


def option(step: dict[str, Any], chooser: Any) -> str:
    return str(next(o["id"] for o in step["options"] if chooser(o)))


async def expect(code: str, call: Any) -> KrakenError:
    with pytest.raises(KrakenError) as caught:
        await call
    assert caught.value.code == code, caught.value.errors
    return caught.value


async def test_going_back_reminted_later_steps_and_stale_ids_are_rejected(kraken: Driver) -> None:
    wizard = await kraken.start()
    wizard = await kraken.select(wizard, EV)
    make_step = wizard["currentStep"]
    wizard = await kraken.select(wizard, make("Tesla"))
    old_variant_step = wizard["currentStep"]
    # Go back: answer the completed make step again with another make.
    wizard = await kraken.mutate(
        "select",
        wizardId=wizard["id"],
        stepId=make_step["id"],
        selectedOption=option(make_step, make("Kia")),
    )
    new_variant_step = wizard["currentStep"]
    assert new_variant_step["__typename"] == "SelectVehicleVariant"
    assert new_variant_step["id"] != old_variant_step["id"]
    assert {o["vehicleVariant"]["make"] for o in new_variant_step["options"]} == {"Kia"}
    assert wizard["completedSteps"][-1]["selectedOptionId"] == option(make_step, make("Kia"))
    await expect(
        "KT-CT-4377",
        kraken.mutate(
            "select",
            wizardId=wizard["id"],
            stepId=old_variant_step["id"],
            selectedOption=old_variant_step["options"][0]["id"],
        ),
    )


async def test_wrong_mutation_unknown_option_and_unknown_wizard(kraken: Driver) -> None:
    wizard = await kraken.start()
    ids = {"wizardId": wizard["id"], "stepId": wizard["currentStep"]["id"]}
    await expect("KT-CT-4378", kraken.mutate("virtual_key", **ids))
    error = await expect("KT-CT-4375", kraken.mutate("select", selectedOption="nope", **ids))
    assert error.extensions["validationErrors"][0]["inputPath"] == ["input", "selectedOption"]
    await expect("KT-CT-4371", kraken.read("1"))
    await expect(
        "KT-CT-4371", kraken.mutate("select", wizardId="1", stepId="x", selectedOption="y")
    )


async def test_registered_device_blocks_going_back(kraken: Driver) -> None:
    wizard, _ = await kraken.follow(await kraken.start(), TESLA_TO_KEY, stop_at="TestCharge")
    assert wizard["isRewindable"] is False
    make_step = wizard["completedSteps"][1]
    await expect(
        "KT-CT-4378",
        kraken.mutate(
            "select",
            wizardId=wizard["id"],
            stepId=make_step["id"],
            selectedOption=option(make_step, make("Kia")),
        ),
    )


@pytest.mark.parametrize(("flavour", "code"), [("eu", "KT-CT-4371"), ("uk", "KT-CT-4391")])
async def test_cancel_keeps_device_and_rejects_later_steps(kraken: Driver, code: str) -> None:
    """KT-CT-4391 ("This onboarding wizard has been cancelled.") is UK-only."""
    wizard, _ = await kraken.follow(await kraken.start(), TESLA_TO_KEY, stop_at="TestCharge")
    step_id = wizard["currentStep"]["id"]
    cancelled = await kraken.mutate("cancel", wizardId=wizard["id"])
    assert cancelled["resumable"]["isResumable"] is False
    await expect(code, kraken.mutate("test_charge", wizardId=wizard["id"], stepId=step_id))
    (device,) = await kraken.devices()
    assert device["status"]["current"] == "ONBOARDING"


async def _wizard_ids(kraken: Driver, **filters: Any) -> list[str]:
    args = ", ".join(f"{k}: {str(v).lower()}" for k, v in filters.items())
    data = await kraken.gql(
        f'{{ smartFlexOnboardingWizards(accountNumber: "A-SANDBOX1"{", " if args else ""}{args}) '
        "{ id } }"
    )
    return [w["id"] for w in data["smartFlexOnboardingWizards"]]


async def test_resume_filters(kraken: Driver) -> None:
    cancelled = await kraken.start()
    await kraken.mutate("cancel", wizardId=cancelled["id"])
    done, _ = await kraken.follow(await kraken.start(), {**TESLA_TO_KEY})
    older = await kraken.start()
    newest = await kraken.start()
    assert set(await _wizard_ids(kraken)) == {older["id"], newest["id"]}
    assert await _wizard_ids(kraken, isResumable=True) == [newest["id"]]
    assert cancelled["id"] in await _wizard_ids(kraken, includeCancelled=True)
    assert done["id"] in await _wizard_ids(kraken, includeCompleted=True)
    data = await kraken.gql(
        'query($w: ID) { smartFlexOnboardingWizards(accountNumber: "A-SANDBOX1", wizardId: $w, '
        "includeCompleted: true) { id isComplete } }",
        {"w": done["id"]},
    )
    assert data["smartFlexOnboardingWizards"] == [{"id": done["id"], "isComplete": True}]


async def test_reauthentication_wizard_and_unsupported_providers(kraken: Driver) -> None:
    await kraken.follow(await kraken.start(), TESLA_TO_KEY)
    (tesla,) = await kraken.devices()
    wizard = await kraken.mutate(
        "reauth", accountNumber="A-SANDBOX1", deviceId=tesla["id"], propertyId=1
    )
    assert wizard["currentStep"]["__typename"] == "AuthFlow"
    wizard, seen = await kraken.follow(wizard, {})
    assert seen == ["AuthFlow", "WaitForTransition"] and wizard["isComplete"]
    await expect(
        "KT-CT-4301",
        kraken.mutate("reauth", accountNumber="A-SANDBOX1", deviceId="missing", propertyId=1),
    )
    await kraken.follow(
        await kraken.start(),
        {
            "SelectDeviceType": EV,
            "SelectVehicleMake": make("Renault"),
            "SelectVehicleVariant": variant("Megane E-Tech"),
            "SelectChargePointMake": make("No smart charger / not listed"),
        },
    )
    jedlix = next(d for d in await kraken.devices() if d["provider"] == "JEDLIX")
    await expect(
        "KT-CT-4385",
        kraken.mutate("reauth", accountNumber="A-SANDBOX1", deviceId=jedlix["id"], propertyId=1),
    )


async def test_auth_flow_denied_stays_with_error_and_foreign_state_is_rejected(
    kraken: Driver,
) -> None:
    wizard, _ = await kraken.follow(await kraken.start(), TESLA_TO_KEY, stop_at="AuthFlow")
    step = wizard["currentStep"]
    denied = await kraken.consent(step, "deny")
    assert "error=access_denied" in denied and denied.startswith(step["redirectUri"])
    wizard = await kraken.mutate(
        "auth", wizardId=wizard["id"], stepId=step["id"], continuationUri=denied
    )
    retry = wizard["currentStep"]
    assert retry["__typename"] == "AuthFlow" and retry["id"] != step["id"]
    assert "did not grant access" in retry["error"]["message"]
    foreign = f"{retry['redirectUri']}?code=abc&state=someone-else"
    error = await expect(
        "KT-CT-4375",
        kraken.mutate("auth", wizardId=wizard["id"], stepId=retry["id"], continuationUri=foreign),
    )
    assert error.extensions["validationErrors"][0]["inputPath"] == ["input", "continuationUri"]


async def test_user_input_validation(kraken: Driver) -> None:
    wizard, _ = await kraken.follow(
        await kraken.start(),
        {
            "SelectDeviceType": EV,
            "SelectVehicleMake": make("Fiat"),
            "SelectVehicleVariant": variant("500e"),
            "SelectChargePointMake": make("Easee"),
            "SelectChargePointVariant": variant("One"),
        },
        stop_at="UserInputRequired",
    )
    step = wizard["currentStep"]
    assert step["userInputs"][0]["regex"] == "[A-Z0-9]{8,20}"
    ids = {"wizardId": wizard["id"], "stepId": step["id"]}
    error = await expect("KT-CT-4378", kraken.mutate("user_input", userInputs="{}", **ids))
    assert error.extensions["validationErrors"][0]["inputPath"] == [
        "input",
        "userInputs",
        "serialNumber",
    ]
    await expect("KT-CT-4378", kraken.mutate("user_input", userInputs="not json", **ids))
    wizard = await kraken.mutate("user_input", userInputs='{"serialNumber": "ab-1"}', **ids)
    retry = wizard["currentStep"]
    assert retry["__typename"] == "UserInputRequired" and retry["id"] != step["id"]
    assert "ab-1" in retry["error"]["message"]


async def test_concurrent_mutations_on_one_wizard_conflict(config: SandboxConfig) -> None:
    """The engine holds the wizard's lock while it 'commits'; the racing request loses."""
    app = create_app(replace(config, commit_seconds=0.2))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=config.public_url) as http:
        kraken = Driver(http)
        await kraken.login()
        wizard = await kraken.start()
        results = await asyncio.gather(*_racing_selects(kraken, wizard))
    codes = sorted(
        r["errors"][0]["extensions"]["errorCode"] if r.get("errors") else "OK" for r in results
    )
    assert codes == ["KT-CT-4372", "OK"]


def _racing_selects(kraken: Driver, wizard: dict[str, Any]) -> list[Any]:
    step = wizard["currentStep"]
    calls = [
        kraken.raw(
            "mutation($i: SelectFromListInput!) { selectFromListForSmartFlexOnboarding(input: $i)"
            " { wizard { id } } }",
            {"i": {"wizardId": wizard["id"], "stepId": step["id"], "selectedOption": choice}},
        )
        for choice in ("ELECTRIC_VEHICLES", "HEAT_PUMPS")
    ]
    return calls
