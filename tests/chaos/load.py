"""Concurrent creates with a fault injected part-way, and the invariants every fault test
checks afterwards: each 2xx is in the log and the read models exactly once, no refused
(503) write landed, nothing answered 500."""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx
import nats

from lc_eventstore import EventStore

ACCEPTED = frozenset({201, 202})
REFUSED = 503
DEADLINE_S = 60.0


@dataclass
class Outcome:
    """What the clients saw, by slug."""

    codes: collections.Counter[int | str] = field(default_factory=collections.Counter)
    accepted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # no answer: outcome unknown to the client
    other: dict[str, int] = field(default_factory=dict)


async def create_projects(
    base_url: str,
    slugs: list[str],
    *,
    fault_after: int,
    fault: Callable[[], Coroutine[Any, Any, None]],
    connections: int = 64,
    retry_refused_connections: bool = False,
    unknown_outcome: frozenset[int] = frozenset(),
) -> Outcome:
    """POST every slug with `connections` in flight; run `fault` once `fault_after` have answered.

    With `retry_refused_connections`, a request whose connection was refused (nothing was
    sent: the server is restarting) is sent again, as a client with retries would. A
    status in `unknown_outcome` (a gateway's 502: the replica died mid-request) counts as
    dropped.
    """
    outcome = Outcome()
    answered = 0
    fault_task: asyncio.Task[None] | None = None
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:

        async def post(slug: str) -> httpx.Response:
            deadline = time.monotonic() + DEADLINE_S
            while True:
                try:
                    return await client.post("/api/v1/projects", json={"name": slug, "slug": slug})
                except httpx.ConnectError:
                    if not retry_refused_connections or time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.1)  # a client's retry pause

        async def create(slug: str) -> None:
            nonlocal answered, fault_task
            try:
                answer = await post(slug)
            except httpx.TransportError as exc:
                outcome.codes[type(exc).__name__] += 1
                outcome.dropped.append(slug)
                return
            finally:
                answered += 1
                if answered == fault_after:
                    fault_task = asyncio.create_task(fault())
            outcome.codes[answer.status_code] += 1
            if answer.status_code in unknown_outcome:
                outcome.dropped.append(slug)
            elif answer.status_code in ACCEPTED:
                outcome.accepted.append(slug)
            elif answer.status_code == REFUSED:
                assert answer.headers.get("retry-after"), answer.headers
                outcome.refused.append(slug)
            else:
                outcome.other[slug] = answer.status_code

        await asyncio.gather(*(create(slug) for slug in slugs))
        if fault_task is not None:
            await fault_task
    return outcome


async def created_in_log(nats_url: str) -> collections.Counter[str]:
    """How many `project.created` events the log holds per slug."""
    client = await nats.connect(nats_url)
    try:
        counts: collections.Counter[str] = collections.Counter()
        async for batch in EventStore(client.jetstream()).read(subjects=["lc.events.project.>"]):
            for message in batch:
                envelope = message.envelope()
                if envelope.type == "project.created":
                    counts[str(envelope.data["slug"])] += 1
        return counts
    finally:
        await client.close()


async def projects_in_read_models(base_url: str) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        after: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": 100}
            if after:
                params["after"] = after
            page = await client.get("/api/v1/projects", params=params)
            assert page.status_code == 200, page.text
            items = page.json()["items"]
            counts.update(item["slug"] for item in items)
            if len(items) < 100:
                return counts
            after = items[-1]["slug"]


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, deadline_s: float = DEADLINE_S
) -> None:
    deadline = time.monotonic() + deadline_s
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def assert_invariants(outcome: Outcome, *, base_url: str, nats_url: str) -> None:
    """Once the platform is back: nothing answered 500, every 2xx is in the log and the
    read models exactly once, no 503 landed, and the read models equal the log."""
    assert not outcome.other, f"unexpected answers: {collections.Counter(outcome.other.values())}"
    assert 500 not in outcome.codes, outcome.codes
    in_log = await created_in_log(nats_url)
    assert all(count == 1 for count in in_log.values()), "a create was logged twice"
    missing = [slug for slug in outcome.accepted if slug not in in_log]
    assert not missing, f"{len(missing)} writes answered 2xx are not in the log: {missing[:5]}"
    landed_503 = [slug for slug in outcome.refused if slug in in_log]
    assert not landed_503, f"{len(landed_503)} writes answered 503 landed: {landed_503[:5]}"
    unanswered = set(in_log) - set(outcome.accepted)
    assert unanswered <= set(outcome.dropped), "a logged write was answered neither 2xx nor dropped"

    async def projected() -> bool:
        return await projects_in_read_models(base_url) == in_log

    await eventually(projected, "the read models to equal the log")
