"""The GraphQL documents the client sends, one `.graphql` file per operation.

Loaded once at import. Each document is sent with exactly the fragments it uses (transitively),
because GraphQL rejects documents that define fragments they never spread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    Node,
    OperationDefinitionNode,
    OperationType,
    Visitor,
    parse,
    visit,
)

FRAGMENTS_FILE = "fragments.graphql"


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    document: str
    is_mutation: bool
    root_field: str
    """The top-level field the result sits under in `data`."""


class _SpreadCollector(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
        self.names.add(node.name.value)


def collect_spreads(node: Node) -> set[str]:
    """Names of the fragments spread anywhere below `node`."""
    collector = _SpreadCollector()
    visit(node, collector)
    return collector.names


def _load_fragments(source: str) -> dict[str, tuple[str, set[str]]]:
    """Fragment name -> (its source text, fragments it spreads)."""
    fragments: dict[str, tuple[str, set[str]]] = {}
    for definition in parse(source).definitions:
        if isinstance(definition, FragmentDefinitionNode) and definition.loc is not None:
            text = source[definition.loc.start : definition.loc.end]
            fragments[definition.name.value] = (text, collect_spreads(parse(text)))
    return fragments


def _with_fragments(source: str, fragments: Mapping[str, tuple[str, set[str]]]) -> str:
    needed: list[str] = []
    pending = sorted(collect_spreads(parse(source)))
    while pending:
        name = pending.pop(0)
        if name in needed:
            continue
        if name not in fragments:
            raise LookupError(f"Unknown fragment {name!r}")
        needed.append(name)
        pending.extend(sorted(fragments[name][1]))
    return "\n\n".join([source.strip(), *(fragments[name][0] for name in needed)]) + "\n"


def _operation(name: str, source: str, fragments: Mapping[str, tuple[str, set[str]]]) -> Operation:
    definitions = [d for d in parse(source).definitions if isinstance(d, OperationDefinitionNode)]
    if len(definitions) != 1 or definitions[0].name is None or definitions[0].name.value != name:
        raise ValueError(f"{name}.graphql must hold exactly one operation named {name}")
    definition = definitions[0]
    is_mutation = definition.operation is OperationType.MUTATION
    root = definition.selection_set.selections[0]
    if not isinstance(root, FieldNode):
        raise ValueError(f"{name}.graphql must select one root field")
    return Operation(name, _with_fragments(source, fragments), is_mutation, root.name.value)


def _load() -> Mapping[str, Operation]:
    folder = resources.files(__name__)
    fragments = _load_fragments(folder.joinpath(FRAGMENTS_FILE).read_text(encoding="utf-8"))
    operations = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".graphql") and entry.name != FRAGMENTS_FILE:
            name = entry.name.removesuffix(".graphql")
            operations[name] = _operation(name, entry.read_text(encoding="utf-8"), fragments)
    return MappingProxyType(operations)


OPERATIONS: Mapping[str, Operation] = _load()
"""Operation name (= file name without `.graphql`) -> complete document to send."""
