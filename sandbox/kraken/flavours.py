"""The schema each flavour serves, built from one source.

`schema.graphql` is what every instance serves (the ResiFlex EU seed's mutations, verbatim);
`schema_uk.graphql` overlays what the UK instance adds or words differently: a field it
redeclares replaces the base one (e.g. other deprecation dates). Two source-only directives
are expanded and stripped here, before ariadne sees the SDL:

- `@dates(marked, removal, announcement)` next to `@deprecated(reason)`: the reason served is
  Kraken's own wording, "<reason>\\n\\n- Marked as deprecated on <marked>.\\n- Scheduled for
  removal on or after <removal>." (+ the announcement link), as the seed prints it;
- `@compat`: not documented for the EU instance, served by `eu` anyway because the bot's
  documents (kraken/operations) select it. `compat_names()` lists them, so
  `schema_sdl("eu", removed=compat_names())` is the EU instance as the seeds describe it.

`removed` (names `Type.member`, a bare Query/Mutation field, or a type) and `date` (every
deprecated member whose removal date is on or before it) prune the merged SDL the way an
instance that dropped them would: what only they used disappears with them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from graphql import (
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ListTypeNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    StringValueNode,
    TypeDefinitionNode,
    TypeNode,
    parse,
    print_ast,
)
from graphql.language import ArgumentNode, NameNode

FLAVOURS = ("eu", "uk")
DEFAULT_FLAVOUR = "eu"
BASE_PATH = Path(__file__).with_name("schema.graphql")
UK_PATH = Path(__file__).with_name("schema_uk.graphql")
ROOTS = ("Query", "Mutation")
_SOURCE_DIRECTIVES = frozenset({"dates", "compat"})
_EXTENSIONS = (
    ObjectTypeExtensionNode,
    InterfaceTypeExtensionNode,
    InputObjectTypeExtensionNode,
    EnumTypeExtensionNode,
)
_WITH_MEMBERS = (
    ObjectTypeDefinitionNode,
    InterfaceTypeDefinitionNode,
    InputObjectTypeDefinitionNode,
    EnumTypeDefinitionNode,
)


class SchemaError(ValueError):
    """A flavour, name or date the sandbox cannot build a schema from."""


def deprecation_text(
    reason: str, marked: str | None, removal: str | None, announcement: str | None
) -> str:
    """Kraken's wording of a deprecation, as the seed prints it under "Deprecated"."""
    dates = [f"- Marked as deprecated on {marked}."] if marked else []
    dates += [f"- Scheduled for removal on or after {removal}."] if removal else []
    text = "\n\n".join([reason, "\n".join(dates)]) if dates else reason
    if announcement:
        text += f"\n\nYou can read more about this deprecation on:\n{announcement}"
    return text


def schema_sdl(
    flavour: str = DEFAULT_FLAVOUR,
    removed: Iterable[str] = (),
    date: dt.date | None = None,
) -> str:
    """The SDL a flavour serves, without `removed` and without what `date` has removed."""
    return _schema_sdl(flavour, tuple(sorted(set(removed))), date)


@cache
def _schema_sdl(flavour: str, removed: tuple[str, ...], date: dt.date | None) -> str:
    definitions = _merged(flavour)
    doomed = _resolve(definitions, removed) | _expired(definitions, date)
    pruned = _prune(definitions, doomed)
    served = [_served(d) for d in pruned if not isinstance(d, DirectiveDefinitionNode)]
    return print_ast(DocumentNode(definitions=tuple(served)))


def compat_names() -> tuple[str, ...]:
    """What `eu` serves only because the bot selects it (see the module docstring)."""
    names = []
    for node in _merged("eu"):
        if _has(node, "compat"):
            names.append(node.name.value)
        names += [f"{node.name.value}.{m.name.value}" for m in _members(node) if _has(m, "compat")]
    return tuple(names)


def removal_dates(flavour: str = DEFAULT_FLAVOUR) -> dict[str, dt.date]:
    """`Type.member` -> the date on or after which the flavour's instance may drop it."""
    dates = {}
    for node in _merged(flavour):
        for member in _members(node):
            removal = _argument(member, "dates", "removal")
            if removal is not None:
                dates[f"{node.name.value}.{member.name.value}"] = dt.date.fromisoformat(removal)
    return dates


# --- merging the source documents ----------------------------------------------------------


@cache
def _document(path: Path) -> DocumentNode:
    return parse(path.read_text(encoding="utf-8"))


def _merged(flavour: str) -> tuple[Any, ...]:
    if flavour not in FLAVOURS:
        raise SchemaError(f"unknown flavour {flavour!r}; choose from {', '.join(FLAVOURS)}")
    definitions = list(_document(BASE_PATH).definitions)
    index = {_name(d): i for i, d in enumerate(definitions) if _name(d)}
    compat_only = flavour != "uk"
    for node in _document(UK_PATH).definitions:
        if isinstance(node, _EXTENSIONS):
            position = index[node.name.value]
            target = definitions[position]
            members = {m.name.value: m for m in _members(target)}
            for member in _members(node):
                if not compat_only or _has(member, "compat"):
                    members[member.name.value] = member  # a redeclared member replaces
            definitions[position] = _with_members(target, members.values())
        elif isinstance(node, TypeDefinitionNode) and (not compat_only or _has(node, "compat")):
            index[node.name.value] = len(definitions)
            definitions.append(node)
    return tuple(definitions)


def _served(node: Any) -> Any:
    """Expand `@dates` into the deprecation reason and drop the source-only directives."""
    node = _strip(node)
    if isinstance(node, _WITH_MEMBERS):
        node = _with_members(node, [_strip(m) for m in _members(node)])
    return node


