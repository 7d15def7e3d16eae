"""What this Kraken instance supports, and which variant of each operation the client sends.

Kraken is multi-tenant: every supplier runs its own schema build (the UK has `isComplete`,
`TerminalError`, the singular `smartFlexOnboardingWizard`; ResiFlex EU has `triggerTestCharge`
and per-list select mutations; deprecated fields disappear on their removal date). So the
client learns the instance's schema - by introspection where allowed, else the conservative
schema the seeds document (`conservative.graphql`) - and validates each of its operations
against it with graphql-core. A document loses the selections the instance may lack
(`OPTIONAL_FIELDS`, and inline fragments on types it does not have); what still fails to
validate is missing. Per capability the first variant that validates is used.

How the schema is learnt and cached is `kraken.schema`.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import cache
from types import MappingProxyType
from typing import Any, Literal

from graphql import (
    REMOVE,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    parse,
    print_ast,
    validate,
    visit,
)
from graphql.utilities.type_comparators import do_types_overlap

from kraken.errors import CapabilityMissing
from kraken.operations import OPERATIONS, collect_spreads

OPTIONAL_FIELDS: frozenset[str] = frozenset(
    {
        "SmartFlexOnboardingWizard.isComplete",
        "SmartFlexOnboardingWizard.isRewindable",
        "AuthFlow.error",
        "UserInputRequired.error",
        "UserInputType.isVerified",
        "UserInputType.regex",
        "SelectChargePointVariantListItem.electricChargePointVariant",
        "ChargePointVariantModelType.supportedProviders",
    }
)
"""Selections left out where the instance lacks them (the models read them as absent). Any
other missing field makes its operation missing: leaving out, say, `currentStep` would read as
"onboarding complete". Inline fragments on types the instance lacks are always left out: it
can never return such an object."""


# ---------------------------------------------------------------- capabilities and variants


@dataclass(frozen=True)
class Capability:
    name: str
    variants: tuple[tuple[str, ...], ...]
    """Operation names per variant, preferred first; a variant of several operations (the
    per-list legacy selects) is usable where any of them is."""
    required: bool = False
    """Onboarding cannot work on an instance without it (the doctor's exit code)."""

    @property
    def operations(self) -> tuple[str, ...]:
        return tuple(op for variant in self.variants for op in variant)


LEGACY_SELECT: Mapping[str, str] = {
    step: f"LegacySelect{step.removeprefix('Select')}"
    for step in (
        "SelectDeviceType",
        "SelectVehicleMake",
        "SelectVehicleVariant",
        "SelectChargePointMake",
        "SelectChargePointVariant",
        "SelectHeatPumpMake",
        "SelectInverterMake",
        "SelectUserVehicle",
    )
}
"""List step __typename -> its deprecated per-list select mutation (ResiFlex EU, S3)."""


def _one(*names: str) -> tuple[tuple[str, ...], ...]:
    return tuple((name,) for name in names)


CAPABILITIES: tuple[Capability, ...] = (
    Capability("authenticate", _one("ObtainKrakenToken"), required=True),
    Capability("start_onboarding", _one("StartSmartFlexOnboarding"), required=True),
    Capability("read_wizards", _one("SmartFlexOnboardingWizards"), required=True),
    Capability("read_wizard", _one("SmartFlexOnboardingWizard", "SmartFlexOnboardingWizards")),
    Capability("select", (("SelectFromList",), tuple(LEGACY_SELECT.values())), required=True),
    Capability("auth_flow", _one("CompleteAuthFlow"), required=True),
    Capability("test_charge", _one("StartTestCharge", "TriggerTestCharge"), required=True),
    Capability("vehicle_or_charge_point", _one("SelectVehicleOrChargePoint")),
    Capability("tesla_virtual_key", _one("CompleteTeslaSetupVirtualKey")),
    Capability("user_action", _one("CompleteUserAction")),
    Capability("user_input", _one("CompleteUserInput")),
    Capability("retry", _one("CompleteRetry")),
    Capability("cancel", _one("CancelSmartFlexOnboarding")),
    Capability("reauthentication", _one("StartReAuthentication")),
    Capability("eligible_device_types", _one("EligibleDeviceTypes")),
    Capability("devices", _one("Devices")),
    Capability("virtual_key_details", _one("ProviderVirtualKeyDetails")),
    Capability("smart_control", _one("UpdateDeviceSmartControl")),
    Capability("boost", _one("UpdateBoostCharge")),
    Capability("device_removal", _one("DeauthenticateFlexDevice", "DeauthenticateDevice")),
    Capability("device_preferences", _one("SetDevicePreferences", "SetVehicleChargePreferences")),
    Capability("charging_duration_cap", _one("UpdateIsChargingDurationCapped")),
    Capability("grid_export", _one("UpdateDeviceGridExport")),
    Capability("climate_control", _one("SetClimateControlState")),
    Capability("hot_water", _one("SetHotWaterState")),
    Capability("room_temperature", _one("SetRoomTemperature")),
    Capability("health_check", _one("Ping")),
)
BY_NAME: Mapping[str, Capability] = {c.name: c for c in CAPABILITIES}


def capability_of(operation: str) -> str:
    """The first capability an operation serves (the name a CapabilityMissing carries)."""
    return next(c.name for c in CAPABILITIES if operation in c.operations)


_VARIED = {op for c in CAPABILITIES if len(c.variants) > 1 for op in c.operations}
ADAPTIVE: frozenset[str] = frozenset(
    name for name, op in OPERATIONS.items() if "..." in op.document or name in _VARIED
)
"""Operations whose document or variant depends on the instance: sending one needs the
capabilities detected first. The rest are sent as written until detection has happened."""


# ---------------------------------------------------------------- deprecations

_DEPRECATED_ON = re.compile(r"deprecated on (\d{4}-\d{2}-\d{2})", re.IGNORECASE)
_REMOVAL = re.compile(
    r"remov\w*\s+(?:on or after|after|on|from)?\s*(\d{4}-\d{2}-\d{2})", re.IGNORECASE
)


def _date(pattern: re.Pattern[str], text: str) -> date | None:
    match = pattern.search(text)
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


@dataclass(frozen=True, order=True)
class Deprecation:
    coordinate: str
    """`Type.field`, e.g. `Mutation.startTestChargeForSmartFlexOnboarding`."""
    reason: str
    deprecated_on: date | None = None
    removal_on_or_after: date | None = None

    @classmethod
    def parse(cls, coordinate: str, reason: str) -> Deprecation:
        """Kraken writes "- Marked as deprecated on D1. - Scheduled for removal on or after D2."
        into `deprecationReason`; other wordings leave the dates None."""
        return cls(coordinate, reason, _date(_DEPRECATED_ON, reason), _date(_REMOVAL, reason))

    @property
    def removal_timestamp(self) -> float | None:
        """Midnight UTC of the removal date, as Unix seconds (for a gauge)."""
        if self.removal_on_or_after is None:
            return None
        moment = datetime(*self.removal_on_or_after.timetuple()[:3], tzinfo=UTC)
        return moment.timestamp()

    def as_json(self) -> dict[str, str | None]:
        removal = self.removal_on_or_after
        return {
            "field": self.coordinate,
            "removalOnOrAfter": removal.isoformat() if removal else None,
        }


# ---------------------------------------------------------------- one operation on one schema

Status = Literal["present", "deprecated", "missing"]


@dataclass(frozen=True)
class OperationSupport:
    operation: str
    field: str
    """The root field, e.g. `triggerTestCharge`: the name operators know."""
    document: str | None
    """What to send to this instance; None when the operation is missing."""
    left_out: tuple[str, ...] = ()
    deprecations: tuple[Deprecation, ...] = ()
    """Deprecated fields the document still uses (the root field first when it is one)."""
    problems: tuple[str, ...] = ()

    @property
    def status(self) -> Status:
        if self.document is None:
            return "missing"
        root = self.deprecations[0].coordinate.split(".")[-1] if self.deprecations else None
        return "deprecated" if root == self.field else "present"

    @property
    def root_deprecation(self) -> Deprecation | None:
        return self.deprecations[0] if self.status == "deprecated" else None


class _Pruner(Visitor):
    """Leaves out what the schema lacks and may be left out; notes deprecated fields kept."""

    def __init__(self, schema: GraphQLSchema, type_info: TypeInfo) -> None:
        super().__init__()
        self.schema = schema
        self.type_info = type_info
        self.left_out: list[str] = []
        self.deprecated: dict[str, dict[str, Deprecation]] = {}
        self._definition = ""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: object) -> None:
        self._definition = ""

    def enter_fragment_definition(self, node: FragmentDefinitionNode, *_: object) -> None:
        self._definition = node.name.value

    def enter_field(self, node: FieldNode, *_: object) -> object:
        parent, definition = self.type_info.get_parent_type(), self.type_info.get_field_def()
        if parent is None:
            return None
        coordinate = f"{parent.name}.{node.name.value}"
        if definition is not None:
            if definition.deprecation_reason:
                found = self.deprecated.setdefault(self._definition, {})
                found[coordinate] = Deprecation.parse(coordinate, definition.deprecation_reason)
            return None
        if coordinate in OPTIONAL_FIELDS:
            self.left_out.append(coordinate)
            return REMOVE
        return None

    def enter_inline_fragment(self, node: InlineFragmentNode, *_: object) -> object:
        if node.type_condition is None:
            return None
        name = node.type_condition.name.value
        wanted = self.schema.get_type(name)
        parent = self.type_info.get_parent_type()
        overlaps = (
            wanted is not None
            and parent is not None
            and do_types_overlap(self.schema, wanted, parent)  # type: ignore[arg-type]
        )
        if overlaps:
            return None
        self.left_out.append(f"... on {name}")
        return REMOVE

    def leave_inline_fragment(self, node: InlineFragmentNode, *_: object) -> object:
        return REMOVE if not node.selection_set.selections else None

    def deprecations(self, document: DocumentNode) -> list[Deprecation]:
        """Those noted in the operation and in the fragments `document` still holds."""
        kept = {""} | {
            d.name.value for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        found: dict[str, Deprecation] = {}
        for definition, deprecations in self.deprecated.items():
            if definition in kept:
                found.update(deprecations)
        return list(found.values())


def _drop_unused_fragments(document: DocumentNode) -> DocumentNode:
    """Leaving out a selection may orphan a fragment, which GraphQL forbids."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    used: set[str] = set()
    pending = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    while pending:
        for name in collect_spreads(pending.pop()) - used:
            used.add(name)
            if name in fragments:
                pending.append(fragments[name])  # type: ignore[arg-type]
    definitions = [
        d
        for d in document.definitions
        if not isinstance(d, FragmentDefinitionNode) or d.name.value in used
    ]
    return DocumentNode(definitions=tuple(definitions))


@cache
def _parsed(operation: str) -> DocumentNode:
    return parse(OPERATIONS[operation].document)


def analyse(schema: GraphQLSchema, operation: str) -> OperationSupport:
    """How `operation` fares on `schema`: the document to send, what was left out, what it
    uses that is deprecated, or why it cannot be sent at all."""
    op = OPERATIONS[operation]
    type_info = TypeInfo(schema)
    pruner = _Pruner(schema, type_info)
    pruned = visit(_parsed(operation), TypeInfoVisitor(type_info, pruner))
    if pruner.left_out:
        pruned = _drop_unused_fragments(pruned)
    errors = validate(schema, pruned)
    if errors:
        # graphql-core's "Did you mean ...?" suggestions are noise in an operator's table.
        problems = tuple(dict.fromkeys(e.message.split(" Did you mean")[0] for e in errors))
        return OperationSupport(operation, op.root_field, None, problems=problems)
    root = schema.mutation_type if op.is_mutation else schema.query_type
    root_coordinate = f"{root.name if root else '?'}.{op.root_field}"
    found = pruner.deprecations(pruned)
    ordered = sorted(found, key=lambda d: (d.coordinate != root_coordinate, d.coordinate))
    document = print_ast(pruned) if pruner.left_out else op.document
    return OperationSupport(
        operation, op.root_field, document, tuple(pruner.left_out), tuple(ordered)
    )


_ANALYSED: OrderedDict[str, Mapping[str, OperationSupport]] = OrderedDict()
_ANALYSED_SIZE = 8
_ANALYSED_LOCK = threading.Lock()  # detection analyses in a worker thread


def analyse_all(
    schema: GraphQLSchema, fingerprint: str | None = None
) -> Mapping[str, OperationSupport]:
    """Every operation on `schema` (about a second of CPU), remembered by `fingerprint`:
    re-detecting an unchanged schema, or several clients in one process, costs nothing."""
    with _ANALYSED_LOCK:
        known = _ANALYSED.get(fingerprint) if fingerprint is not None else None
        if known is not None:
            _ANALYSED.move_to_end(fingerprint)  # type: ignore[arg-type]
            return known
    result = MappingProxyType({name: analyse(schema, name) for name in OPERATIONS})
    if fingerprint is not None:
        with _ANALYSED_LOCK:
            _ANALYSED[fingerprint] = result
            while len(_ANALYSED) > _ANALYSED_SIZE:
                _ANALYSED.popitem(last=False)
    return result


# ---------------------------------------------------------------- the whole instance

Source = Literal["introspection", "conservative"]


@dataclass(frozen=True)
class Capabilities:
    source: Source
    operations: Mapping[str, OperationSupport]
    detected_at: float
    expires_at: float
    detail: str = ""
    """Why the conservative set stands in (e.g. "introspection refused: KT-CT-1113")."""
    assumed_removed: tuple[Deprecation, ...] = ()
    """Conservative set only: deprecated fields left out because their removal date passed."""
    record: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    """What the cache keeps to rebuild these (the trimmed introspection, or the fallback)."""

    @classmethod
    def from_schema(
        cls,
        schema: GraphQLSchema,
        source: Source,
        *,
        now: float,
        ttl: float,
        fingerprint: str | None = None,
        **extra: Any,
    ) -> Capabilities:
        operations = analyse_all(schema, fingerprint)
        return cls(source, operations, detected_at=now, expires_at=now + ttl, **extra)

    # ------------------------------------------------------------ choosing

    def available(self, operation: str) -> bool:
        return self.operations[operation].document is not None

    def document(self, operation: str) -> str:
        """The document to send for `operation`, or CapabilityMissing when it cannot be."""
        document = self.operations[operation].document
        if document is None:
            field = self.operations[operation].field
            raise CapabilityMissing(capability_of(operation), f"no {field}", operation=operation)
        return document

    def variant(self, capability: str) -> tuple[str, ...]:
        """The operations of the first usable variant, or CapabilityMissing."""
        chosen = self.chosen(BY_NAME[capability])
        if chosen is None:
            fields = ", ".join(self.operations[op].field for op in BY_NAME[capability].operations)
            raise CapabilityMissing(capability, f"none of {fields}")
        return chosen

    def chosen(self, capability: Capability) -> tuple[str, ...] | None:
        """The usable operations of the first variant that has any; None: none has."""
        for variant in capability.variants:
            usable = tuple(op for op in variant if self.available(op))
            if usable:
                return usable
        return None

    def without(self, operation: str, reason: str) -> Capabilities:
        """The same, with `operation` known missing (Kraken refused it despite the schema)."""
        support = replace(self.operations[operation], document=None, problems=(reason,))
        return replace(self, operations={**self.operations, operation: support})

    # ------------------------------------------------------------ reporting

    @property
    def missing_required(self) -> list[str]:
        return [c.name for c in CAPABILITIES if c.required and self.chosen(c) is None]

    @property
    def onboarding_ready(self) -> bool:
        return not self.missing_required

    def uses(self) -> dict[str, str | None]:
        """Capability -> the Kraken field (or `select<X>ForSmartFlexOnboarding`) it uses."""
        return {c.name: self._label(self.chosen(c)) for c in CAPABILITIES}

    def _label(self, operations: tuple[str, ...] | None) -> str | None:
        if not operations:
            return None
        if len(operations) > 1:
            return "select<X>ForSmartFlexOnboarding"
        return self.operations[operations[0]].field

    def deprecations(self) -> list[Deprecation]:
        """Deprecated fields the assistant would use here (its chosen variants only)."""
        found: dict[str, Deprecation] = {}
        for capability in CAPABILITIES:
            for op in self.chosen(capability) or ():
                for deprecation in self.operations[op].deprecations:
                    found.setdefault(deprecation.coordinate, deprecation)
        return sorted(found.values())

    def summary(self) -> dict[str, Any]:
        """Compact and secret-free, for /healthz and logs."""
        uses = self.uses()
        variants = {c.name: uses[c.name] for c in CAPABILITIES if len(c.variants) > 1}
        left_out = {item for op in self.operations.values() for item in op.left_out}
        summary: dict[str, Any] = {
            "source": self.source,
            "detectedAt": datetime.fromtimestamp(self.detected_at, UTC).isoformat(),
            "onboarding": self.onboarding_ready,
            "variants": variants,
            "missing": [name for name, label in uses.items() if label is None],
            "deprecated": [d.as_json() for d in self.deprecations()],
            "leftOut": sorted(left_out),
        }
        if self.detail:
            summary["detail"] = self.detail
        return summary
