"""The audit log (list + SSE tail with Last-Event-ID), `lc replay` and `lc events`."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import httpx

from lc_api.cli_commands import print_events, replay
from lc_api.settings import ApiSettings

from .conftest import DOCS_DOMAIN, DOCS_HELLO, DOCS_LLAMA, DOCS_PROJECT, client_for, serve


async def build_world(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    await client.post("/api/v1/projects/default/services", json=DOCS_LLAMA)
    await client.post("/api/v1/projects/default/services", json=DOCS_HELLO)
    await client.patch(
        "/api/v1/projects/default/services/hello", json={"kind": {"container": {"replicas": 3}}}
    )
    await client.post("/api/v1/projects/default/services/hello/rollback", json={"revision": 1})
    domain = (await client.post("/api/v1/domains", json=DOCS_DOMAIN)).json()
    await client.post(f"/api/v1/domains/{domain['id']}/verify")
    await client.post("/api/v1/projects", json={"name": "Tmp", "slug": "tmp"})
    await client.post("/api/v1/projects/tmp/services", json={**DOCS_HELLO, "name": "gone"})
    await client.delete("/api/v1/projects/tmp?cascade=true")
    await client.post("/api/v1/projects", json={"name": "Tmp again", "slug": "tmp"})
    await client.patch("/api/v1/projects/default", json={"name": "Default!"})


async def every_get(client: httpx.AsyncClient) -> dict[str, Any]:
    """Every GET answer the API gives about the current world."""
    out: dict[str, Any] = {}

    async def get(path: str) -> Any:
        response = await client.get(path)
        out[path] = (response.status_code, response.headers.get("etag"), response.content)
        return response.json()

    projects = await get("/api/v1/projects")
    for project in projects["items"]:
        slug = project["slug"]
        await get(f"/api/v1/projects/{slug}")
        services = await get(f"/api/v1/projects/{slug}/services")
        for service in services["items"]:
            await get(f"/api/v1/projects/{slug}/services/{service['name']}")
            await get(f"/api/v1/projects/{slug}/services/{service['name']}/revisions")
    domains = await get("/api/v1/domains")
    for domain in domains["items"]:
        await get(f"/api/v1/domains/{domain['id']}")
    await get("/api/v1/events?limit=1000")
    await get("/api/v1/events?project=default")
    await get("/api/v1/events?type=service.applied,project.created")
    return out


async def test_replay_rebuilds_byte_identical_answers(
    settings: ApiSettings, client: httpx.AsyncClient
) -> None:
    await build_world(client)
    before = await every_get(client)
    assert len(before) >= 12
    await replay(settings)  # with this lcd running: it hands its projector over
    after = await every_get(client)
    assert after == before
    # the live projector carries on after the replay
    created = await client.post("/api/v1/projects", json={"name": "After", "slug": "after"})
    assert created.status_code == 201


async def test_events_list_filters_and_pages(client: httpx.AsyncClient) -> None:
    await build_world(client)
    everything = (await client.get("/api/v1/events", params={"limit": 1000})).json()["items"]
    seqs = [e["seq"] for e in everything]
    assert seqs == sorted(seqs)
    first = everything[0]
    assert first["type"] == "project.created"
    assert set(first) >= {
        "seq",
        "specversion",
        "id",
        "source",
        "type",
        "subject",
        "time",
        "data",
        "dataversion",
    }
    assert first["specversion"] == "1.0"
    page = (await client.get("/api/v1/events", params={"limit": 3})).json()
    assert [e["seq"] for e in page["items"]] == seqs[:3]
    assert page["next"] == str(seqs[2])
    following = (
        await client.get("/api/v1/events", params={"after": page["next"], "limit": 3})
    ).json()
    assert [e["seq"] for e in following["items"]] == seqs[3:6]
    tmp = (await client.get("/api/v1/events", params={"project": "tmp"})).json()["items"]
    assert [e["type"] for e in tmp] == [
        "project.created",
        "service.applied",
        "service.deleted",
        "project.deleted",
        "project.created",
    ]
    default_domains = (
        await client.get(
            "/api/v1/events", params={"project": "default", "type": "domain.verification_requested"}
        )
    ).json()["items"]
    assert len(default_domains) == 1
    types = {
        e["type"]
        for e in (
            await client.get(
                "/api/v1/events", params=[("type", "fqdn.claimed"), ("type", "domain.registered")]
            )
        ).json()["items"]
    }
    assert types == {"fqdn.claimed", "domain.registered"}


async def read_sse(response: httpx.Response, count: int) -> list[dict[str, str]]:
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if "data" in current:
                events.append(current)
                if len(events) == count:
                    return events
            current = {}
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(": ")
        current[key] = value
    return events


async def test_sse_tail_is_live_and_resumes_from_last_event_id(settings: ApiSettings) -> None:
    async with serve(settings) as base, httpx.AsyncClient(base_url=base, timeout=10) as client:
        await client.post("/api/v1/projects", json=DOCS_PROJECT)
        async with client.stream("GET", "/api/v1/events/stream", params={"after": 0}) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            reader = asyncio.ensure_future(read_sse(stream, 3))
            await client.post("/api/v1/projects", json={"name": "B", "slug": "b"})
            await client.post("/api/v1/projects/b/services", json=DOCS_HELLO)
            first = await asyncio.wait_for(reader, 10)
        assert [e["event"] for e in first] == [
            "project.created",
            "project.created",
            "service.applied",
        ]
        assert json.loads(first[2]["data"])["data"]["spec"]["name"] == "hello"
        last_id = first[1]["id"]
        headers = {"Last-Event-ID": last_id}
        async with client.stream("GET", "/api/v1/events/stream", headers=headers) as resumed:
            [again] = await asyncio.wait_for(read_sse(resumed, 1), 10)
        assert again["id"] == first[2]["id"]
        async with client.stream(
            "GET", "/api/v1/events/stream", params={"after": 0, "type": "service.applied"}
        ) as filtered:
            [only] = await asyncio.wait_for(read_sse(filtered, 1), 10)
        assert only["event"] == "service.applied"


async def test_print_events_prints_the_audit_log(settings: ApiSettings) -> None:
    async with client_for(settings) as client:
        await build_world(client)
        total = len((await client.get("/api/v1/events", params={"limit": 1000})).json()["items"])
    out = io.StringIO()
    printed = await print_events(settings, out=out)
    lines = out.getvalue().splitlines()
    assert printed == len(lines) == total
    assert "project.created" in lines[0]
    out = io.StringIO()
    await print_events(settings, as_json=True, types=["service.deleted"], out=out)
    [deleted] = [json.loads(line) for line in out.getvalue().splitlines()]
    assert deleted["data"] == {"projectSlug": "tmp", "name": "gone"}
    out = io.StringIO()
    assert await print_events(settings, after=2, limit=2, out=out) == 2
