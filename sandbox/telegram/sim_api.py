"""The `/sim` control API: act as users, read transcripts, inject faults, watch for changes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from sandbox.telegram.emulator import Emulator, SimError
from sandbox.telegram.errors import BotApiError
from sandbox.telegram.faults import Fault
from sandbox.telegram.media import MediaError, user_audio_file, user_voice_note
from sandbox.telegram.params import UploadedFile, read_params
from sandbox.telegram.transcript import transcript_json, transcript_text

MAX_WAIT_S = 60.0


def _emulator(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise SimError(400, "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise SimError(400, "the body must be a JSON object")
    return body


def _int(value: Any, name: str, *, required: bool = True) -> int | None:
    if value is None or value == "":
        if required:
            raise SimError(400, f"{name} is required")
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SimError(400, f"{name} must be an integer") from None


def _user_id(value: Any) -> int:
    user_id = _int(value, "user_id")
    assert user_id is not None
    return user_id


Endpoint = Callable[[Request], Awaitable[Response]]


def _sim(handler: Endpoint) -> Endpoint:
    """Turn SimError into a JSON error answer so test failures say what was wrong."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except SimError as error:
            return JSONResponse({"error": error.message}, status_code=error.status)

    return endpoint


async def post_message(request: Request) -> Response:
    emulator, body = _emulator(request), await _body(request)
    world = emulator.world(body.get("bot"))
    profile = {field: str(body[field]) for field in _PROFILE_FIELDS if body.get(field)}
    message, update_id = await emulator.user_says(
        world, _user_id(body.get("user_id")), str(body.get("text") or ""), profile
    )
    return JSONResponse({"message_id": message.message_id, "update_id": update_id})


_PROFILE_FIELDS = ("first_name", "last_name", "username", "language_code")


