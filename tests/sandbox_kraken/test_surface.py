"""Catalog, devices, consent pages and the /sandbox/* hooks."""

from __future__ import annotations

import httpx

from .gql import Driver, label, make, variant


async def test_catalog_is_realistic_in_size(kraken: Driver) -> None:
    data = await kraken.gql(
        "{ electricVehicles { make models { model vehicleId isIntegrationLive batterySize "
        "availableFrom supportedProviders integrationStatus } } "
        "chargePointVariants { make models { model isIntegrationLive supportedProviders } } }"
    )
    evs = data["electricVehicles"]
    variants = [m for e in evs for m in e["models"]]
    assert len(evs) >= 30 and len(variants) >= 200
    assert any(not m["isIntegrationLive"] for m in variants)
    providers = {p for m in variants for p in m["supportedProviders"]}
    assert {"TESLA", "ENODE", "SMARTCAR", "JEDLIX", "FORD", "MERCEDES", "BYD"} <= providers
    charge_points = data["chargePointVariants"]
    assert len(charge_points) >= 15
    cp_providers = {p for e in charge_points for m in e["models"] for p in m["supportedProviders"]}
    assert {"OCPP", "OCPP_WALLBOX", "MYENERGI", "OHME", "HYPERVOLT"} <= cp_providers
    filtered = await kraken.gql(
        '{ electricVehicles(make: "Tesla", isIntegrationLive: true) { make models { model } } }'
    )
    assert [e["make"] for e in filtered["electricVehicles"]] == ["Tesla"]


async def test_heat_pump_makes_and_eligible_types(kraken: Driver) -> None:
    data = await kraken.gql('{ eligibleDeviceTypes(accountNumber: "A-SANDBOX1") }')
    assert data["eligibleDeviceTypes"] == [
        "ELECTRIC_VEHICLES",
        "HEAT_PUMPS",
        "BATTERIES",
        "INVERTERS",
    ]
    wizard = await kraken.select(await kraken.start(), label("Heat pump"))
    assert len(wizard["currentStep"]["options"]) >= 8


async def test_consent_page_and_landing(kraken: Driver) -> None:
    wizard = await kraken.start()
    for chooser in (
        label("Electric vehicle or charger"),
        make("Volkswagen"),
        variant("ID.3"),
        make("No smart charger / not listed"),
    ):
        wizard = await kraken.select(wizard, chooser)
    step = wizard["currentStep"]
    assert step["authorizationUri"].startswith("http://kraken.sandbox.test/oauth/volkswagen/")
    page = await kraken.http.get(step["authorizationUri"])
    assert "Volkswagen" in page.text and "Deny" in page.text
    allowed = await kraken.consent(step, "allow")
    assert allowed.startswith("http://kraken.sandbox.test/oauth/landing?code=")
    landing = await kraken.http.get(allowed)
    assert "code=" in landing.text and "state=" in landing.text


async def test_device_controls(kraken: Driver) -> None:
    wizard = await kraken.start()
    await kraken.follow(
        wizard,
        {
            "SelectDeviceType": label("Electric vehicle or charger"),
            "SelectVehicleMake": make("Tesla"),
            "SelectVehicleVariant": variant("Model 3"),
            "SelectChargePointMake": make("No smart charger / not listed"),
        },
    )
    (device,) = await kraken.devices()
    boost = await kraken.gql(
        "mutation($d: String!) { updateBoostCharge(input: {deviceId: $d, action: BOOST}) "
        "{ status { currentState } } }",
        {"d": device["id"]},
    )
    assert boost["updateBoostCharge"]["status"]["currentState"] == "BOOSTING"
    suspend = await kraken.gql(
        "mutation($d: ID!) { updateDeviceSmartControl(input: {deviceId: $d, action: SUSPEND}) "
        "{ status { isSuspended currentState } } }",
        {"d": device["id"]},
    )
    assert suspend["updateDeviceSmartControl"]["status"]["isSuspended"] is True
    missing = await kraken.raw(
        'mutation { updateDeviceSmartControl(input: {deviceId: "nope", action: SUSPEND}) { id } }'
    )
    assert missing["errors"][0]["extensions"]["errorCode"] == "KT-CT-4313"
    key = await kraken.gql(
        "{ providerVirtualKeyDetails(provider: TESLA, deviceType: ELECTRIC_VEHICLES) "
        "{ virtualKeyName virtualKeyUri } }"
    )
    assert key["providerVirtualKeyDetails"]["virtualKeyUri"].startswith(
        "https://www.tesla.com/_ak/"
    )


async def test_fault_injection_code_502_and_count(kraken: Driver) -> None:
    hooks = kraken.http
    await hooks.post(
        "/sandbox/faults",
        json={"operation": "startSmartFlexOnboarding", "times": 1, "code": "KT-CT-4376"},
    )
    body = await kraken.raw(
        'mutation { startSmartFlexOnboarding(input: {accountNumber: "A-SANDBOX1", propertyId: 1})'
        " { wizard { id } } }"
    )
    assert body["errors"][0]["extensions"]["errorCode"] == "KT-CT-4376"
    assert body["errors"][0]["path"] == ["startSmartFlexOnboarding"]
    assert (await kraken.start())["id"]  # the fault was used up
    await hooks.post("/sandbox/faults", json={"operation": "Wizard", "http_status": 502})
    response = await hooks.post(
        "/v1/graphql/",
        json={"query": "query Wizard { viewer { accounts { number } } }"},
        headers={"Authorization": str(kraken.token)},
    )
    assert response.status_code == 502 and "<html" in response.text


async def test_latency_fault_still_answers(kraken: Driver) -> None:
    await kraken.http.post("/sandbox/faults", json={"operation": "viewer", "latencyMs": 5})
    body = await kraken.raw("{ viewer { accounts { number } } }")
    assert body["data"]["viewer"]["accounts"]


async def test_reset_health_and_bad_hook_input(kraken: Driver, http: httpx.AsyncClient) -> None:
    await kraken.start()
    assert (await http.get("/sandbox/health")).json()["status"] == "ok"
    assert (await http.post("/sandbox/reset")).status_code == 200
    await kraken.login()
    data = await kraken.gql('{ smartFlexOnboardingWizards(accountNumber: "A-SANDBOX1") { id } }')
    assert data["smartFlexOnboardingWizards"] == []
    assert (await http.post("/sandbox/clock", json={"advanceSeconds": -1})).status_code == 400
    assert (await http.post("/sandbox/faults", json={"operation": "x"})).status_code == 400
    bad = await http.post(
        "/sandbox/scenario", json={"accountNumber": "A-SANDBOX1", "testChargeOutcomes": ["MEH"]}
    )
    assert bad.status_code == 400


async def test_graphql_validation_rejects_unknown_fields(kraken: Driver) -> None:
    body = await kraken.raw("{ viewer { nope } }")
    assert body["errors"][0]["extensions"]["errorType"] == "VALIDATION"
    assert "nope" in body["errors"][0]["message"]
