"""The reflector's loop against a scripted source: resume from the last version, list
again on 410, back off from refusals, and outlive what it does not expect."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from lc_kubewatch import Backoff, Obj, Reflector, WatchGone
from lc_runtime.logs import fields_of
from lc_testing import wait_until


class Refused(Exception):
    pass


def obj(name: str, rv: int) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv)}}


class ScriptedSource:
    """Lists answer `lists` in turn; watches play `watches` in turn, then hang."""

    name = "things"
    expected: tuple[type[BaseException], ...] = (Refused,)

    def __init__(self, lists: list[Any], watches: list[Any]) -> None:
        self.lists = lists
        self.watches = watches
        self.watched_from: list[str] = []

    async def list(self) -> tuple[list[Obj], str]:
        answer = self.lists.pop(0) if len(self.lists) > 1 else self.lists[0]
        if isinstance(answer, BaseException):
            raise answer
        version, items = answer
        return items, version

    async def watch(self, resource_version: str, timeout_s: int) -> AsyncIterator[tuple[str, Obj]]:
        self.watched_from.append(resource_version)
        if not self.watches:
            await asyncio.Event().wait()
        for step in self.watches.pop(0):
            if isinstance(step, BaseException):
                raise step
            yield step


class Sink:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []

    def replace(self, objects: list[Obj]) -> None:
        self.calls.append(("replace", [o["metadata"]["name"] for o in objects]))

    def upsert(self, obj: Obj) -> None:
        logging.getLogger("lc_test.sink").info("upsert")
        self.calls.append(("upsert", [obj["metadata"]["name"]]))

    def delete(self, obj: Obj) -> None:
        self.calls.append(("delete", [obj["metadata"]["name"]]))


@contextlib.asynccontextmanager
async def running(source: ScriptedSource, sink: Sink) -> AsyncIterator[Reflector]:
    reflector = Reflector(source, sink, backoff=Backoff(0.001, 0.002))
    task = asyncio.create_task(reflector.run())
    try:
        yield reflector
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_resumes_from_the_last_version_and_lists_again_when_it_is_gone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = ScriptedSource(
        lists=[("10", [obj("a", 3)]), ("40", [obj("a", 30), obj("d", 39)])],
        watches=[
            [("ADDED", obj("e", 11)), Refused("connection reset")],
            [("ERROR", {"code": 500, "message": "internal"})],
            [("MODIFIED", obj("a", 12)), ("BOOKMARK", {"metadata": {"resourceVersion": "15"}})],
            [("DELETED", obj("b", 16)), ("ERROR", {"code": 410, "message": "too old"})],
            [WatchGone()],
            [("ADDED", obj("f", 41))],
        ],
    )
    sink = Sink()
    caplog.set_level(logging.INFO, logger="lc_test.sink")
    async with running(source, sink) as reflector:
        await wait_until(lambda: ("upsert", ["f"]) in sink.calls, 5)
        assert sink.calls == [
            ("replace", ["a"]),
            ("upsert", ["e"]),
            ("upsert", ["a"]),
            ("delete", ["b"]),
            ("replace", ["a", "d"]),
            ("replace", ["a", "d"]),
            ("upsert", ["f"]),
        ]
        assert source.watched_from[:6] == ["10", "11", "11", "15", "40", "40"]
        stats = reflector.stats
        assert (stats.lists, stats.gone, stats.failures) == (3, 2, 2)
        assert stats.resumes >= 3  # from 11, 11 and 15 (and from 41 once "f" is handled)
        assert reflector.synced.is_set()
    # What the sink logs while handling a change carries the change.
    first = next(r for r in caplog.records if r.name == "lc_test.sink")
    assert {k: fields_of(first)[k] for k in ("watch", "watch_event", "object")} == {
        "watch": "things",
        "watch_event": "ADDED",
        "object": "ns/e",
    }


async def test_refused_lists_are_retried_and_surprises_lead_to_a_fresh_list() -> None:
    source = ScriptedSource(
        lists=[Refused("503"), Refused("503"), ("10", [obj("a", 3)]), ("20", [obj("b", 19)])],
        watches=[[("ADDED", {"metadata": "not a mapping"})]],
    )
    sink = Sink()
    async with running(source, sink) as reflector:
        await wait_until(lambda: ("replace", ["b"]) in sink.calls, 5)
        assert sink.calls == [("replace", ["a"]), ("replace", ["b"])]
        assert reflector.stats.failures == 3
        assert reflector.version == "20"
