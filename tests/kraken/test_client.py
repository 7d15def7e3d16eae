from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest

from kraken.client import KrakenClient
from kraken.credentials import ApiKeyCredentials, PasswordCredentials
from kraken.errors import (
    ErrorCategory,
    KrakenAuthError,
    KrakenError,
    KrakenResponseError,
    KrakenTransportError,
)
from kraken.models import AuthFlowStep, DeviceType, SelectVehicleMakeStep, UserInputRequiredStep
from kraken.retry import RetryPolicy
from tests.kraken.fakes import (
    API_KEY,
    TOKEN_LIFETIME,
    URL,
    FakeClock,
    FakeKraken,
    data,
    error,
    make_client,
    step,
    wizard,
)

ACCOUNT = "A-1234ABCD"
WIZARD_ID = "91834212"


def wizards_reply(*items: dict[str, Any]) -> dict[str, Any]:
    return data(smartFlexOnboardingWizards=list(items))


def html_502() -> httpx.Response:
    return httpx.Response(502, text="<html><body>Bad gateway</body></html>")


def read_timeout() -> httpx.ReadTimeout:
    return httpx.ReadTimeout("timed out")


def payload(field: str, current: dict[str, Any] | None) -> dict[str, Any]:
    return data(**{field: {"wizard": wizard(WIZARD_ID, current)}})


# ---------------------------------------------------------------- tokens


async def test_token_is_obtained_once_with_the_api_key_and_sent_raw(kraken: FakeKraken) -> None:
    kraken.handlers["EligibleDeviceTypes"] = lambda _: data(
        eligibleDeviceTypes=["ELECTRIC_VEHICLES", "TIME_MACHINES", None]
    )
    async with make_client(kraken) as client:
        first = await client.eligible_device_types(ACCOUNT, 1)
        await client.eligible_device_types(ACCOUNT, 1)
    assert first == [DeviceType.ELECTRIC_VEHICLES]
    assert kraken.token_inputs == [{"APIKey": API_KEY}]
    assert [c.authorization for c in kraken.calls_to("EligibleDeviceTypes")] == [
        "jwt-token-0001",
        "jwt-token-0001",
    ]


async def test_token_is_renewed_before_expiry_with_the_refresh_token(
    kraken: FakeKraken, clock: FakeClock
) -> None:
    kraken.handlers["EligibleDeviceTypes"] = lambda _: data(eligibleDeviceTypes=[])
    async with make_client(kraken) as client:
        await client.eligible_device_types(ACCOUNT)
        clock.now += TOKEN_LIFETIME - 4 * 60  # inside the 5-minute margin
        await client.eligible_device_types(ACCOUNT)
        clock.now += 8 * 24 * 3600  # refresh token (7 days) has expired too
        await client.eligible_device_types(ACCOUNT)
    assert kraken.token_inputs == [
        {"APIKey": API_KEY},
        {"refreshToken": "refresh-token-0001"},
        {"APIKey": API_KEY},
    ]
    assert kraken.calls_to("EligibleDeviceTypes")[-1].authorization == "jwt-token-0003"


async def test_refused_refresh_token_falls_back_to_the_api_key(
    kraken: FakeKraken, clock: FakeClock
) -> None:
    kraken.handlers["EligibleDeviceTypes"] = lambda _: data(eligibleDeviceTypes=[])
    async with make_client(kraken) as client:
        await client.eligible_device_types(ACCOUNT)
        clock.now += TOKEN_LIFETIME
        kraken.replies["ObtainKrakenToken"] = [error("KT-CT-1135", "Invalid data.")]
        await client.eligible_device_types(ACCOUNT)
    assert [list(i) for i in kraken.token_inputs] == [["APIKey"], ["APIKey"]]
    assert len(kraken.calls_to("ObtainKrakenToken")) == 3


async def test_expired_token_error_renews_once_and_retries_the_call(kraken: FakeKraken) -> None:
    def devices(_: dict[str, Any]) -> dict[str, Any]:
        if kraken.calls[-1].authorization == "jwt-token-0001":
            return error("KT-CT-1124", "Signature of the JWT has expired.")
        return data(devices=[])

    kraken.handlers["Devices"] = devices
    async with make_client(kraken) as client:
        assert await client.devices(ACCOUNT) == []
    assert kraken.issued == 2
    assert len(kraken.calls_to("Devices")) == 2


