"""A stateful emulation of Kraken's SmartFlex onboarding GraphQL API (see README.md).

The outside world for the bot: imports nothing from `kraken`, `dialogs` or `bot`.
"""

from .app import create_app
from .clock import SandboxClock
from .config import Delays, SandboxConfig
from .service import Sandbox

__all__ = ["Delays", "Sandbox", "SandboxClock", "SandboxConfig", "create_app"]
