"""Shared pydantic configuration for everything parsed off the wire."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic.alias_generators import to_camel

T = TypeVar("T")


class WireModel(BaseModel):
    """Immutable model read from camelCase JSON, constructible by snake_case name in tests."""

    model_config = ConfigDict(
        frozen=True, populate_by_name=True, alias_generator=to_camel, extra="ignore"
    )


def _compact(value: Any) -> Any:
    """GraphQL lists are nullable and may hold nulls: treat both as absent entries."""
    if value is None:
        return []
    if isinstance(value, list):
        return [item for item in value if item is not None]
    return value


CompactList = Annotated[list[T], BeforeValidator(_compact)]