async def test_expired_token_error_that_persists_is_reported_not_looped(
    kraken: FakeKraken,
) -> None:
    kraken.handlers["Devices"] = lambda _: error("KT-CT-1124", "Signature of the JWT has expired.")
    async with make_client(kraken) as client:
        with pytest.raises(KrakenError) as caught:
            await client.devices(ACCOUNT)
    assert caught.value.category is ErrorCategory.REAUTHENTICATE
    assert len(kraken.calls_to("Devices")) == 2
    assert kraken.issued == 2


async def test_hundred_concurrent_calls_at_expiry_cause_one_token_request(
    kraken: FakeKraken, clock: FakeClock
) -> None:
    kraken.handlers["EligibleDeviceTypes"] = lambda _: data(eligibleDeviceTypes=["HEAT_PUMPS"])
    async with make_client(kraken) as client:
        await client.eligible_device_types(ACCOUNT)
        clock.now += TOKEN_LIFETIME
        results = await asyncio.gather(*(client.eligible_device_types(ACCOUNT) for _ in range(100)))
    assert all(r == [DeviceType.HEAT_PUMPS] for r in results)
    assert kraken.issued == 2
    assert {c.authorization for c in kraken.calls_to("EligibleDeviceTypes")[1:]} == {
        "jwt-token-0002"
    }


async def test_hundred_concurrent_expired_token_errors_cause_one_token_request(
    kraken: FakeKraken,
) -> None:
    arrived = 0
    all_in = asyncio.Event()

    async def devices(_: dict[str, Any]) -> dict[str, Any]:
        nonlocal arrived
        if kraken.calls[-1].authorization != "jwt-token-0001":
            return data(devices=[])
        arrived += 1
        if arrived == 100:
            all_in.set()
        await asyncio.wait_for(all_in.wait(), timeout=5)
        return error("KT-CT-1124", "Signature of the JWT has expired.")

    kraken.handlers["Devices"] = devices
    async with make_client(kraken) as client:
        await client._tokens.token()  # everyone starts with the same soon-rejected token
        await asyncio.gather(*(client.devices(ACCOUNT) for _ in range(100)))
    assert kraken.issued == 2


async def test_bad_api_key_is_an_auth_error(kraken: FakeKraken) -> None:
    # Every request for a token is refused (detection asks for one too, before the call).
    kraken.replies["ObtainKrakenToken"] = [error("KT-CT-1139", "Invalid data.")] * 5
    async with make_client(kraken) as client:
        with pytest.raises(KrakenAuthError) as caught:
            await client.devices(ACCOUNT)
    assert caught.value.code == "KT-CT-1139"
    assert caught.value.category is ErrorCategory.FATAL
    assert kraken.calls_to("Devices") == []


async def test_password_credentials_use_email_and_password(kraken: FakeKraken) -> None:
    kraken.handlers["Devices"] = lambda _: data(devices=[])
    credentials = PasswordCredentials(email="a@example.com", password="hunter22")
    transport = kraken.transport()
    async with KrakenClient(URL, credentials, transport=transport, clock=kraken.clock) as client:
        await client.devices(ACCOUNT)
    assert kraken.token_inputs == [{"email": "a@example.com", "password": "hunter22"}]


# ---------------------------------------------------------------- odd responses and retries


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ({"data": None}, KrakenResponseError),
        ({"data": {"devices": "many"}}, KrakenResponseError),
        ({"data": {"devices": [{"id": "d"}]}}, KrakenResponseError),
        ({"errors": [{"message": "no extensions"}]}, KrakenError),
        ({"errors": ["not an object"]}, KrakenResponseError),
        (httpx.Response(200, json=[1, 2]), KrakenResponseError),
        (httpx.Response(400, json={"detail": "bad"}), KrakenResponseError),
    ],
)
async def test_odd_responses_become_typed_errors_without_retry(
    kraken: FakeKraken, reply: Any, expected: type[KrakenError]
) -> None:
    kraken.handlers["Devices"] = lambda _: reply
    async with make_client(kraken) as client:
        with pytest.raises(expected) as caught:
            await client.devices(ACCOUNT)
    assert caught.value.category is ErrorCategory.FATAL
    assert len(kraken.calls_to("Devices")) == 1


