"""One sandbox instance: configuration, clock and the state that `/sandbox/reset` wipes."""

from __future__ import annotations

from .auth import TokenService
from .catalog import Catalog, load_catalog
from .clock import SandboxClock
from .config import SandboxConfig
from .engine import WizardEngine
from .faults import FaultRegistry


class Sandbox:
    """What in-process tests reach through `app.state.sandbox`."""

    def __init__(self, config: SandboxConfig, clock: SandboxClock | None = None) -> None:
        self.config = config
        self.clock = clock or SandboxClock()
        self.catalog: Catalog = load_catalog()
        self.faults = FaultRegistry()
        self.tokens = TokenService(config, self.clock)
        self.engine = WizardEngine(config, self.clock, self.catalog)

    def reset(self) -> None:
        """Forget wizards, devices, scenarios, faults and tokens; the clock keeps its time."""
        self.faults.clear()
        self.tokens = TokenService(self.config, self.clock)
        self.engine = WizardEngine(self.config, self.clock, self.catalog)
