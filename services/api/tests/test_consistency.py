"""Read-your-writes, X-LC-Seq, 202 + Location past the bound, Idempotency-Key, 413."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
from nats.js import JetStreamContext

from lc_api.settings import ApiSettings
from lc_contracts.subjects import project_subject
from lc_eventstore import EventStore

from .conftest import DOCS_HELLO, DOCS_PROJECT, client_for


async def test_every_write_is_readable_in_its_own_answer_and_right_after(
    client: httpx.AsyncClient,
) -> None:
    seqs = []
    for i in range(20):
        created = await client.post("/api/v1/projects", json={"name": f"P{i}", "slug": f"p{i}"})
        assert created.status_code == 201
        seqs.append(int(created.headers["x-lc-seq"]))
        got = await client.get(f"/api/v1/projects/p{i}")
        assert got.status_code == 200
        renamed = await client.patch(f"/api/v1/projects/p{i}", json={"name": f"Q{i}"})
        assert renamed.json()["name"] == f"Q{i}"
        assert (await client.get(f"/api/v1/projects/p{i}")).json()["name"] == f"Q{i}"
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 20


async def test_past_the_bound_the_answer_is_202_with_location(
    nats_url: str, database_url: str, jetstream: JetStreamContext
) -> None:
    settings = ApiSettings(
        nats_url=nats_url,
        database_url=database_url,
        projector_enabled=False,
        read_your_writes_timeout_s=0.05,
    )
    async with client_for(settings) as client:
        response = await client.post("/api/v1/projects", json=DOCS_PROJECT)
        assert response.status_code == 202
        assert response.headers["location"] == "/api/v1/projects/default"
        body = response.json()
        assert body == {
            "status": "accepted",
            "seq": int(response.headers["x-lc-seq"]),
            "location": "/api/v1/projects/default",
        }
        assert (
            await client.get("/api/v1/projects/default")
        ).status_code == 404  # not projected here
    stored = await EventStore(jetstream).load(project_subject("default"))
    assert [m.seq for m in stored.messages] == [body["seq"]]


async def test_same_key_same_body_replays_the_answer_and_appends_once(
    client: httpx.AsyncClient, jetstream: JetStreamContext
) -> None:
    headers = {"Idempotency-Key": "create-default-1"}
    first = await client.post("/api/v1/projects", json=DOCS_PROJECT, headers=headers)
    second = await client.post("/api/v1/projects", json=DOCS_PROJECT, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert first.headers["x-lc-seq"] == second.headers["x-lc-seq"]
    assert first.headers["location"] == second.headers["location"]
    assert second.headers["idempotent-replayed"] == "true"
    different = await client.post(
        "/api/v1/projects", json={"name": "Other", "slug": "other"}, headers=headers
    )
    assert different.status_code == 422
    assert different.json()["type"].endswith("/idempotency-key-reused")
    assert (await client.get("/api/v1/projects/other")).status_code == 404
    stored = await EventStore(jetstream).load(project_subject("default"))
    assert len(stored.messages) == 1


async def test_concurrent_retries_with_one_key_append_once(
    client: httpx.AsyncClient, jetstream: JetStreamContext
) -> None:
    await client.post("/api/v1/projects", json=DOCS_PROJECT)
    headers = {"Idempotency-Key": "svc-hello"}
    answers = await asyncio.gather(
        *(
            client.post("/api/v1/projects/default/services", json=DOCS_HELLO, headers=headers)
            for _ in range(8)
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert set(codes) <= {201, 409}
    assert 201 in codes
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["type"].endswith("/idempotency-key-in-use")
            assert answer.headers["retry-after"] == "1"
    retry = await client.post("/api/v1/projects/default/services", json=DOCS_HELLO, headers=headers)
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    events = (await client.get("/api/v1/events", params={"type": "service.applied"})).json()[
        "items"
    ]
    assert len(events) == 1


async def test_idempotent_put_patch_delete(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/projects", json=DOCS_PROJECT)
    put = {"Idempotency-Key": "put-1"}
    a = await client.put("/api/v1/projects/default/services/hello", json=DOCS_HELLO, headers=put)
    b = await client.put("/api/v1/projects/default/services/hello", json=DOCS_HELLO, headers=put)
    assert a.json()["revision"] == b.json()["revision"] == 1
    patch = {"Idempotency-Key": "patch-1"}
    c = await client.patch("/api/v1/projects/default", json={"name": "X"}, headers=patch)
    d = await client.patch("/api/v1/projects/default", json={"name": "X"}, headers=patch)
    assert c.content == d.content
    delete = {"Idempotency-Key": "delete-1"}
    e = await client.delete("/api/v1/projects/default/services/hello", headers=delete)
    f = await client.delete("/api/v1/projects/default/services/hello", headers=delete)
    assert e.status_code == f.status_code == 204
    # without the key, a second delete is a 404
    assert (await client.delete("/api/v1/projects/default/services/hello")).status_code == 404
    bad = await client.post(
        "/api/v1/projects", json=DOCS_PROJECT, headers={"Idempotency-Key": "x" * 300}
    )
    assert bad.status_code == 400


async def test_a_failed_command_is_replayed_as_the_same_failure(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "dup"}
    await client.post("/api/v1/projects", json=DOCS_PROJECT)
    first = await client.post("/api/v1/projects", json=DOCS_PROJECT, headers=headers)
    second = await client.post("/api/v1/projects", json=DOCS_PROJECT, headers=headers)
    assert first.status_code == second.status_code == 409
    assert first.content == second.content


async def test_bodies_over_the_limit_are_413(nats_url: str, database_url: str) -> None:
    settings = ApiSettings(nats_url=nats_url, database_url=database_url, max_body_bytes=2048)
    async with client_for(settings) as client:
        big = {"name": "x" * 4000, "slug": "big"}
        declared = await client.post("/api/v1/projects", json=big)
        assert declared.status_code == 413
        assert declared.json()["type"].endswith("/payload-too-large")

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"name": "'
            for _ in range(10):
                yield b"y" * 512
            yield b'", "slug": "big"}'

        streamed = await client.post(
            "/api/v1/projects", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        assert (await client.get("/api/v1/projects/big")).status_code == 404
        assert (
            await client.post("/api/v1/projects", json={"name": "ok", "slug": "big"})
        ).status_code == 201


async def test_rename_race_losers_are_reloaded_not_lost(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/projects", json=DOCS_PROJECT)
    answers = await asyncio.gather(
        *(client.patch("/api/v1/projects/default", json={"name": f"N{i}"}) for i in range(10))
    )
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    events = (await client.get("/api/v1/events", params={"type": "project.updated"})).json()[
        "items"
    ]
    assert len(events) == 10
    final = (await client.get("/api/v1/projects/default")).json()
    assert final["name"] == events[-1]["data"]["name"]
