"""One ASGI entry point for the local stack, as the Helm chart's Ingress does it:
`/api` → lcd, `/v1` → lc-proxy, `/healthz` → the stack, anything else → the console SPA.

It also runs every mounted app's lifespan, which plain mounting would skip.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

Health = Callable[[], Awaitable[dict[str, Any]]]

NOT_BUILT = """<!doctype html><title>LiquidCompute</title>
<p>The console is not built yet. <code>just up</code> builds it; the API is at
<a href="/api/v1/config">/api/v1/config</a> and the OpenAI endpoint at <code>/v1</code>.</p>"""


@dataclass
class Gateway:
    """Routes by path prefix; the longest matching prefix wins."""

    mounts: dict[str, ASGIApp] = field(default_factory=dict)
    frontend_dist: Path | None = None
    health: Health | None = None

    def build(self) -> ASGIApp:
        spa = _spa(self.frontend_dist)

        async def healthz(_: Request) -> Response:
            report = await self.health() if self.health else {"status": "ok"}
            code = 200 if report.get("status") == "ok" else 503
            return JSONResponse(report, status_code=code)

        @contextlib.asynccontextmanager
        async def lifespan(_: Starlette) -> AsyncIterator[None]:
            async with contextlib.AsyncExitStack() as stack:
                for app in self.mounts.values():
                    await stack.enter_async_context(asgi_lifespan(app))
                yield

        inner = Starlette(routes=[Route("/healthz", healthz)], lifespan=lifespan)
        prefixes = sorted(self.mounts.items(), key=lambda kv: -len(kv[0]))

        async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] in ("http", "websocket"):
                path: str = scope["path"]
                if path == "/healthz":
                    return await inner(scope, receive, send)
                for prefix, app in prefixes:
                    if path == prefix or path.startswith(prefix + "/"):
                        return await app(scope, receive, send)
                return await spa(scope, receive, send)
            return await inner(scope, receive, send)  # lifespan

        return dispatch


@contextlib.asynccontextmanager
async def asgi_lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Run an ASGI app's lifespan protocol: startup on enter, shutdown on exit."""
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def receive() -> dict[str, Any]:
        return await to_app.get()

    async def send(message: MutableMapping[str, Any]) -> None:
        await from_app.put(dict(message))

    async def run() -> None:
        await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)

    task = asyncio.create_task(run())
    await to_app.put({"type": "lifespan.startup"})
    reply = await from_app.get()
    if reply["type"] != "lifespan.startup.complete":
        task.cancel()
        raise RuntimeError(f"an application failed to start: {reply.get('message', reply['type'])}")
    try:
        yield
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        await from_app.get()
        await task


def _spa(dist: Path | None) -> ASGIApp:
    """Static files of the built console, falling back to index.html for client-side routes."""
    root = dist.resolve() if dist else None

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if root is None or not (root / "index.html").exists():
            return await HTMLResponse(NOT_BUILT)(scope, receive, send)
        relative = scope["path"].lstrip("/")
        candidate = (root / relative).resolve()
        if relative and candidate.is_file() and candidate.is_relative_to(root):
            return await FileResponse(candidate)(scope, receive, send)
        if relative.startswith(("api/", "v1/")):
            return await JSONResponse({"detail": "not found"}, status_code=404)(
                scope, receive, send
            )
        return await FileResponse(root / "index.html")(scope, receive, send)

    return app
