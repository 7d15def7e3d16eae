"""`python -m bot worker`: the background notifier alone (the Procfile's `worker`).

Any number may run on one Redis: arq hands each poll job to one worker at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from bot.config import Settings
from bot.runtime import open_runtime

log = logging.getLogger(__name__)


async def _run(settings: Settings) -> None:
    async with open_runtime(settings, polling=False) as runtime:
        worker = runtime.notifier_worker()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        task = asyncio.create_task(worker.async_run())  # type: ignore[attr-defined]
        rearmed = await runtime.polls.rearm()
        log.info("notifier worker running; %d waiting wizards re-armed", rearmed)
        await asyncio.wait(
            [task, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
        )
        await worker.close()  # type: ignore[attr-defined]
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def main(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(_run(settings))
    return 0
