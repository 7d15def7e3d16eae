"""The `/bot<token>/<method>` endpoint: authentication, faults, flood control, the outbox."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.telegram.emulator import BotWorld, Emulator
from sandbox.telegram.errors import NOT_FOUND, UNAUTHORIZED, BotApiError, too_many_requests
from sandbox.telegram.faults import Fault
from sandbox.telegram.methods import METHODS, canonical_name
from sandbox.telegram.params import Params, read_params

# Methods that put a message in front of a user count against Telegram's flood limits.
RATE_LIMITED = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendVoice",
        "sendAudio",
        "editMessageText",
        "editMessageReplyMarkup",
    }
)


async def bot_api_endpoint(request: Request) -> JSONResponse:
    emulator: Emulator = request.app.state.emulator
    world = emulator.worlds.get(request.path_params["token"])
    if world is None:
        return JSONResponse(UNAUTHORIZED.payload(), status_code=401)
    requested = request.path_params["method"]
    name = canonical_name(requested) or requested
    params = Params({})
    fault: Fault | None = None
    try:
        params = await read_params(request)
        if name not in METHODS:
            raise NOT_FOUND
        fault = emulator.faults.take(name)
        body = await _call(emulator, world, name, params, fault)
    except BotApiError as refusal:
        body = refusal.payload()
    emulator.record(world, name, params.public(), body)
    if fault is not None and fault.delay_s > 0:
        # The call took effect (or failed) but the answer arrives after the client gave up.
        await asyncio.sleep(fault.delay_s)
    status = 200 if body["ok"] else int(body["error_code"])
    return JSONResponse(body, status_code=status)


async def _call(
    emulator: Emulator, world: BotWorld, name: str, params: Params, fault: Fault | None
) -> dict[str, Any]:
    if fault is not None and (injected := fault.error()) is not None:
        raise injected
    if emulator.config.rate_limits_enabled and name in RATE_LIMITED and params.has("chat_id"):
        chat_id = params.integer("chat_id")
        assert chat_id is not None
        wait = emulator.limiter.acquire(world.username, chat_id, emulator.now())
        if wait is not None:
            raise too_many_requests(wait)
    result = await METHODS[name](emulator, world, params)
    return {"ok": True, "result": result}


async def file_download_endpoint(request: Request) -> Response:
    """`/file/bot<token>/<file_path>`: the bytes of a file getFile handed out a path for."""
    emulator: Emulator = request.app.state.emulator
    world = emulator.worlds.get(request.path_params["token"])
    if world is None:
        return JSONResponse(UNAUTHORIZED.payload(), status_code=401)
    file_id = world.file_paths.get(request.path_params["file_path"])
    stored = world.files.get(file_id) if file_id else None
    if stored is None or stored.data is None:
        return JSONResponse(NOT_FOUND.payload(), status_code=404)
    return Response(stored.data, media_type=stored.content_type or "application/octet-stream")