@pytest.mark.parametrize(
    "failure",
    [
        html_502,
        lambda: httpx.Response(200, text="<html>maintenance</html>"),
        lambda: httpx.ConnectError("refused"),
        read_timeout,
        lambda: error("KT-CT-4372", "Simultaneous attempts to update onboarding process."),
        lambda: error("KT-CT-1199", "Too many requests."),
    ],
)
async def test_transient_failures_of_a_query_are_retried(
    kraken: FakeKraken, clock: FakeClock, failure: Any
) -> None:
    kraken.replies["Devices"] = [failure(), failure()]
    kraken.handlers["Devices"] = lambda _: data(devices=[])
    async with make_client(kraken) as client:
        assert await client.devices(ACCOUNT) == []
    assert len(kraken.calls_to("Devices")) == 3
    assert len(clock.sleeps) == 2


async def test_retries_stop_after_max_attempts_with_capped_backoff(
    kraken: FakeKraken, clock: FakeClock
) -> None:
    kraken.handlers["Devices"] = lambda _: html_502()
    policy = RetryPolicy(max_attempts=6, base_delay=1.0, max_delay=3.0, max_total=1000.0)
    async with make_client(kraken, retry=policy) as client:
        with pytest.raises(KrakenTransportError) as caught:
            await client.devices(ACCOUNT)
    assert caught.value.category is ErrorCategory.RETRY
    assert len(kraken.calls_to("Devices")) == 6
    caps = [1.0, 2.0, 3.0, 3.0, 3.0]
    assert len(clock.sleeps) == 5
    assert all(0 <= s <= cap for s, cap in zip(clock.sleeps, caps, strict=True))


async def test_retries_stop_when_the_time_budget_is_spent(
    kraken: FakeKraken, clock: FakeClock
) -> None:
    kraken.handlers["Devices"] = lambda _: error("KT-CT-4376", "Try again later.")
    policy = RetryPolicy(max_attempts=1000, base_delay=2.0, max_delay=2.0, max_total=10.0)
    async with make_client(kraken, retry=policy) as client:
        with pytest.raises(KrakenError) as caught:
            await client.devices(ACCOUNT)
    assert caught.value.code == "KT-CT-4376"
    assert sum(clock.sleeps) <= 10.0
    assert 1 < len(kraken.calls_to("Devices")) < 1000


async def test_fatal_kraken_errors_are_not_retried(kraken: FakeKraken) -> None:
    kraken.handlers["SmartFlexOnboardingWizards"] = lambda _: error("KT-CT-4321", "Serializer.")
    async with make_client(kraken) as client:
        with pytest.raises(KrakenError) as caught:
            await client.wizards(ACCOUNT)
    assert caught.value.code == "KT-CT-4321"
    assert len(kraken.calls_to("SmartFlexOnboardingWizards")) == 1


# ---------------------------------------------------------------- wizard calls


async def test_wizard_lookup_reports_missing_wizard_as_4371(kraken: FakeKraken) -> None:
    kraken.handlers["SmartFlexOnboardingWizards"] = lambda _: wizards_reply()
    async with make_client(kraken) as client:
        with pytest.raises(KrakenError) as caught:
            await client.wizard(ACCOUNT, "nope")
    assert caught.value.code == "KT-CT-4371"
    sent = kraken.calls_to("SmartFlexOnboardingWizards")[0].variables
    assert sent == {
        "accountNumber": ACCOUNT,
        "wizardId": "nope",
        "includeCancelled": True,
        "includeCompleted": True,
    }


async def test_user_input_is_sent_as_a_json_string(kraken: FakeKraken) -> None:
    kraken.handlers["CompleteUserInput"] = lambda _: payload(
        "completeUserInputRequiredForSmartFlexOnboarding", step("TestCharge", "s9")
    )
    async with make_client(kraken) as client:
        result = await client.complete_user_input(WIZARD_ID, "s8", {"vin": "5YJ3E1EA7KF000001"})
    sent = kraken.calls_to("CompleteUserInput")[0].variables
    assert json.loads(sent["userInputs"]) == {"vin": "5YJ3E1EA7KF000001"}
    assert result.current_step is not None
    assert result.current_step.id == "s9"


async def test_stale_step_on_first_attempt_is_reported_as_moved_on(kraken: FakeKraken) -> None:
    kraken.handlers["CompleteAuthFlow"] = lambda _: error("KT-CT-4377", "Invalid step ID.")
    async with make_client(kraken) as client:
        with pytest.raises(KrakenError) as caught:
            await client.complete_auth_flow(WIZARD_ID, "old", "https://bot/cb?code=1")
    assert caught.value.category is ErrorCategory.STEP_MOVED_ON
    assert kraken.calls_to("SmartFlexOnboardingWizard") == []


