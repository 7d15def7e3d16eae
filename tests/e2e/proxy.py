"""A round-robin HTTP proxy in a thread: the load balancer in front of several web workers.

Telegram delivers a webhook to one URL; production puts a balancer there. This one sends each
request to the next backend in turn and counts which backend got which webhook call, so a
test can show that one conversation really was served by several processes.
"""

from __future__ import annotations

import itertools
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# Hop-by-hop or recomputed by the next hop.
_DROPPED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class RoundRobinProxy:
    def __init__(self, backends: list[str]) -> None:
        self._next = itertools.cycle(backends)
        self._lock = threading.Lock()
        self.hits: Counter[tuple[str, str]] = Counter()
        self.app = Starlette(routes=[Route("/{path:path}", self._forward, methods=["GET", "POST"])])

    async def _forward(self, request: Request) -> Response:
        with self._lock:
            backend = next(self._next)
            self.hits[(backend, request.url.path)] += 1
        headers = {k: v for k, v in request.headers.items() if k not in _DROPPED_HEADERS}
        async with httpx.AsyncClient(base_url=backend, timeout=30.0) as http:
            answer = await http.request(
                request.method,
                request.url.path,
                params=request.url.query,
                content=await request.body(),
                headers=headers,
            )
        kept = {k: v for k, v in answer.headers.items() if k not in _DROPPED_HEADERS}
        return Response(answer.content, status_code=answer.status_code, headers=kept)

    def backends_hit(self, path: str) -> set[str]:
        with self._lock:
            return {backend for (backend, hit), n in self.hits.items() if hit == path and n}


@contextmanager
def serving(proxy: RoundRobinProxy, port: int) -> Iterator[None]:
    """Listen on `port` before returning, so no caller can race the server's start-up."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    config = uvicorn.Config(proxy.app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
