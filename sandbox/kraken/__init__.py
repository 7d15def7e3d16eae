"""A stateful emulation of Kraken's SmartFlex onboarding GraphQL API (see README.md).

The outside world for the bot: imports nothing from `kraken`, `dialogs` or `bot`.
"""

from .app import create_app
from .clock import SandboxClock
from .config import Delays, SandboxConfig
from .flavours import FLAVOURS, SchemaError, compat_names, removal_dates, schema_sdl
from .service import Sandbox

__all__ = [
    "FLAVOURS",
    "Delays",
    "Sandbox",
    "SandboxClock",
    "SandboxConfig",
    "SchemaError",
    "compat_names",
    "create_app",
    "removal_dates",
    "schema_sdl",
]