def _strip(node: Any) -> Any:
    dates = {
        arg.name.value: arg.value.value
        for d in node.directives or ()
        if d.name.value == "dates"
        for arg in d.arguments or ()
    }
    directives = []
    for directive in node.directives or ():
        if directive.name.value in _SOURCE_DIRECTIVES:
            continue
        if directive.name.value == "deprecated" and dates:
            reason = deprecation_text(
                _argument(node, "deprecated", "reason") or "No longer supported",
                dates.get("marked"),
                dates.get("removal"),
                dates.get("announcement"),
            )
            directive = replace(directive, arguments=(_string_argument("reason", reason),))
        directives.append(directive)
    return replace(node, directives=tuple(directives))


# --- pruning -------------------------------------------------------------------------------


def _resolve(definitions: Sequence[Any], names: Iterable[str]) -> set[str]:
    """Check each removal name against the schema; `field` alone means a root field."""
    types = {_name(d): d for d in definitions if _name(d)}
    doomed = set()
    for raw in names:
        name = raw.strip()
        if "." in name:
            owner, _, member = name.partition(".")
            if member not in {m.name.value for m in _members(types.get(owner))}:
                raise SchemaError(f"--removed {name}: no such field in this flavour")
            doomed.add(name)
            continue
        roots = [r for r in ROOTS if name in {m.name.value for m in _members(types.get(r))}]
        if roots:
            doomed.update(f"{r}.{name}" for r in roots)
        elif name in types and name not in ROOTS:
            doomed.add(name)
        else:
            raise SchemaError(
                f"--removed {name}: not a Query or Mutation field, a type, or Type.field "
                "of this flavour"
            )
    return doomed


def _expired(definitions: Sequence[Any], date: dt.date | None) -> set[str]:
    if date is None:
        return set()
    doomed = set()
    for node in definitions:
        for member in _members(node):
            removal = _argument(member, "dates", "removal")
            if removal is not None and dt.date.fromisoformat(removal) <= date:
                doomed.add(f"{node.name.value}.{member.name.value}")
    return doomed


def _prune(definitions: Sequence[Any], doomed: set[str]) -> list[Any]:
    """Drop the doomed types and members, then what referred to a dropped type, then the
    types that only the dropped parts reached."""
    if not doomed:
        return list(definitions)
    reachable_before = _reachable(definitions)
    gone = {d for d in doomed if "." not in d}
    kept = list(definitions)
    while True:
        known = len(gone)
        survivors = []
        for node in kept:
            if _name(node) in gone:
                continue
            if isinstance(node, _WITH_MEMBERS):
                members = [
                    m
                    for m in _members(node)
                    if f"{node.name.value}.{m.name.value}" not in doomed
                    and not _references(m) & gone
                ]
                if not members:
                    gone.add(node.name.value)
                    continue
                node = _with_members(node, members)
            if getattr(node, "interfaces", None):
                node = replace(
                    node, interfaces=tuple(i for i in node.interfaces if i.name.value not in gone)
                )
            survivors.append(node)
        kept = survivors
        if len(gone) == known:
            break
    if gone & set(ROOTS):
        raise SchemaError("that would leave Query or Mutation without a single field")
    orphaned = reachable_before - _reachable(kept)
    return [d for d in kept if _name(d) not in orphaned]


def _reachable(definitions: Sequence[Any]) -> set[str]:
    """Types reachable from the roots (an interface reaches its implementations)."""
    types = {_name(d): d for d in definitions if _name(d)}
    implementers: dict[str, set[str]] = {}
    for node in definitions:
        for interface in getattr(node, "interfaces", None) or ():
            implementers.setdefault(interface.name.value, set()).add(node.name.value)
    seen: set[str] = set()
    todo = [r for r in ROOTS if r in types]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        node = types.get(name)
        if node is None:
            continue
        refs = set().union(*(_references(m) for m in _members(node))) if _members(node) else set()
        refs |= {i.name.value for i in getattr(node, "interfaces", None) or ()}
        refs |= implementers.get(name, set())
        todo += [r for r in refs if r not in seen]
    return seen


def _references(member: Any) -> set[str]:
    """Named types a field, input field or enum value uses (its type and argument types)."""
    found = set()
    if getattr(member, "type", None) is not None:
        found.add(_named(member.type))
    for argument in getattr(member, "arguments", None) or ():
        found.add(_named(argument.type))
    return found


# --- AST helpers ---------------------------------------------------------------------------


def _named(type_node: TypeNode) -> str:
    while isinstance(type_node, ListTypeNode | NonNullTypeNode):
        type_node = type_node.type
    return str(type_node.name.value)  # type: ignore[attr-defined]


def _name(node: Any) -> str | None:
    return node.name.value if isinstance(node, TypeDefinitionNode) else None


def _members(node: Any) -> tuple[Any, ...]:
    if isinstance(node, EnumTypeDefinitionNode | EnumTypeExtensionNode):
        return tuple(node.values or ())
    return tuple(getattr(node, "fields", None) or ())


def _with_members(node: Any, members: Iterable[Any]) -> Any:
    attribute = "values" if isinstance(node, EnumTypeDefinitionNode) else "fields"
    return replace(node, **{attribute: tuple(members)})


def _has(node: Any, directive: str) -> bool:
    return any(d.name.value == directive for d in _directives(node))


def _directives(node: Any) -> Iterator[DirectiveNode]:
    yield from getattr(node, "directives", None) or ()


def _argument(node: Any, directive: str, argument: str) -> str | None:
    for d in _directives(node):
        if d.name.value == directive:
            for arg in d.arguments or ():
                if arg.name.value == argument and isinstance(arg.value, StringValueNode):
                    return str(arg.value.value)
    return None


def _string_argument(name: str, value: str) -> ArgumentNode:
    return ArgumentNode(name=NameNode(value=name), value=StringValueNode(value=value))