async def test_timed_out_mutation_that_landed_is_not_replayed(kraken: FakeKraken) -> None:
    kraken.replies["SelectFromList"] = [read_timeout()]
    kraken.handlers["SmartFlexOnboardingWizard"] = lambda _: data(
        smartFlexOnboardingWizard=wizard(WIZARD_ID, step("AuthFlow", "s3"))
    )
    async with make_client(kraken) as client:
        result = await client.select_from_list(WIZARD_ID, "s2", "opt-tesla")
    assert isinstance(result.current_step, AuthFlowStep)
    assert len(kraken.calls_to("SelectFromList")) == 1


async def test_timed_out_mutation_that_did_not_land_is_replayed(kraken: FakeKraken) -> None:
    kraken.replies["SelectFromList"] = [read_timeout()]
    kraken.handlers["SelectFromList"] = lambda _: payload(
        "selectFromListForSmartFlexOnboarding", step("AuthFlow", "s3")
    )
    kraken.handlers["SmartFlexOnboardingWizard"] = lambda _: data(
        smartFlexOnboardingWizard=wizard(WIZARD_ID, step("SelectVehicleMake", "s2"))
    )
    async with make_client(kraken) as client:
        result = await client.select_from_list(WIZARD_ID, "s2", "opt-tesla")
    assert isinstance(result.current_step, AuthFlowStep)
    assert len(kraken.calls_to("SelectFromList")) == 2


async def test_replay_rejected_as_stale_rereads_the_wizard(kraken: FakeKraken) -> None:
    """The first attempt landed after the re-read looked: the replay gets 4377."""
    rereads = [
        wizard(WIZARD_ID, step("UserActionRequired", "s5")),
        wizard(WIZARD_ID, step("TestCharge", "s6")),
    ]
    kraken.replies["CompleteUserAction"] = [read_timeout(), error("KT-CT-4377", "Invalid step.")]
    kraken.handlers["SmartFlexOnboardingWizard"] = lambda _: data(
        smartFlexOnboardingWizard=rereads.pop(0)
    )
    async with make_client(kraken) as client:
        result = await client.complete_user_action(WIZARD_ID, "s5")
    assert result.current_step is not None
    assert result.current_step.id == "s6"
    assert len(kraken.calls_to("CompleteUserAction")) == 2


async def test_going_back_that_timed_out_is_replayed_when_selection_unchanged(
    kraken: FakeKraken,
) -> None:
    earlier = step("SelectVehicleMake", "s1", options=[], selectedOptionId="opt-bmw")
    kraken.replies["SelectFromList"] = [read_timeout()]
    kraken.handlers["SelectFromList"] = lambda _: payload(
        "selectFromListForSmartFlexOnboarding", step("SelectVehicleVariant", "s7")
    )
    kraken.handlers["SmartFlexOnboardingWizard"] = lambda _: data(
        smartFlexOnboardingWizard=wizard(
            WIZARD_ID, step("AuthFlow", "s3"), completedSteps=[earlier]
        )
    )
    async with make_client(kraken) as client:
        result = await client.select_from_list(WIZARD_ID, "s1", "opt-tesla")
    assert result.current_step is not None
    assert result.current_step.id == "s7"
    assert len(kraken.calls_to("SelectFromList")) == 2


async def test_start_that_timed_out_returns_the_wizard_it_created(kraken: FakeKraken) -> None:
    kraken.replies["StartSmartFlexOnboarding"] = [html_502()]
    kraken.handlers["SmartFlexOnboardingWizards"] = lambda _: wizards_reply(
        wizard("w-new", step("SelectVehicleMake", "s1", options=[]))
    )
    async with make_client(kraken) as client:
        result = await client.start_onboarding(ACCOUNT, 1)
    assert result.id == "w-new"
    assert isinstance(result.current_step, SelectVehicleMakeStep)
    assert len(kraken.calls_to("StartSmartFlexOnboarding")) == 1
    assert kraken.calls_to("SmartFlexOnboardingWizards")[0].variables["isResumable"] is True


