"""A tiny HTTP forwarder in front of the simulator's API that fails chosen requests, for
the back-off tests: answers 409, 429, 500 or 503, or drops the connection, for the next
N requests that match, then forwards faithfully (watch streams included). It can also
hold every server-side apply past the first N, never answered, so a reconciler is
stopped in the middle of its work whatever the machine's speed."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import yaml
from aiohttp import web

DROP = 0  # not an HTTP status: close the connection without answering


@dataclass
class FaultPlan:
    methods: frozenset[str] = frozenset({"PATCH", "DELETE", "GET"})
    remaining: int = 0
    statuses: Iterator[int] = field(
        default_factory=lambda: itertools.cycle([500, 429, 409, 503, DROP])
    )
    injected: dict[int, int] = field(default_factory=dict)

    def next_fault(self, method: str, watch: bool) -> int | None:
        if watch or method not in self.methods or self.remaining <= 0:
            return None
        self.remaining -= 1
        status = next(self.statuses)
        self.injected[status] = self.injected.get(status, 0) + 1
        return status


class FaultyApi:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.plan = FaultPlan()
        self.forwarded = 0
        self.applies_left: int | None = None
        """Server-side applies still forwarded before the rest are held (None: all are)."""
        self.held = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def write_kubeconfig(self, source: Path, target: Path) -> Path:
        config = yaml.safe_load(source.read_text())
        for cluster in config["clusters"]:
            cluster["cluster"]["server"] = self.url
        target.write_text(yaml.safe_dump(config))
        return target

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.method == "PATCH" and self.applies_left is not None:
            if self.applies_left <= 0:
                self.held += 1
                await asyncio.Event().wait()  # until the proxy stops and cancels its handlers
            self.applies_left -= 1
        watch = request.query.get("watch") in ("1", "true")
        fault = self.plan.next_fault(request.method, watch)
        if fault == DROP:
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)
        if fault is not None:
            body = {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "code": fault,
                "message": "injected",
            }
            headers = {"Retry-After": "0"} if fault == 429 else {}
            return web.json_response(body, status=fault, headers=headers)
        assert self._session is not None
        self.forwarded += 1
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        async with self._session.request(
            request.method,
            f"{self.upstream}{request.rel_url}",
            headers=headers,
            data=await request.read(),
            timeout=aiohttp.ClientTimeout(total=None),
        ) as upstream:
            response = web.StreamResponse(status=upstream.status)
            content_type = upstream.headers.get("Content-Type")
            if content_type:
                response.headers["Content-Type"] = content_type
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response
