"""A TCP proxy in front of Redis that counts what its clients ask: commands by name and round
trips, so the benchmark can say how many times a turn waits on Redis.

It runs as its own process (`python -m bench.redisproxy --upstream URL --port P --control C`)
so its parsing is on nobody's clock but its own. A round trip is a client turning to speak
after Redis has answered on that connection: a pipeline or a Lua script is one, however many
commands it carries, and a command split over several writes is still one. The control port
answers one line of JSON per `stats` line and zeroes the counts on `reset`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit


class RespCommands:
    """Incremental parser of the client side of RESP: yields each command's name."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[str]:
        self._buffer += data
        names: list[str] = []
        while (parsed := self._one()) is not None:
            consumed, name = parsed
            del self._buffer[:consumed]
            names.append(name)
        return names

    def _line(self, start: int) -> tuple[int, bytes] | None:
        end = self._buffer.find(b"\r\n", start)
        return None if end < 0 else (end + 2, bytes(self._buffer[start:end]))

    def _one(self) -> tuple[int, str] | None:
        """(bytes consumed, command name) of the first complete command, or None."""
        if not self._buffer:
            return None
        if self._buffer[0:1] != b"*":  # an inline command: one line
            line = self._line(0)
            if line is None:
                return None
            return line[0], line[1].split(b" ", 1)[0].decode(errors="replace").upper()
        header = self._line(0)
        if header is None:
            return None
        position, count = header[0], int(header[1][1:])
        name = ""
        for index in range(count):
            length_line = self._line(position)
            if length_line is None:
                return None
            start = length_line[0]
            end = start + int(length_line[1][1:])
            if len(self._buffer) < end + 2:
                return None
            if index == 0:
                name = bytes(self._buffer[start:end]).decode(errors="replace").upper()
            position = end + 2
        return position, name


@dataclass
class Counts:
    commands: Counter[str] = field(default_factory=Counter)
    round_trips: int = 0
    connections: int = 0

    def as_json(self) -> str:
        return json.dumps(
            {
                "commands": dict(self.commands),
                "round_trips": self.round_trips,
                "connections": self.connections,
            }
        )


class RedisCountingProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self.counts = Counts()

    async def client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self.counts.connections += 1
        parser = RespCommands()
        answered = [True]  # Redis has spoken since the client last did

        async def upstream() -> None:
            while data := await reader.read(65536):
                if answered[0]:
                    self.counts.round_trips += 1
                    answered[0] = False
                self.counts.commands.update(parser.feed(data))
                up_writer.write(data)
                await up_writer.drain()

        async def downstream() -> None:
            while data := await up_reader.read(65536):
                answered[0] = True
                writer.write(data)
                await writer.drain()

        tasks = [asyncio.create_task(upstream()), asyncio.create_task(downstream())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                    await task
            for w in (writer, up_writer):
                w.close()

    async def control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            if line.strip() == b"reset":
                self.counts = Counts(connections=self.counts.connections)
            writer.write(self.counts.as_json().encode() + b"\n")
            await writer.drain()
        writer.close()


async def read_counts(port: int, *, reset: bool = False) -> dict[str, object]:
    """The proxy's counts so far (and zero them with `reset`)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"reset\n" if reset else b"stats\n")
        await writer.drain()
        answer: dict[str, object] = json.loads(await reader.readline())
        return answer
    finally:
        writer.close()


async def serve(upstream: str, port: int, control: int) -> None:
    parts = urlsplit(upstream)
    proxy = RedisCountingProxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    front = await asyncio.start_server(proxy.client, "127.0.0.1", port)
    side = await asyncio.start_server(proxy.control, "127.0.0.1", control)
    async with front, side:
        await asyncio.gather(front.serve_forever(), side.serve_forever())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.redisproxy", description=__doc__)
    parser.add_argument("--upstream", required=True, help="redis://host:port of the real Redis")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control", type=int, required=True)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.upstream, args.port, args.control))


if __name__ == "__main__":
    main()
