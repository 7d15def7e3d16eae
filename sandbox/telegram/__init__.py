"""A strict offline stand-in for the Telegram Bot API, with a /sim control API and a chat page.

Imports nothing from the assistant: it plays the outside world, and a bot that passes against
it should behave the same on the real service.
"""

from sandbox.telegram.app import create_app
from sandbox.telegram.config import DEFAULT_TOKEN, DEFAULT_USERNAME, BotIdentity, EmulatorConfig
from sandbox.telegram.emulator import Emulator

__all__ = [
    "DEFAULT_TOKEN",
    "DEFAULT_USERNAME",
    "BotIdentity",
    "Emulator",
    "EmulatorConfig",
    "create_app",
]
