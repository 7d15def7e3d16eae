"""The background notifier: arq jobs that look at waiting wizards and tell the user.

Exactly once across workers: arq runs one job per id at a time, the turn itself runs under
the chat lock, and the engine only speaks when the stored step differs from Kraken's — so a
change seen by two looks (or by the user's own "check now") is announced once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from arq import Retry
from arq.connections import ArqRedis
from arq.worker import Worker, func
from telegram.error import TelegramError

from bot.polling import POLL_FUNCTION, PollScheduler
from bot.screens import wait_overdue
from bot.service import ChatService, PollResult
from bot.state.keys import KeySpace
from kraken.errors import ErrorCategory, KrakenError

log = logging.getLogger(__name__)

JOB_TIMEOUT_S = 20.0


@dataclass
class NotifierContext:
    service: ChatService
    polls: PollScheduler


async def poll_wizard(
    ctx: dict[str, Any], chat_id: int, wizard_id: str, step_id: str | None
) -> str:
    notifier: NotifierContext = ctx["notifier"]
    attempt: int = ctx.get("job_try", 1)
    policy = notifier.polls.policy
    scheduled_ms = ctx.get("score")
    if scheduled_ms:
        notifier.service.metrics.notifier_lag.observe(max(0.0, time.time() - scheduled_ms / 1000))
    try:
        result = await notifier.service.poll(chat_id, wizard_id, step_id)
    except TelegramError as error:
        # The news is still news (the turn was not saved): tell it on the next look.
        log.warning("poll of wizard %s could not reach the chat: %s", wizard_id, error)
        result = PollResult.WAITING
    except KrakenError as error:
        if error.category not in (ErrorCategory.RETRY, ErrorCategory.REAUTHENTICATE):
            log.warning("poll of wizard %s stopped: %s", wizard_id, error.code)
            await notifier.polls.forget(chat_id, wizard_id)
            return "error"
        result = PollResult.WAITING
    if result is PollResult.WAITING:
        if attempt >= policy.max_tries():
            await notifier.polls.forget(chat_id, wizard_id)
            await notifier.service.say(
                chat_id, [await wait_overdue(notifier.service, chat_id)], None
            )
            return "overdue"
        raise Retry(defer=policy.delay(attempt))
    await notifier.polls.forget(chat_id, wizard_id, step_id)
    return str(result.value)


@contextlib.asynccontextmanager
async def running_worker(worker: Worker) -> AsyncIterator[asyncio.Task[None]]:
    """Run the arq worker beside whatever else this process does; stop it on the way out."""
    task = asyncio.create_task(worker.async_run())
    try:
        yield task
    finally:
        await worker.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def build_worker(
    arq: ArqRedis, keys: KeySpace, notifier: NotifierContext, **options: Any
) -> Worker:
    policy = notifier.polls.policy
    return Worker(
        functions=[
            func(
                poll_wizard,
                name=POLL_FUNCTION,
                max_tries=policy.max_tries() + 1,
                timeout=JOB_TIMEOUT_S,
            )
        ],
        redis_pool=arq,
        queue_name=keys.job_queue(),
        ctx={"notifier": notifier},
        keep_result=0,
        poll_delay=0.2,
        handle_signals=False,
        max_jobs=50,
        **options,
    )
