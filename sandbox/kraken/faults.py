"""Fault injection (`POST /sandbox/faults`): make the next N matching requests fail or lag."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Fault:
    """Matches an operation by its GraphQL operation name or any top-level field name."""

    operation: str
    times: int = 1
    code: str | None = None
    http_status: int | None = None
    latency_ms: float = 0.0


class FaultRegistry:
    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        if fault.times > 0:
            self._faults.append(fault)

    def clear(self) -> None:
        self._faults.clear()

    def pending(self) -> list[Fault]:
        return list(self._faults)

    def take(self, names: set[str]) -> Fault | None:
        """The first armed fault for any of `names`, counting one use of it."""
        for fault in self._faults:
            if fault.operation in names:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None
