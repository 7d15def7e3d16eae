"""The ResiFlex EU mutations reference (../shared/seeds, S3), parsed: what `eu` serves verbatim.

`data/` holds a copy so the tests run without the shared folder; a test checks the copy still
equals the shared seed when that folder is there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SEED_NAME = "kraken-mutations-reference.txt"
SEED_COPY = Path(__file__).with_name("data") / SEED_NAME
SHARED_SEED = Path(__file__).parents[3] / "shared" / "seeds" / SEED_NAME
_FIELD = re.compile(r"^(\w+) \(([^)]+)\)$", re.MULTILINE)
_SECTION = re.compile(r"\n\n([a-z]\w+)\n\nType:(\w+)\n")


@dataclass(frozen=True)
class SeedMutation:
    name: str
    payload: str  # the "Type:" line
    arguments: dict[str, str]  # name -> type as printed, e.g. "AccountNumberInput"
    deprecation: str | None  # the text under "Deprecated", after "The 'x' field is deprecated."
    errors: dict[str, str]  # code -> message
    return_fields: dict[str, str]  # name -> type
    return_deprecations: dict[str, str]


def _deprecation(block: str, name: str) -> str | None:
    marker = f"Deprecated\n\nThe '{name}' field is deprecated.\n\n"
    if marker not in block:
        return None
    return block.split(marker, 1)[1].strip()


def _fields(section: str) -> tuple[dict[str, str], dict[str, str]]:
    """`name (Type)` lines and, per field, its deprecation text (up to the next field)."""
    fields, deprecations = {}, {}
    matches = list(_FIELD.finditer(section))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        name, type_name = match.groups()
        fields[name] = type_name
        body = section[match.end() : following.start() if following else len(section)]
        text = _deprecation(body, name)
        if text is not None:
            deprecations[name] = text
    return fields, deprecations


def _parse(text: str) -> dict[str, SeedMutation]:
    starts = list(_SECTION.finditer(text))
    mutations = {}
    for match, following in zip(starts, [*starts[1:], None], strict=True):
        name, payload = match.groups()
        body = text[match.end() : following.start() if following else len(text)]
        head, _, rest = body.partition("\n\nArguments\n\n")
        arguments_part, _, returns_part = rest.partition("\n\nReturn fields\n\n")
        returns_part = returns_part.split("\n\nMutation\n\n", 1)[0]
        arguments, _ = _fields(arguments_part)
        return_fields, return_deprecations = _fields(returns_part)
        mutations[name] = SeedMutation(
            name=name,
            payload=payload,
            arguments=arguments,
            deprecation=_deprecation(head, name),
            errors=dict(re.findall(r"• (KT-[A-Z]+-\d+): (.+)", head)),
            return_fields=return_fields,
            return_deprecations=return_deprecations,
        )
    return mutations


@cache
def seed_text() -> str:
    return SEED_COPY.read_text(encoding="utf-8")


@cache
def seed_mutations() -> dict[str, SeedMutation]:
    return _parse(seed_text())


def seed_error_messages() -> dict[str, str]:
    """Every KT code the seed lists, with its message (the seed never gives two)."""
    return {code: message for m in seed_mutations().values() for code, message in m.errors.items()}
