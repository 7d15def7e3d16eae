"""Detecting what an instance supports, and the client using the variant it has.

The fake Kraken serves an SDL the test edits (a field removed, introspection refused): it
answers introspection and validates every document with graphql-core, as a server would.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from graphql import parse

from kraken.capabilities import Capabilities, Deprecation
from kraken.errors import CapabilityMissing, ErrorCategory, KrakenError
from kraken.schema import SchemaCache, conservative_schema
from tests.kraken.fakes import FakeClock, FakeKraken, data, error, make_client, step, wizard
from tests.kraken.schemas import EU_SDL, FULL_SDL, UK_ONLY, schema, without

ACCOUNT = "A-1234ABCD"
WIZARD_ID = "91834212"
START_TEST_CHARGE = "Mutation.startTestChargeForSmartFlexOnboarding"
DEC_2026 = datetime(2026, 12, 7, 12, tzinfo=UTC).timestamp()


def capabilities(sdl: str) -> Capabilities:
    return Capabilities.from_schema(
        schema(sdl), "introspection", now=0.0, ttl=60.0, fingerprint=f"test:{sdl}"
    )


def test_test_charge_falls_back_to_trigger_test_charge_once_start_test_charge_is_gone() -> None:
    assert capabilities(FULL_SDL).uses()["test_charge"] == "startTestChargeForSmartFlexOnboarding"
    gone = capabilities(without(FULL_SDL, [START_TEST_CHARGE]))
    assert gone.uses()["test_charge"] == "triggerTestCharge"
    assert gone.variant("test_charge") == ("TriggerTestCharge",)
    assert gone.operations["StartTestCharge"].status == "missing"
    assert gone.onboarding_ready


def test_an_instance_without_any_test_charge_cannot_onboard() -> None:
    none = capabilities(without(FULL_SDL, [START_TEST_CHARGE, "Mutation.triggerTestCharge"]))
    assert none.missing_required == ["test_charge"] and not none.onboarding_ready
    with pytest.raises(CapabilityMissing) as caught:
        none.variant("test_charge")
    assert caught.value.category is ErrorCategory.UNSUPPORTED
    assert caught.value.code == "UNSUPPORTED-test_charge"


def test_uk_only_selections_are_asked_for_only_where_the_instance_has_them() -> None:
    uk, eu = capabilities(FULL_SDL), capabilities(without(FULL_SDL, UK_ONLY))
    uk_doc = uk.document("SmartFlexOnboardingWizards")
    eu_doc = eu.document("SmartFlexOnboardingWizards")
    for selection in ("isComplete", "isRewindable", "on TerminalError", "on Retry", "regex"):
        assert selection in uk_doc and selection not in eu_doc
    assert "error" in _selections(uk_doc, "AuthFlow") and "error" not in _selections(
        eu_doc, "AuthFlow"
    )
    assert "on TestCharge" in eu_doc and "isReady" in eu_doc  # the rest is untouched
    assert uk.operations["SmartFlexOnboardingWizards"].left_out == ()
    assert set(eu.operations["SmartFlexOnboardingWizards"].left_out) >= {
        "SmartFlexOnboardingWizard.isComplete",
        "AuthFlow.error",
        "... on TerminalError",
    }
    assert eu.uses()["read_wizard"] == "smartFlexOnboardingWizards"
    assert eu.uses()["retry"] is None and eu.onboarding_ready


def _selections(document: str, typename: str) -> str:
    """The text of the first `... on <typename> { ... }` (up to its first closing brace)."""
    return document.split(f"on {typename} ", 1)[1].split("}", 1)[0]


def test_a_missing_field_that_is_not_optional_makes_its_operations_missing() -> None:
    """Leaving out `currentStep` would read as "onboarding complete": never silently."""
    broken = capabilities(without(FULL_SDL, ["SmartFlexOnboardingWizard.currentStep"]))
    support = broken.operations["SmartFlexOnboardingWizards"]
    assert support.status == "missing"
    assert any("currentStep" in problem for problem in support.problems)
    assert "read_wizards" in broken.missing_required


def test_a_fragment_orphaned_by_leaving_out_a_type_is_dropped() -> None:
    sdl = without(FULL_SDL, ["SelectChargePointMakeListItem", "SelectChargePointVariantListItem"])
    document = capabilities(sdl).document("SelectFromList")
    names = {d.name.value for d in parse(document).definitions}  # type: ignore[attr-defined]
    assert "chargePointModel" not in names and "catalogModel" in names


@pytest.mark.parametrize(
    ("reason", "marked", "removal"),
    [
        (
            "Please use 'deauthenticateFlexDevice' instead.\n\n- Marked as deprecated on "
            "2025-05-12.\n- Scheduled for removal on or after 2026-01-16.\n\nYou can read more "
            "about this deprecation on:\nhttps://announcements.kraken.tech/announcements/public/606/",
            date(2025, 5, 12),
            date(2026, 1, 16),
        ),
        ("This will be removed after 2026-10-03.", None, date(2026, 10, 3)),
        ("Deprecated on 2026-07-29. Use another step.", date(2026, 7, 29), None),
        ("This functionality will no longer be available.", None, None),
        ("Scheduled for removal on or after 2026-02-30.", None, None),  # no such day
    ],
)
def test_deprecation_dates_are_read_from_the_reason(
    reason: str, marked: date | None, removal: date | None
) -> None:
    parsed = Deprecation.parse("Mutation.x", reason)
    assert (parsed.deprecated_on, parsed.removal_on_or_after) == (marked, removal)


def test_deprecations_in_use_and_the_summary_for_healthz() -> None:
    eu = capabilities(EU_SDL)
    (test_charge,) = eu.deprecations()  # legacy selects and deauthenticateDevice: not chosen
    assert test_charge.coordinate == START_TEST_CHARGE
    assert test_charge.removal_on_or_after == date(2026, 7, 5)
    assert test_charge.removal_timestamp == datetime(2026, 7, 5, tzinfo=UTC).timestamp()
    summary = json.loads(json.dumps(eu.summary()))
    assert summary["variants"]["test_charge"] == "startTestChargeForSmartFlexOnboarding"
    assert summary["deprecated"] == [{"field": START_TEST_CHARGE, "removalOnOrAfter": "2026-07-05"}]
    assert summary["onboarding"] is True and summary["missing"] == ["retry"]


def test_the_conservative_set_drops_what_its_removal_date_has_passed() -> None:
    before, gone_before = conservative_schema(date(2026, 7, 4))
    after, gone_after = conservative_schema(date(2026, 7, 5))
    july_5 = date(2026, 7, 5)
    assert gone_before == tuple(d for d in gone_after if (d.removal_on_or_after or july_5) < july_5)
    assert {d.coordinate for d in gone_after} >= {
        START_TEST_CHARGE,
        "Mutation.deauthenticateDevice",
    }
    assert (
        before.mutation_type
        and "startTestChargeForSmartFlexOnboarding" in before.mutation_type.fields
    )
    assert (
        after.mutation_type
        and "startTestChargeForSmartFlexOnboarding" not in after.mutation_type.fields
    )


# ---------------------------------------------------------------- detection by the client


def wizards_handler(current: dict[str, Any] | None) -> Any:
    return lambda _: data(smartFlexOnboardingWizards=[wizard(WIZARD_ID, current)])


def refuse_introspection(_: dict[str, Any]) -> dict[str, Any]:
    """What a server with introspection switched off answers (a validation error)."""
    message = "GraphQL introspection has been disabled, but the requested query contained __schema."
    return {"errors": [{"message": message, "locations": [{"line": 1, "column": 1}]}]}


async def test_without_introspection_the_conservative_set_is_used(kraken: FakeKraken) -> None:
    kraken.clock.now = DEC_2026
    kraken.sdl = without(FULL_SDL, (*UK_ONLY, START_TEST_CHARGE))
    kraken.handlers["IntrospectionQuery"] = refuse_introspection
    kraken.handlers["SmartFlexOnboardingWizards"] = wizards_handler(step("TestCharge", "s1"))
    async with make_client(kraken) as client:
        (found,) = await client.wizards(ACCOUNT)
        detected = await client.capabilities()
    assert detected.source == "conservative" and "introspection refused" in detected.detail
    assert detected.uses()["test_charge"] == "triggerTestCharge"  # its removal date passed
    assert START_TEST_CHARGE in {d.coordinate for d in detected.assumed_removed}
    assert found.current_step is not None and found.current_step.typename == "TestCharge"
    assert len(kraken.calls_to("IntrospectionQuery")) == 1


def memory_cache() -> tuple[SchemaCache, dict[str, str]]:
    stored: dict[str, str] = {}

    async def load() -> str | None:
        return stored.get("schema")

    async def store(value: str) -> None:
        stored["schema"] = value

    return SchemaCache(load, store), stored


async def test_a_cached_schema_spares_the_next_process_an_introspection(
    kraken: FakeKraken,
) -> None:
    cache, stored = memory_cache()
    kraken.sdl = without(FULL_SDL, [START_TEST_CHARGE])
    async with make_client(kraken, schema_cache=cache, schema_ttl=600) as first:
        assert (await first.detect_capabilities()).uses()["test_charge"] == "triggerTestCharge"
    assert "schema" in stored
    async with make_client(kraken, schema_cache=cache, schema_ttl=600) as second:
        again = await second.detect_capabilities()
    assert again.uses()["test_charge"] == "triggerTestCharge" and again.source == "introspection"
    assert len(kraken.calls_to("IntrospectionQuery")) == 1
    kraken.clock.now += 601  # expired: asked again
    async with make_client(kraken, schema_cache=cache, schema_ttl=600) as third:
        await third.detect_capabilities()
    assert len(kraken.calls_to("IntrospectionQuery")) == 2


async def test_a_cache_of_another_instance_or_garbage_is_ignored(kraken: FakeKraken) -> None:
    cache, stored = memory_cache()
    async with make_client(kraken, schema_cache=cache) as client:
        await client.detect_capabilities()
    stored["schema"] = stored["schema"].replace("kraken.test", "elsewhere.test")
    async with make_client(kraken, schema_cache=cache) as client:
        await client.detect_capabilities()
    stored["schema"] = "{not json"
    async with make_client(kraken, schema_cache=cache) as client:
        await client.detect_capabilities()
    assert len(kraken.calls_to("IntrospectionQuery")) == 3


async def test_a_validation_error_refreshes_the_schema_and_the_call_uses_the_new_variant(
    kraken: FakeKraken,
) -> None:
    kraken.handlers["SmartFlexOnboardingWizards"] = wizards_handler(step("WaitForTransition", "s2"))
    kraken.handlers["TriggerTestCharge"] = lambda v: data(
        triggerTestCharge={"krakenflexDevice": {"krakenflexDeviceId": "dev-1"}}
    )
    cache, stored = memory_cache()
    async with make_client(kraken, schema_cache=cache) as client:
        first = (await client.detect_capabilities()).uses()["test_charge"]
        assert first == "startTestChargeForSmartFlexOnboarding"
        kraken.sdl = without(FULL_SDL, [START_TEST_CHARGE])  # Kraken removes it meanwhile
        moved = await client.start_test_charge(WIZARD_ID, "s1", account_number=ACCOUNT)
        assert (await client.capabilities()).uses()["test_charge"] == "triggerTestCharge"
    assert moved.current_step is not None and moved.current_step.id == "s2"
    sent = [c.operation for c in kraken.calls if c.operation != "ObtainKrakenToken"]
    assert sent == [
        "IntrospectionQuery",
        "StartTestCharge",  # refused: "Cannot query field ..."
        "IntrospectionQuery",
        "TriggerTestCharge",
        "SmartFlexOnboardingWizards",
    ]
    assert kraken.calls_to("TriggerTestCharge")[0].variables == {"accountNumber": ACCOUNT}
    assert "startTestCharge" not in json.loads(stored["schema"])["introspection"].__repr__()


async def test_a_disabled_field_falls_back_without_asking_for_the_schema_again(
    kraken: FakeKraken,
) -> None:
    kraken.replies["StartTestCharge"] = [error("KT-CT-1113", "Disabled GraphQL field requested.")]
    kraken.handlers["TriggerTestCharge"] = lambda v: data(
        triggerTestCharge={"krakenflexDevice": {"krakenflexDeviceId": "dev-1"}}
    )
    kraken.handlers["SmartFlexOnboardingWizards"] = wizards_handler(step("TestCharge", "s1"))
    async with make_client(kraken) as client:
        await client.wizards(ACCOUNT)  # the client learns the wizard's account here
        await client.start_test_charge(WIZARD_ID, "s1")
    assert len(kraken.calls_to("IntrospectionQuery")) == 1
    assert len(kraken.calls_to("TriggerTestCharge")) == 1


async def test_no_test_charge_at_all_is_capability_missing_not_a_graphql_error(
    kraken: FakeKraken,
) -> None:
    kraken.sdl = without(FULL_SDL, [START_TEST_CHARGE, "Mutation.triggerTestCharge"])
    async with make_client(kraken) as client:
        with pytest.raises(CapabilityMissing) as caught:
            await client.start_test_charge(WIZARD_ID, "s1", account_number=ACCOUNT)
    assert caught.value.category is ErrorCategory.UNSUPPORTED
    assert caught.value.capability == "test_charge"
    assert kraken.calls_to("StartTestCharge") == kraken.calls_to("TriggerTestCharge") == []


async def test_trigger_test_charge_refusals_read_like_the_wizard_s(kraken: FakeKraken) -> None:
    kraken.sdl = without(FULL_SDL, [START_TEST_CHARGE])
    kraken.replies["TriggerTestCharge"] = [
        error(
            "KT-CT-4355",
            "Unable to trigger charge.",
            testChargeRefusalReasons=["TC_DEVICE_AWAY_FROM_HOME", "TC_DEVICE_DISCONNECTED"],
        )
    ]
    async with make_client(kraken) as client:
        with pytest.raises(KrakenError) as caught:
            await client.start_test_charge(WIZARD_ID, "s1", account_number=ACCOUNT)
    assert caught.value.category is ErrorCategory.USER_CAN_FIX
    assert caught.value.refusal_reasons == ["DEVICE_AWAY_FROM_HOME", "DEVICE_DISCONNECTED"]


async def test_legacy_per_list_selects_stand_in_for_select_from_list(kraken: FakeKraken) -> None:
    kraken.sdl = without(FULL_SDL, ["Mutation.selectFromListForSmartFlexOnboarding"])
    makes = step("SelectVehicleMake", "s1", options=[], selectedOptionId=None)
    kraken.handlers["SmartFlexOnboardingWizards"] = wizards_handler(makes)
    kraken.handlers["LegacySelectVehicleMake"] = lambda v: data(
        selectVehicleMakeForSmartFlexOnboarding={
            "wizard": wizard(WIZARD_ID, step("AuthFlow", "s2"))
        }
    )
    async with make_client(kraken) as client:
        await client.wizards(ACCOUNT)  # shows step s1, a SelectVehicleMake
        moved = await client.select_from_list(WIZARD_ID, "s1", "tesla")
        with pytest.raises(CapabilityMissing):  # no per-list mutation for this step type
            await client.select_from_list(WIZARD_ID, "s9", "x", step_type="SelectSessionDevice")
    assert moved.current_step is not None and moved.current_step.id == "s2"
    (call,) = kraken.calls_to("LegacySelectVehicleMake")
    assert call.variables == {"wizardId": WIZARD_ID, "stepId": "s1", "selectedOption": "tesla"}


def device(device_id: str, device_type: str = "ELECTRIC_VEHICLES") -> dict[str, Any]:
    status = {"current": "LIVE", "currentState": "SMART_CONTROL_CAPABLE", "isSuspended": False}
    return {
        "__typename": "SmartFlexVehicle",
        "id": device_id,
        "deviceType": device_type,
        "provider": "TESLA",
        "status": status,
    }


def removed(field: str) -> Any:
    return lambda v: data(**{field: {"krakenflexDevice": {"krakenflexDeviceId": "kf-1"}}})


async def test_device_removal_uses_the_flex_mutation_where_it_exists(kraken: FakeKraken) -> None:
    kraken.handlers["DeauthenticateFlexDevice"] = removed("deauthenticateFlexDevice")
    async with make_client(kraken) as client:
        assert await client.deauthenticate_device(ACCOUNT, "dev-1") == "kf-1"
    assert kraken.calls_to("DeauthenticateFlexDevice")[0].variables == {"deviceId": "dev-1"}


async def test_legacy_device_removal_only_when_it_cannot_hit_another_device(
    kraken: FakeKraken,
) -> None:
    kraken.sdl = without(FULL_SDL, ["Mutation.deauthenticateFlexDevice"])
    kraken.handlers["DeauthenticateDevice"] = removed("deauthenticateDevice")
    owned = [device("dev-1"), device("hp-1", "HEAT_PUMPS")]
    kraken.handlers["Devices"] = lambda v: data(devices=owned)
    async with make_client(kraken) as client:
        assert await client.deauthenticate_device(ACCOUNT, "dev-1") == "kf-1"
        owned.append(device("dev-2"))  # now two EVs: "the newest EV" may be the other one
        with pytest.raises(CapabilityMissing):
            await client.deauthenticate_device(ACCOUNT, "dev-1")
    (call,) = kraken.calls_to("DeauthenticateDevice")
    assert call.variables == {"accountNumber": ACCOUNT, "deviceType": "ELECTRIC_VEHICLES"}


async def test_deprecated_fields_in_use_are_logged_once_with_their_removal_date(
    kraken: FakeKraken, caplog: pytest.LogCaptureFixture
) -> None:
    kraken.sdl = EU_SDL
    with caplog.at_level(logging.WARNING, logger="kraken"):
        async with make_client(kraken) as client:
            await client.detect_capabilities()
            await client.detect_capabilities(use_cache=False)
    warned = [r for r in caplog.records if r.getMessage() == "Kraken field in use is deprecated"]
    assert [(r.field, r.removal_on_or_after) for r in warned] == [  # type: ignore[attr-defined]
        (START_TEST_CHARGE, "2026-07-05")
    ]


async def test_kraken_unreachable_at_detection_is_retried_a_minute_later(
    kraken: FakeKraken,
) -> None:
    cache, stored = memory_cache()
    kraken.replies["IntrospectionQuery"] = [
        httpx.ConnectError("down")
    ] * 4  # every retry of the first look
    async with make_client(kraken, schema_cache=cache) as client:
        first = await client.detect_capabilities()
        assert first.source == "conservative" and "could not be asked" in first.detail
        assert await client.capabilities() is first  # within the minute: no new look
        kraken.clock.now += 61
        assert (await client.capabilities()).source == "introspection"
    assert "schema" in stored and json.loads(stored["schema"])["source"] == "introspection"


def test_clock_fixture_is_before_the_seeds_removal_dates(clock: FakeClock) -> None:
    """The other tests' conservative sets keep startTestCharge; DEC_2026 tests drop it."""
    assert datetime.fromtimestamp(clock(), UTC).date() < date(2026, 7, 5)


async def test_the_bot_s_redis_keeps_the_schema_under_its_key_with_the_ttl(
    kraken: FakeKraken, redis_client: aioredis.Redis
) -> None:
    cache = SchemaCache.redis(redis_client, "sfa:kraken:schema", ttl=600)
    async with make_client(kraken, schema_cache=cache, schema_ttl=600) as first:
        await first.detect_capabilities()
    assert 0 < await redis_client.ttl("sfa:kraken:schema") <= 600
    async with make_client(kraken, schema_cache=cache, schema_ttl=600) as second:
        assert (await second.detect_capabilities()).source == "introspection"
    assert len(kraken.calls_to("IntrospectionQuery")) == 1


async def test_an_introspection_answer_without_a_schema_is_treated_as_refused(
    kraken: FakeKraken,
) -> None:
    kraken.handlers["IntrospectionQuery"] = lambda _: data(__schema={"types": "garbage"})
    async with make_client(kraken) as client:
        detected = await client.detect_capabilities()
    assert detected.source == "conservative"
    assert detected.detail.startswith("introspection unusable: ")
