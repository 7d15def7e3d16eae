"""The sandbox's notion of time.

Every deadline in the sandbox (token expiry, waits that resolve on a later read) goes through
one clock object, so tests move time forward with a hook instead of sleeping.
"""

from __future__ import annotations

import time


class SandboxClock:
    """Wall-clock seconds plus an offset that only ever grows."""

    def __init__(self, start: float | None = None) -> None:
        self._base = start
        self._offset = 0.0

    def now(self) -> float:
        base = time.time() if self._base is None else self._base
        return base + self._offset

    def advance(self, seconds: float) -> float:
        """Jump forward; time never runs backwards, so negative jumps are refused."""
        if seconds < 0:
            raise ValueError("the sandbox clock cannot go backwards")
        self._offset += seconds
        return self.now()