async def _upload(request: Request) -> tuple[dict[str, str], UploadedFile]:
    """Fields and the file of a /sim/voice or /sim/audio call: multipart (a `file` part and
    form fields), or the raw bytes as the body with the fields in the query string."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        try:
            params = await read_params(request)
        except BotApiError as error:
            raise SimError(400, error.description) from None
        fields = {k: str(v) for k, v in params.values.items() if not isinstance(v, UploadedFile)}
        files = [v for v in params.values.values() if isinstance(v, UploadedFile)]
        if not files:
            raise SimError(400, "attach the recording as a file part")
        return fields, files[0]
    body = await request.body()
    name = request.query_params.get("file_name") or "recording"
    return dict(request.query_params), UploadedFile(name, content_type, body)


async def _post_audio(request: Request, kind: str) -> Response:
    emulator = _emulator(request)
    fields, upload = await _upload(request)
    world = emulator.world(fields.get("bot") or None)
    profile = {f: fields[f] for f in _PROFILE_FIELDS if fields.get(f)}
    try:
        if kind == "voice":
            audio = user_voice_note(upload.data, upload.content_type)
        else:
            audio = user_audio_file(upload.data, upload.filename, upload.content_type)
    except MediaError as error:
        raise SimError(400, str(error)) from None
    message, update_id = await emulator.user_sends_audio(
        world, _user_id(fields.get("user_id")), audio, profile, fields.get("caption", "")
    )
    media = audio.media
    return JSONResponse(
        {
            "message_id": message.message_id,
            "update_id": update_id,
            "file_id": media.file_id,
            "duration": media.duration,
            "mime_type": media.mime_type,
            "file_size": media.size,
        }
    )


async def post_voice(request: Request) -> Response:
    """The user records a voice note (any audio; converted to OGG/Opus as Telegram does)."""
    return await _post_audio(request, "voice")


async def post_audio(request: Request) -> Response:
    """The user sends an audio file (kept as it is)."""
    return await _post_audio(request, "audio")


async def post_callback(request: Request) -> Response:
    emulator, body = _emulator(request), await _body(request)
    world = emulator.world(body.get("bot"))
    query, update_id = await emulator.user_taps(
        world,
        _user_id(body.get("user_id")),
        label=body.get("label"),
        data=body.get("data"),
        message_id=_int(body.get("message_id"), "message_id", required=False),
    )
    answer = {"callback_query_id": query.query_id, "message_id": query.message_id}
    return JSONResponse({**answer, "update_id": update_id})


async def post_open_url(request: Request) -> Response:
    emulator, body = _emulator(request), await _body(request)
    world = emulator.world(body.get("bot"))
    label = body.get("label")
    if not isinstance(label, str):
        raise SimError(400, "label is required")
    url = await emulator.user_opens_url(
        world,
        _user_id(body.get("user_id")),
        label,
        _int(body.get("message_id"), "message_id", required=False),
    )
    return JSONResponse({"url": url})


async def get_chat(request: Request) -> Response:
    emulator = _emulator(request)
    world = emulator.world(request.query_params.get("bot"))
    user_id = _user_id(request.path_params["user_id"])
    if request.query_params.get("format") == "text":
        return PlainTextResponse(transcript_text(world, user_id))
    return JSONResponse(transcript_json(emulator, world, user_id))


async def get_chats(request: Request) -> Response:
    emulator = _emulator(request)
    world = emulator.world(request.query_params.get("bot"))
    return JSONResponse(
        [{"user_id": chat.chat_id, "user": chat.user} for chat in world.chats.values()]
    )


async def get_outbox(request: Request) -> Response:
    emulator = _emulator(request)
    method = request.query_params.get("method")
    since = _int(request.query_params.get("since"), "since", required=False) or 0
    entries = [
        entry.to_json()
        for entry in emulator.outbox
        if entry.seq > since and (method is None or entry.method.lower() == method.lower())
    ]
    return JSONResponse(entries)


async def post_faults(request: Request) -> Response:
    emulator, body = _emulator(request), await _body(request)
    try:
        fault = Fault(
            method=str(body["method"]),
            times=int(body.get("times", 1)),
            error_code=body.get("error_code"),
            retry_after=int(body.get("retry_after", 1)),
            delay_s=float(body.get("timeout_s", 0.0)),
        )
    except KeyError:
        raise SimError(400, "method is required") from None
    except (TypeError, ValueError) as error:
        raise SimError(400, str(error)) from None
    emulator.faults.add(fault)
    return JSONResponse({"armed": emulator.faults.armed()})


async def delete_faults(request: Request) -> Response:
    _emulator(request).faults.clear()
    return JSONResponse({"armed": []})


async def post_reset(request: Request) -> Response:
    await _emulator(request).reset()
    return JSONResponse({"ok": True})


async def get_state(request: Request) -> Response:
    return JSONResponse(_emulator(request).state())


async def post_config(request: Request) -> Response:
    emulator, body = _emulator(request), await _body(request)
    if "rate_limits" in body:
        emulator.config.rate_limits_enabled = bool(body["rate_limits"])
        emulator.limiter.reset()
    if "callback_answer_deadline_s" in body:
        try:
            emulator.config.callback_answer_deadline_s = float(body["callback_answer_deadline_s"])
        except (TypeError, ValueError):
            raise SimError(400, "callback_answer_deadline_s must be a number") from None
    return JSONResponse(emulator.state())


async def get_wait(request: Request) -> Response:
    """Long poll: answers once the chat (or anything) changed after `after_version`."""
    emulator, query = _emulator(request), request.query_params
    after = _int(query.get("after_version"), "after_version", required=False) or 0
    timeout = min(float(query.get("timeout") or 10.0), MAX_WAIT_S)
    user_id = _int(query.get("user_id"), "user_id", required=False)
    key = None if user_id is None else (emulator.world(query.get("bot")).username, user_id)
    version = await emulator.feed.wait(after, timeout, key)
    return JSONResponse({"version": version, "changed": version > after})


async def get_events(request: Request) -> Response:
    """Server-sent events for the web page: one event per batch of chat changes."""
    emulator = _emulator(request)

    async def stream() -> AsyncIterator[str]:
        yield "retry: 1000\n\n"
        async for batch in emulator.feed.stream():
            if not batch:
                yield ": keep-alive\n\n"
                continue
            changes = [{"version": c.version, "bot": c.bot, "user_id": c.user_id} for c in batch]
            yield f"event: change\ndata: {json.dumps(changes)}\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


async def get_file(request: Request) -> Response:
    world = _emulator(request).world(request.path_params["bot"])
    stored = world.files.get(request.path_params["file_id"])
    if stored is None or stored.data is None:
        raise SimError(404, "no such file")
    return Response(stored.data, media_type=stored.content_type or "application/octet-stream")


routes = [
    Route("/sim/message", _sim(post_message), methods=["POST"]),
    Route("/sim/voice", _sim(post_voice), methods=["POST"]),
    Route("/sim/audio", _sim(post_audio), methods=["POST"]),
    Route("/sim/callback", _sim(post_callback), methods=["POST"]),
    Route("/sim/open_url", _sim(post_open_url), methods=["POST"]),
    Route("/sim/chat/{user_id}", _sim(get_chat), methods=["GET"]),
    Route("/sim/chats", _sim(get_chats), methods=["GET"]),
    Route("/sim/outbox", _sim(get_outbox), methods=["GET"]),
    Route("/sim/faults", _sim(post_faults), methods=["POST"]),
    Route("/sim/faults", _sim(delete_faults), methods=["DELETE"]),
    Route("/sim/reset", _sim(post_reset), methods=["POST"]),
    Route("/sim/state", _sim(get_state), methods=["GET"]),
    Route("/sim/config", _sim(post_config), methods=["POST"]),
    Route("/sim/wait", _sim(get_wait), methods=["GET"]),
    Route("/sim/events", _sim(get_events), methods=["GET"]),
    Route("/sim/files/{bot}/{file_id}", _sim(get_file), methods=["GET"]),
]
