"""Counting Kraken traffic at the HTTP edge, by operation and by the update that caused it."""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import httpx

from bench.driver import current_update

TOKEN_OPERATION = "ObtainKrakenToken"


@dataclass(frozen=True)
class Call:
    operation: str
    mutation: bool
    update_id: int | None


@dataclass
class CallLog:
    calls: list[Call] = field(default_factory=list)
    seconds_by_update: defaultdict[int, float] = field(default_factory=lambda: defaultdict(float))
    """Time each update spent waiting on Kraken (in-process: the sandbox's own CPU)."""

    def by_operation(self) -> Counter[str]:
        return Counter(call.operation for call in self.calls)

    def reads_after_mutation(self) -> Counter[str]:
        """Reads made while handling an update after that update's mutation: the mutation's
        answer already carried the wizard, so each of these is one call too many."""
        mutated: set[int] = set()
        redundant: Counter[str] = Counter()
        for call in self.calls:
            if call.update_id is None:
                continue
            if call.mutation and call.operation != TOKEN_OPERATION:  # auth, not the wizard
                mutated.add(call.update_id)
            elif call.update_id in mutated:
                redundant[call.operation] += 1
        return redundant


class RecordingTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, log: CallLog) -> None:
        self._inner = inner
        self._log = log

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        query = str(body.get("query") or "").lstrip()
        name = str(body.get("operationName") or query.split("(")[0].split()[-1])
        update_id = current_update.get()
        self._log.calls.append(Call(name, query.startswith("mutation"), update_id))
        started = time.perf_counter()
        try:
            return await self._inner.handle_async_request(request)
        finally:
            if update_id is not None:
                self._log.seconds_by_update[update_id] += time.perf_counter() - started