async def test_unsent_mutation_is_simply_retried(kraken: FakeKraken) -> None:
    kraken.replies["CompleteUserInput"] = [httpx.ConnectError("refused")]
    kraken.handlers["CompleteUserInput"] = lambda _: payload(
        "completeUserInputRequiredForSmartFlexOnboarding",
        step("UserInputRequired", "s8", userInputs=[{"key": "vin"}], error={"message": "Bad"}),
    )
    async with make_client(kraken) as client:
        result = await client.complete_user_input(WIZARD_ID, "s8", {"vin": "x"})
    assert isinstance(result.current_step, UserInputRequiredStep)
    assert kraken.calls_to("SmartFlexOnboardingWizard") == []
    assert len(kraken.calls_to("CompleteUserInput")) == 2


async def test_devices_and_controls(kraken: FakeKraken) -> None:
    device = {
        "__typename": "SmartFlexVehicle",
        "id": "dev-1",
        "deviceType": "ELECTRIC_VEHICLES",
        "provider": "TESLA",
        "make": "Tesla",
        "status": {"current": "LIVE", "isSuspended": True},
    }
    kraken.handlers["UpdateDeviceSmartControl"] = lambda v: data(
        updateDeviceSmartControl={**device, "id": v["deviceId"]}
    )
    kraken.handlers["UpdateBoostCharge"] = lambda _: data(updateBoostCharge=device)
    kraken.handlers["ProviderVirtualKeyDetails"] = lambda _: data(
        providerVirtualKeyDetails={"virtualKeyName": "k", "virtualKeyUri": "https://t/_ak/x"}
    )
    async with make_client(kraken) as client:
        suspended = await client.set_smart_control("dev-1", suspend=True)
        await client.boost("dev-1", cancel=True)
        key = await client.provider_virtual_key_details("TESLA", DeviceType.ELECTRIC_VEHICLES)
    assert suspended.status.is_suspended is True
    assert kraken.calls_to("UpdateDeviceSmartControl")[0].variables["action"] == "SUSPEND"
    assert kraken.calls_to("UpdateBoostCharge")[0].variables["action"] == "CANCEL"
    assert key.virtual_key_uri == "https://t/_ak/x"


async def test_unknown_operation_is_a_programming_error(kraken: FakeKraken) -> None:
    async with make_client(kraken) as client:
        with pytest.raises(ValueError, match="Unknown Kraken operation"):
            await client.execute("DropAllTables", {})


# ---------------------------------------------------------------- logging


async def test_secrets_never_reach_the_logs(
    kraken: FakeKraken, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Other tests in the same process may have quietened these (the CLI does): not here.
    caplog.set_level(logging.DEBUG, logger="httpx")
    caplog.set_level(logging.DEBUG, logger="httpcore.http11")
    caplog.set_level(logging.DEBUG, logger="kraken")
    kraken.replies["Devices"] = [error("KT-CT-1124", "Expired."), html_502()]
    kraken.handlers["Devices"] = lambda _: data(devices=[])
    async with make_client(kraken) as client:
        await client.devices(ACCOUNT)
        clock.now += TOKEN_LIFETIME
        await client.devices(ACCOUNT)
        token = await client._tokens.token()
        # What httpx/httpcore would print if they ever logged request headers.
        logging.getLogger("httpx").debug("Request headers: Authorization=%s", token)
        logging.getLogger("httpcore.http11").debug("key=%s", API_KEY)
    secrets = [API_KEY, *(f"jwt-token-{n:04d}" for n in range(1, kraken.issued + 1))]
    secrets += [f"refresh-token-{n:04d}" for n in range(1, kraken.issued + 1)]
    assert kraken.issued == 3
    assert not [s for s in secrets if s in caplog.text]
    assert "[REDACTED]" in caplog.text
    calls = [r for r in caplog.records if r.name == "kraken.http" and r.operation == "Devices"]  # type: ignore[attr-defined]
    assert {r.attempt for r in calls} >= {1, 2}  # type: ignore[attr-defined]
    assert all(isinstance(r.duration_ms, float) for r in calls)  # type: ignore[attr-defined]
    assert "KT-CT-1124" in {r.error_code for r in calls}  # type: ignore[attr-defined]


def test_credentials_do_not_print_their_secrets() -> None:
    assert API_KEY not in repr(ApiKeyCredentials(api_key=API_KEY))
    assert "hunter22" not in repr(PasswordCredentials(email="a@b.c", password="hunter22"))
