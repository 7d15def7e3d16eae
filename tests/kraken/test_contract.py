"""The client's GraphQL documents against the schemas they meet: the sandbox's and the seeds'.

The sandbox serves flavours (`sandbox.kraken.schema_sdl(flavour)`): every one must support
onboarding with the variants the client picks there. Before the sandbox had flavours it served
one schema, read from its file.
"""

from __future__ import annotations

import importlib
from datetime import date
from pathlib import Path

import pytest
from graphql import GraphQLInterfaceType, build_schema, parse, validate
from graphql.language import InlineFragmentNode

from kraken.capabilities import CAPABILITIES, LEGACY_SELECT, OPTIONAL_FIELDS, Capabilities
from kraken.models import STEP_TYPES
from kraken.operations import FRAGMENTS_FILE, OPERATIONS
from kraken.schema import conservative_schema

SCHEMA_FILE = Path(__file__).parents[2] / "sandbox" / "kraken" / "schema.graphql"


SANDBOX_KRAKEN = importlib.import_module("sandbox.kraken")
HAS_FLAVOURS = hasattr(SANDBOX_KRAKEN, "schema_sdl")
needs_flavours = pytest.mark.skipif(not HAS_FLAVOURS, reason="the sandbox serves one schema")


def sandbox_flavours() -> dict[str, str]:
    """Flavour -> the SDL the sandbox serves for it."""
    if not HAS_FLAVOURS:
        return {"uk": SCHEMA_FILE.read_text()}
    return {flavour: SANDBOX_KRAKEN.schema_sdl(flavour) for flavour in ("eu", "uk")}


FLAVOURS = sandbox_flavours()
SCHEMA = build_schema(FLAVOURS["uk"])
STEP_INTERFACE = SCHEMA.get_type("SmartFlexOnboardingStepInterface")
BEFORE_REMOVALS = date(2026, 1, 1)  # ResiFlex EU's deprecated fields are all still there
AFTER_REMOVALS = date(2026, 12, 7)


def capabilities_of(schema_sdl_or_date: str | date) -> Capabilities:
    if isinstance(schema_sdl_or_date, date):
        schema, _ = conservative_schema(schema_sdl_or_date)
    else:
        schema = build_schema(schema_sdl_or_date)
    key = f"contract:{schema_sdl_or_date}"
    return Capabilities.from_schema(schema, "introspection", now=0.0, ttl=60.0, fingerprint=key)


SANDBOX = capabilities_of(FLAVOURS["uk"])
EU = capabilities_of(BEFORE_REMOVALS)


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_operation_is_valid_where_it_is_meant_to_be(name: str) -> None:
    """As written against the sandbox (which serves the UK superset), or else against the
    seeds' EU schema, which has the EU-only variants (triggerTestCharge, per-list selects,
    device removal)."""
    as_written = validate(SCHEMA, parse(OPERATIONS[name].document))
    if as_written:
        assert EU.available(name), [e.message for e in as_written]
        assert not SANDBOX.available(name)


@pytest.mark.parametrize("flavour", sorted(FLAVOURS))
def test_every_sandbox_flavour_supports_onboarding(flavour: str) -> None:
    assert capabilities_of(FLAVOURS[flavour]).missing_required == []


def test_the_uk_sandbox_needs_nothing_left_out() -> None:
    assert SANDBOX.onboarding_ready
    assert all(not support.left_out for support in SANDBOX.operations.values())
    assert SANDBOX.uses()["test_charge"] == "startTestChargeForSmartFlexOnboarding"
    assert SANDBOX.uses()["select"] == "selectFromListForSmartFlexOnboarding"
    assert SANDBOX.uses()["read_wizard"] == "smartFlexOnboardingWizard"


