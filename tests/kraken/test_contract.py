"""The client's GraphQL documents against the schema the sandbox serves."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLInterfaceType, build_schema, parse, validate
from graphql.language import InlineFragmentNode

from kraken.models import STEP_TYPES
from kraken.operations import FRAGMENTS_FILE, OPERATIONS

SCHEMA = build_schema(
    (Path(__file__).parents[2] / "sandbox" / "kraken" / "schema.graphql").read_text()
)
STEP_INTERFACE = SCHEMA.get_type("SmartFlexOnboardingStepInterface")


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_operation_validates_against_the_schema(name: str) -> None:
    assert validate(SCHEMA, parse(OPERATIONS[name].document)) == []


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
