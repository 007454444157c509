"""The list/watch loop against a scripted Kubernetes API over HTTP: paging, resuming from
the last version (bookmarks included), 410 Gone as an event and as a status, error
events, malformed lines and connections that close at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from kubernetes_asyncio.client import ApiClient, Configuration, CustomObjectsApi

from lc_fleet.resource_watch import Backoff, CustomResource, ResourceWatch
from lc_testing import wait_until

RESOURCE = CustomResource("engine.example.com", "v1", "gpus")
PATH = "/apis/engine.example.com/v1/gpus"


def obj(name: str, rv: int) -> dict[str, Any]:
    return {"metadata": {"name": name, "resourceVersion": str(rv)}}


def line(kind: str, body: Mapping[str, Any]) -> bytes:
    return json.dumps({"type": kind, "object": body}).encode() + b"\n"


def status(code: int) -> dict[str, Any]:
    return {"kind": "Status", "code": code, "message": f"status {code}", "reason": "Test"}


@dataclass
class ScriptedApi:
    """Lists answer `lists` in turn (paged by `limit`); watch requests play `watches` in turn."""

    lists: list[tuple[str, list[dict[str, Any]]]]
    watches: list[tuple[int, list[bytes]]]  # (HTTP status, lines); an exhausted script hangs
    watch_versions: list[str] = field(default_factory=list)
    list_requests: list[dict[str, str]] = field(default_factory=list)
    closing: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("watch") in ("true", "True", "1"):
            self.watch_versions.append(request.query.get("resourceVersion", ""))
            if not self.watches:
                await self.closing.wait()
                return web.Response(status=503)
            code, lines = self.watches.pop(0)
            if code != 200:
                return web.json_response(status(code), status=code)
            response = web.StreamResponse()
            await response.prepare(request)
            for item in lines:
                await response.write(item)
            await response.write_eof()
            return response
        self.list_requests.append(dict(request.query))
        version, items = self.lists[0]
        start = int(request.query.get("continue") or 0)
        limit = int(request.query.get("limit") or len(items))
        page = items[start : start + limit]
        meta: dict[str, Any] = {"resourceVersion": version}
        if start + limit < len(items):
            meta["continue"] = str(start + limit)
        elif len(self.lists) > 1:
            self.lists.pop(0)
        return web.json_response({"items": page, "metadata": meta})


class RecordingSink:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    def replace(self, objects: list[Mapping[str, Any]]) -> None:
        self.calls.append(("replace", [o["metadata"]["name"] for o in objects]))

    def upsert(self, obj: Mapping[str, Any]) -> None:
        self.calls.append(("upsert", [obj["metadata"]["name"]]))

    def delete(self, obj: Mapping[str, Any]) -> None:
        self.calls.append(("delete", [obj["metadata"]["name"]]))


@contextlib.asynccontextmanager
async def running_watch(api: ScriptedApi, sink: RecordingSink) -> AsyncIterator[ResourceWatch]:
    app = web.Application()
    app.router.add_get(PATH, api.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    configuration = Configuration(host=f"http://127.0.0.1:{port}")
    async with ApiClient(configuration) as client:
        watch = ResourceWatch(
            CustomObjectsApi(client), RESOURCE, sink, page_size=2, backoff=Backoff(0.01, 0.02)
        )
        task = asyncio.create_task(watch.run())
        try:
            yield watch
        finally:
            api.closing.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await runner.cleanup()


async def test_pages_resume_and_relist() -> None:
    api = ScriptedApi(
        lists=[
            ("10", [obj("a", 3), obj("b", 5), obj("c", 7)]),
            ("40", [obj("a", 30), obj("d", 39)]),
        ],
        watches=[
            (200, [line("ADDED", obj("e", 11)), b"this is not json\n"]),
            (200, [line("ERROR", status(500))]),
            (200, [line("MODIFIED", obj("a", 12)), line("BOOKMARK", obj("", 15))]),
            (200, [line("DELETED", obj("b", 16)), line("ERROR", status(410))]),
            (410, []),
            (200, [line("ADDED", obj("f", 41))]),
        ],
    )
    sink = RecordingSink()
    async with running_watch(api, sink) as watch:
        await wait_until(
            lambda: ("upsert", ["f"]) in sink.calls,
            what=f"last scripted event (saw {sink.calls}, watches from {api.watch_versions})",
        )
        assert sink.calls == [
            ("replace", ["a", "b", "c"]),
            ("upsert", ["e"]),
            ("upsert", ["a"]),
            ("delete", ["b"]),
            ("replace", ["a", "d"]),
            ("replace", ["a", "d"]),
            ("upsert", ["f"]),
        ]
        # Each watch resumed from the last version it saw; a 410 (as an event, then as an
        # HTTP status) meant a fresh list and a watch from that list's version.
        assert api.watch_versions[:6] == ["10", "11", "11", "15", "40", "40"]
        assert [r.get("limit") for r in api.list_requests] == ["2", "2", "2", "2"]
        assert [r.get("continue") for r in api.list_requests] == [None, "2", None, None]
        assert (watch.stats.lists, watch.stats.gone) == (3, 2)
        assert watch.stats.failures == 2  # the malformed line and the error event
        assert watch.synced.is_set()


async def test_a_server_that_closes_every_watch_at_once_is_backed_off_from() -> None:
    api = ScriptedApi(lists=[("10", [obj("a", 3)])], watches=[(200, [])] * 4)
    sink = RecordingSink()
    async with running_watch(api, sink) as watch:
        await wait_until(lambda: len(api.watch_versions) >= 5, what="reconnections")
        assert watch.stats.failures >= 4
        assert set(api.watch_versions) == {"10"}
        assert sink.calls == [("replace", ["a"])]


@pytest.mark.parametrize("code", [403, 500, 503])
async def test_refused_lists_are_retried(code: int) -> None:
    api = ScriptedApi(lists=[("10", [obj("a", 3)])], watches=[])
    sink = RecordingSink()
    refusals = [code, code]

    original = api.handle

    async def flaky(request: web.Request) -> web.StreamResponse:
        if request.query.get("watch") is None and refusals:
            refusals.pop()
            return web.json_response(status(code), status=code)
        return await original(request)

    api.handle = flaky  # type: ignore[method-assign]
    async with running_watch(api, sink) as watch:
        await wait_until(watch.synced.is_set, what="listed after refusals")
        assert watch.stats.failures == 2
        assert sink.calls == [("replace", ["a"])]
