"""`python -m bot worker`: the background notifier alone (the Procfile's `worker`).

Any number may run on one Redis: arq hands each poll job to one worker at a time. A Redis
outage does not end the process: the notifier restarts itself with backoff until Redis is
back (see `NotifierSupervisor`), and other processes see it through its heartbeat.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from bot.config import Settings
from bot.notifier import supervised, supervisor_for
from bot.runtime import open_runtime

log = logging.getLogger(__name__)


async def _run(settings: Settings) -> None:
    async with open_runtime(settings, polling=False) as runtime:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with supervised(supervisor_for(runtime)) as task:
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if task.done():
                task.result()  # the supervisor itself failed: a bug; exit non-zero with it
    log.info("notifier worker stopped")


def main(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(_run(settings))
    return 0
