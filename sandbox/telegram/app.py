"""Assemble the emulator into one ASGI app: Bot API, /sim control API and the chat page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sandbox.telegram import sim_api
from sandbox.telegram.bot_api import bot_api_endpoint, file_download_endpoint
from sandbox.telegram.config import EmulatorConfig
from sandbox.telegram.emulator import Emulator

STATIC_DIR = Path(__file__).with_name("static")


async def index(request: Request) -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html")


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    """The app's `state.emulator` is the live Emulator, for in-process tests that need it."""
    emulator = Emulator(config or EmulatorConfig())

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await emulator.close()

    app = Starlette(
        routes=[
            Route("/bot{token}/{method}", bot_api_endpoint, methods=["GET", "POST"]),
            Route("/file/bot{token}/{file_path:path}", file_download_endpoint, methods=["GET"]),
            *sim_api.routes,
            Route("/", index, methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        lifespan=lifespan,
    )
    app.state.emulator = emulator
    return app
