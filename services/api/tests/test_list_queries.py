"""What the console's lists ask for: search, natural and recency sorts, filters, and the
per-project phase counts, all paged with `next` without repeating or skipping anything."""

from __future__ import annotations

from typing import Any

import httpx
from nats.js import JetStreamContext

from lc_contracts.events import ServiceStatusChanged, build
from lc_contracts.status import ServicePhase
from lc_contracts.subjects import service_subject
from lc_eventstore import EventStore

from .conftest import DOCS_HELLO, DOCS_LLAMA, DOCS_PROJECT, wait_until

PROJECTS = "/api/v1/projects"
SERVICES = "/api/v1/projects/default/services"


async def _all(client: httpx.AsyncClient, url: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, following `next` one small page at a time."""
    out: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        query = {**params, "limit": 3, **({"after": after} if after else {})}
        response = await client.get(url, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        out.extend(page["items"])
        after = page["next"]
        if after is None:
            return out


async def test_projects_sort_naturally_by_name_and_page_through_all(
    client: httpx.AsyncClient,
) -> None:
    names = ["Team 10", "Team 2", "team 1", "Team 100", "Alpha", "Team 9", "Team 11"]
    for i, name in enumerate(names):
        created = await client.post(PROJECTS, json={"name": name, "slug": f"p{i}"})
        assert created.status_code == 201, created.text
    by_name = await _all(client, PROJECTS, sort="name")
    assert [p["name"] for p in by_name] == [
        "Alpha",
        "team 1",
        "Team 2",
        "Team 9",
        "Team 10",
        "Team 11",
        "Team 100",
    ]
    by_slug = await _all(client, PROJECTS)
    assert [p["slug"] for p in by_slug] == [f"p{i}" for i in range(len(names))]


async def test_projects_sort_by_most_recently_changed(client: httpx.AsyncClient) -> None:
    for slug in ("a", "b", "c", "d"):
        assert (await client.post(PROJECTS, json={"name": slug, "slug": slug})).status_code == 201
    assert (await client.patch(f"{PROJECTS}/b", json={"name": "B again"})).status_code == 200
    recent = await _all(client, PROJECTS, sort="updated")
    assert [p["slug"] for p in recent] == ["b", "d", "c", "a"]


async def test_project_search_matches_name_or_slug_in_any_case(client: httpx.AsyncClient) -> None:
    for i in range(12):
        created = await client.post(PROJECTS, json={"name": f"Team {i}", "slug": f"team-{i}"})
        assert created.status_code == 201
    assert (
        await client.post(PROJECTS, json={"name": "Ops_100%", "slug": "ops"})
    ).status_code == 201
    found = await _all(client, PROJECTS, q="team 1", sort="name")
    assert [p["name"] for p in found] == ["Team 1", "Team 10", "Team 11"]
    by_slug = await _all(client, PROJECTS, q="AM-11")
    assert [p["slug"] for p in by_slug] == ["team-11"]
    # LIKE wildcards in the search are literal characters.
    assert [p["slug"] for p in await _all(client, PROJECTS, q="_100%")] == ["ops"]
    assert await _all(client, PROJECTS, q="%") == [
        p for p in await _all(client, PROJECTS) if "%" in p["name"]
    ]


async def test_bad_list_parameters_are_422_problems(client: httpx.AsyncClient) -> None:
    for url, params in [
        (PROJECTS, {"sort": "size"}),
        (PROJECTS, {"q": ""}),
        (PROJECTS, {"q": "x" * 101}),
    ]:
        response = await client.get(url, params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.post(PROJECTS, json=DOCS_PROJECT)).status_code == 201
    for params in [{"phase": "Sleeping"}, {"tier": "tpu"}]:
        response = await client.get(SERVICES, params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_project_counts_and_service_filters_follow_reported_phases(
    client: httpx.AsyncClient, jetstream: JetStreamContext
) -> None:
    assert (await client.post(PROJECTS, json=DOCS_PROJECT)).status_code == 201
    names = [f"web-{i}" for i in range(5)]
    for name in names:
        created = await client.post(SERVICES, json={**DOCS_HELLO, "name": name})
        assert created.status_code == 201, created.text
    assert (await client.post(SERVICES, json=DOCS_LLAMA)).status_code == 201
    store = EventStore(jetstream)
    phases = {
        "web-0": ServicePhase.READY,
        "web-1": ServicePhase.READY,
        "web-2": ServicePhase.FAILED,
        "web-3": ServicePhase.DEPLOYING,
    }
    for name, phase in phases.items():
        subject = service_subject("default", name)
        event = ServiceStatusChanged(project_slug="default", name=name, phase=phase, message="")
        await store.append(subject, [build(event, subject=subject, source="t")], None)

    async def counted() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(f"{PROJECTS}/default")).json()
        return body if body["failedCount"] == 1 and body["readyCount"] == 2 else None

    one = await wait_until(counted, timeout=10)
    assert (one["serviceCount"], one["deployingCount"]) == (6, 3)  # web-3, web-4, llama (Pending)
    listed = (await client.get(PROJECTS)).json()["items"]
    assert [
        (p["serviceCount"], p["readyCount"], p["deployingCount"], p["failedCount"]) for p in listed
    ] == [(6, 2, 3, 1)]

    def names_of(items: list[dict[str, Any]]) -> list[str]:
        return [s["name"] for s in items]

    assert names_of(await _all(client, SERVICES, phase="Ready")) == ["web-0", "web-1"]
    pending_or_failed = await _all(client, SERVICES, phase=["Pending", "Failed"])
    assert names_of(pending_or_failed) == ["llama-3-8b", "web-2", "web-4"]
    assert names_of(await _all(client, SERVICES, tier="inference")) == ["llama-3-8b"]
    assert names_of(await _all(client, SERVICES, tier="cpu", q="WEB-")) == names
    assert names_of(await _all(client, SERVICES, q="b-3", phase="Deploying")) == ["web-3"]
    assert await _all(client, SERVICES, q="nothing") == []


async def test_events_page_newest_first_with_filters(client: httpx.AsyncClient) -> None:
    for i in range(5):
        assert (
            await client.post(PROJECTS, json={"name": f"P{i}", "slug": f"p{i}"})
        ).status_code == 201
    oldest_first = await _all(client, "/api/v1/events", type="project.created")
    newest_first = await _all(client, "/api/v1/events", type="project.created", order="desc")
    assert [e["seq"] for e in newest_first] == [e["seq"] for e in reversed(oldest_first)]
    assert [e["data"]["slug"] for e in newest_first] == ["p4", "p3", "p2", "p1", "p0"]
    below = (
        await client.get(
            "/api/v1/events",
            params={"order": "desc", "after": newest_first[1]["seq"], "type": "project.created"},
        )
    ).json()
    assert [e["data"]["slug"] for e in below["items"]] == ["p2", "p1", "p0"]
    bad = await client.get("/api/v1/events", params={"order": "sideways"})
    assert bad.status_code == 422
