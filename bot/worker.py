"""`python -m bot worker`: the background notifier alone (the Procfile's `worker`).

Any number may run on one Redis: arq hands each poll job to one worker at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from bot.config import Settings
from bot.notifier import running_worker
from bot.runtime import open_runtime

log = logging.getLogger(__name__)


async def _run(settings: Settings) -> None:
    async with open_runtime(settings, polling=False) as runtime:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with running_worker(runtime.notifier_worker()) as task:
            rearmed = await runtime.polls.rearm()
            log.info("notifier worker running; %d waits re-armed", rearmed)
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()


def main(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(_run(settings))
    return 0
