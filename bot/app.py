"""`python -m bot run`: polling, the web server and the notifier in one process.

The simple deployment (and the demo): one process owns `getUpdates` — Telegram allows only
one poller per token — and also runs the arq worker, so nothing else is needed but Redis.
The worker is supervised (restarted with backoff after a Redis outage); `/healthz` fails
while it is down.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from telegram.error import TelegramError

from bot.config import Settings
from bot.handlers import publish_commands
from bot.notifier import supervised, supervisor_for
from bot.runtime import open_runtime
from bot.web import ALLOWED_UPDATES, create_web_app, serve

log = logging.getLogger(__name__)


def _polling_problem(error: TelegramError) -> None:
    """One line per failed getUpdates (PTB retries with backoff), not a traceback each time;
    a Conflict means a second poller — or a webhook — is using this bot token."""
    log.warning("getUpdates failed: %s: %s", type(error).__name__, error.message)


async def _run(settings: Settings) -> None:
    async with open_runtime(settings, polling=True) as runtime:
        application = runtime.application
        assert application.updater is not None
        await application.start()
        await publish_commands(application.bot, runtime.settings.default_locale)
        await application.updater.start_polling(
            allowed_updates=ALLOWED_UPDATES, error_callback=_polling_problem
        )
        notifier = supervisor_for(runtime)
        async with supervised(notifier):
            log.info("bot running as @%s", runtime.bot_username)
            try:
                app = create_web_app(runtime, webhook=False, notifier=notifier)
                async with runtime.sweeper().running():
                    await serve(app, runtime.settings.port)
            finally:
                await application.updater.stop()
                await application.stop()
    log.info("bot stopped")


def main(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(_run(settings))
    return 0
