"""Schemas for the client's unit tests, as SDL text a test can edit before serving it.

`EU_SDL` is the seeds' EU schema the client ships (kraken/conservative.graphql, every
deprecated field still in place); `FULL_SDL` adds what the UK instance has on top, so every
operation of the client validates on it as written. `without()` removes fields or types the way
an instance that dropped them would look. These stay independent of the sandbox, whose own
flavours are held to the client by test_contract.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

from graphql import REMOVE, GraphQLSchema, Visitor, build_schema, parse, print_ast, visit

from kraken.capabilities import OPTIONAL_FIELDS

EU_SDL = resources.files("kraken").joinpath("conservative.graphql").read_text("utf-8")

UK_EXTRAS = '''
extend type Query {
  smartFlexOnboardingWizard(wizardId: ID): SmartFlexOnboardingWizard
}

extend type Mutation {
  completeRetryForSmartFlexOnboarding(
    input: CompleteSmartFlexOnboardingStepInput!
  ): CompleteRetryForSmartFlexOnboarding
    @deprecated(reason: """
    This functionality will no longer be available.

    - Marked as deprecated on 2026-07-29.
    """)
}

type CompleteRetryForSmartFlexOnboarding {
  wizard: SmartFlexOnboardingWizard
}

extend type SmartFlexOnboardingWizard {
  isComplete: Boolean!
  isRewindable: Boolean
}

interface SmartFlexOnboardingErrorInterface {
  message: String
}

type AuthFlowError implements SmartFlexOnboardingErrorInterface {
  message: String
}

extend type AuthFlow {
  error: AuthFlowError
}

type UserInputRequiredError implements SmartFlexOnboardingErrorInterface {
  message: String
}

extend type UserInputRequired {
  error: UserInputRequiredError
}

extend type UserInputType {
  isVerified: Boolean
  regex: String
}

type ElectricChargePointVariantType {
  amperage: Int
  make: String
  model: String
  powerOutput: Decimal
}

extend type SelectChargePointVariantListItem {
  electricChargePointVariant: ElectricChargePointVariantType
}

extend type ChargePointVariantModelType {
  supportedProviders: [String]
}

type SelectHeatPumpVariant implements SmartFlexOnboardingStepInterface {
  id: ID
  options: [SmartFlexListItemInterface]
  selectedOptionId: ID
}

type SelectInverterSystemType implements SmartFlexOnboardingStepInterface {
  id: ID
  options: [SmartFlexListItemInterface]
  selectedOptionId: ID
}

type SelectHeatPumpVariantListItem implements SmartFlexListItemInterface {
  id: ID
  label: String
}

type SelectInverterSystemTypeListItem implements SmartFlexListItemInterface {
  id: ID
  label: String
}

type TerminalError implements SmartFlexOnboardingStepInterface {
  id: ID
  errors: [TerminalErrorType]
}

type TerminalErrorType {
  description: String
  errorCode: String!
}

type Retry implements SmartFlexOnboardingStepInterface {
  id: ID
}
'''

FULL_SDL = EU_SDL + UK_EXTRAS
UK_ONLY = (
    "Query.smartFlexOnboardingWizard",
    "Mutation.completeRetryForSmartFlexOnboarding",
    *sorted(OPTIONAL_FIELDS),  # UK-only fields, and supportedProviders (which S4 lacks)
    "TerminalError",
    "Retry",
    "SelectHeatPumpVariant",
    "SelectInverterSystemType",
    "SelectHeatPumpVariantListItem",
    "SelectInverterSystemTypeListItem",
)
"""What FULL_SDL has beyond the seeds' EU schema: removing it gives back the EU instance."""


def without(sdl: str, names: Iterable[str]) -> str:
    """`sdl` minus the fields (`Type.field`) and types (`Type`) named."""
    gone = set(names)

    class Remover(Visitor):
        owner = ""

        def _type(self, node: Any, *_: object) -> object:
            self.owner = node.name.value
            return REMOVE if node.name.value in gone else None

        enter_object_type_definition = _type
        enter_object_type_extension = _type
        enter_interface_type_definition = _type
        enter_input_object_type_definition = _type

        def enter_field_definition(self, node: Any, *_: object) -> object:
            return REMOVE if f"{self.owner}.{node.name.value}" in gone else None

        def leave_object_type_extension(self, node: Any, *_: object) -> object:
            return None if node.fields else REMOVE  # `extend type X` needs a field

    return print_ast(visit(parse(sdl), Remover()))


@cache
def schema(sdl: str) -> GraphQLSchema:
    return build_schema(sdl)
