"""Scripted failures (429, 5xx, slow answers) so tests can watch a bot cope with a bad day."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sandbox.telegram.errors import SERVER_ERRORS, BotApiError, too_many_requests


@dataclass
class Fault:
    method: str
    times: int = 1
    error_code: int | None = None
    retry_after: int = 1
    delay_s: float = 0.0

    def __post_init__(self) -> None:
        if self.error_code not in (None, 429, *SERVER_ERRORS):
            raise ValueError("error_code must be 429, 500 or 502")
        if self.error_code is None and self.delay_s <= 0:
            raise ValueError("a fault needs an error_code, a timeout_s delay, or both")
        if self.times < 1:
            raise ValueError("times must be at least 1")

    def error(self) -> BotApiError | None:
        if self.error_code == 429:
            return too_many_requests(self.retry_after)
        if self.error_code is not None:
            return BotApiError(self.error_code, SERVER_ERRORS[self.error_code])
        return None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultBook:
    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self._faults.append(fault)

    def take(self, method: str) -> Fault | None:
        """Consume one use of the first fault armed for `method` (case-insensitive)."""
        for fault in self._faults:
            if fault.method.lower() == method.lower():
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self._faults.clear()

    def armed(self) -> list[dict[str, Any]]:
        return [f.to_json() for f in self._faults]