def test_the_seeds_eu_schema_supports_onboarding_before_and_after_its_removal_dates() -> None:
    after = capabilities_of(AFTER_REMOVALS)
    assert EU.onboarding_ready and after.onboarding_ready
    assert EU.uses()["test_charge"] == "startTestChargeForSmartFlexOnboarding"
    assert after.uses()["test_charge"] == "triggerTestCharge"
    assert EU.uses()["device_removal"] == after.uses()["device_removal"]
    assert after.uses()["device_removal"] == "deauthenticateFlexDevice"
    assert EU.uses()["read_wizard"] == "smartFlexOnboardingWizards"
    assert all(EU.available(op) for op in LEGACY_SELECT.values())
    assert not any(after.available(op) for op in LEGACY_SELECT.values())


@needs_flavours
@pytest.mark.parametrize("when", [None, AFTER_REMOVALS], ids=["today", "after-removals"])
@pytest.mark.parametrize("flavour", ["eu", "uk"])
def test_each_flavour_before_and_after_its_removal_dates(flavour: str, when: date | None) -> None:
    served = capabilities_of(SANDBOX_KRAKEN.schema_sdl(flavour, date=when))
    assert served.missing_required == []
    uses = served.uses()
    expected = "triggerTestCharge" if when else "startTestChargeForSmartFlexOnboarding"
    assert uses["test_charge"] == expected
    assert uses["select"] == "selectFromListForSmartFlexOnboarding"
    assert uses["device_removal"] == "deauthenticateFlexDevice"


@needs_flavours
def test_every_variant_validates_on_some_flavour() -> None:
    served = [capabilities_of(sdl) for sdl in FLAVOURS.values()]
    assert [op for op in OPERATIONS if not any(c.available(op) for c in served)] == []


@needs_flavours
def test_the_conservative_set_is_the_sandbox_eu_instance_as_the_seeds_describe_it() -> None:
    """Two readings of the same seeds, kept apart because the client may not import the
    sandbox: they must agree on every operation, what is left out and removal dates."""
    seeds_sdl = SANDBOX_KRAKEN.schema_sdl("eu", removed=SANDBOX_KRAKEN.compat_names())
    seeds = capabilities_of(seeds_sdl)
    for name, support in EU.operations.items():
        theirs = seeds.operations[name]
        assert (support.status, set(support.left_out)) == (theirs.status, set(theirs.left_out))
    removal = SANDBOX_KRAKEN.removal_dates("eu")
    for deprecation in conservative_schema(AFTER_REMOVALS)[1]:
        assert removal[deprecation.coordinate] == deprecation.removal_on_or_after


def test_every_operation_serves_a_capability() -> None:
    served = {op for capability in CAPABILITIES for op in capability.operations}
    assert served == set(OPERATIONS)


def test_legacy_selects_name_list_steps() -> None:
    assert set(LEGACY_SELECT) <= set(STEP_TYPES)
    assert set(LEGACY_SELECT.values()) <= set(OPERATIONS)


def test_every_optional_field_is_one_the_documents_select() -> None:
    """A stale entry would hide nothing; a typo would leave a UK-only field unprotected."""
    left_out_on_eu = {item for support in EU.operations.values() for item in support.left_out}
    assert left_out_on_eu >= OPTIONAL_FIELDS


def _step_implementers() -> set[str]:
    assert isinstance(STEP_INTERFACE, GraphQLInterfaceType)
    return {t.name for t in SCHEMA.get_possible_types(STEP_INTERFACE)}


def test_step_fragment_asks_for_every_step_type() -> None:
    source = (Path(__file__).parents[2] / "kraken" / "operations" / FRAGMENTS_FILE).read_text()
    (fragment,) = [
        d
        for d in parse(source).definitions
        if getattr(d, "name", None) and d.name.value == "onboardingStep"  # type: ignore[attr-defined]
    ]
    inline = {
        s.type_condition.name.value
        for s in fragment.selection_set.selections  # type: ignore[attr-defined]
        if isinstance(s, InlineFragmentNode) and s.type_condition is not None
    }
    assert inline == _step_implementers()


def test_step_models_cover_every_step_type() -> None:
    assert set(STEP_TYPES) == _step_implementers()


def test_every_wizard_operation_selects_the_full_wizard() -> None:
    for op in OPERATIONS.values():
        if "wizard" in op.root_field.lower() or op.root_field.endswith("SmartFlexOnboarding"):
            assert "fragment onboardingStep" in op.document, op.name
