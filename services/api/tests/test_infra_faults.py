"""lcd when the infrastructure under it fails: NATS down, PostgreSQL down after an append,
a body NATS cannot carry, and replayed idempotent answers only for authenticated callers."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lc_embedded import EmbeddedNats, EmbeddedPostgres

from .conftest import ADMIN, client_for, make_settings

PROBLEM_JSON = "application/problem+json"
DEADLINE_S = 20.0
BODY_LIMIT = 1_048_576  # lcd's default max_body_bytes, NATS's default max_payload


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def project(slug: str) -> dict[str, str]:
    return {"name": slug, "slug": slug}


async def nats_ready(client: httpx.AsyncClient) -> bool:
    answer = await client.get("/api/readyz")
    return bool(answer.json()["checks"]["nats"] == "ok")


async def test_nats_down_answers_503_and_the_refused_write_never_lands(
    nats_server: EmbeddedNats, database_url: str
) -> None:
    async with client_for(make_settings(nats_server.url, database_url)) as client:
        assert (await client.post("/api/v1/projects", json=project("before"))).status_code == 201
        nats_server.stop()

        async def nats_gone() -> bool:
            return not await nats_ready(client)

        await eventually(nats_gone, "lcd to see NATS gone")
        refused = await client.post("/api/v1/projects", json=project("refused"))
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"] == PROBLEM_JSON
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["type"].endswith("/unavailable")
        read = await client.get("/api/v1/projects/before/services")  # reads still answer
        assert read.status_code == 200

        nats_server.start()  # same port, same data
        await eventually(lambda: nats_ready(client), "lcd to reconnect")
        again = await client.post("/api/v1/projects", json=project("after"))
        assert again.status_code == 201, again.text
        # Anything buffered across the reconnect would have landed by now, before "after".
        events = (await client.get("/api/v1/events")).json()["items"]
        subjects = {e["subject"] for e in events}
        assert "lc.events.project.refused" not in subjects
        assert (await client.get("/api/v1/projects/refused")).status_code == 404
        # The refused create can simply be sent again.
        assert (await client.post("/api/v1/projects", json=project("refused"))).status_code == 201


@pytest.fixture
def private_postgres() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of this test's own, which it may stop and start."""
    root = Path(tempfile.mkdtemp(prefix="lc-test-pg-down-"))
    server = EmbeddedPostgres(root, durable=False).start()
    try:
        server.create_database("lcd")
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("projector_enabled", [True, False], ids=["projector", "replica"])
async def test_postgres_down_after_the_append_answers_202_with_the_sequence(
    nats_url: str, private_postgres: EmbeddedPostgres, projector_enabled: bool
) -> None:
    database_url = private_postgres.url("lcd")
    async with (
        client_for(make_settings(nats_url, database_url)) as projector,
        client_for(
            make_settings(nats_url, database_url, projector_enabled=projector_enabled)
        ) as client,
    ):
        assert (await client.post("/api/v1/projects", json=project("first"))).status_code == 201
        private_postgres.stop()
        landed = await client.post("/api/v1/projects", json=project("landed"))
        assert landed.status_code == 202, landed.text
        seq = int(landed.headers["x-lc-seq"])
        assert landed.json()["seq"] == seq
        # While PostgreSQL is down, reads and idempotent writes say so; none is a 500.
        read = await client.get("/api/v1/projects/first")
        assert read.status_code == 503, read.text
        assert read.headers["retry-after"] == "1"
        keyed = await client.post(
            "/api/v1/projects", json=project("keyed"), headers={"Idempotency-Key": "k-1"}
        )
        assert keyed.status_code == 503, keyed.text

        private_postgres.start()  # same port, same data

        async def visible() -> bool:
            answer = await client.get("/api/v1/projects/landed")
            return answer.status_code == 200

        await eventually(visible, "the accepted write to be projected")
        assert (await projector.get("/api/v1/projects/landed")).status_code == 200


async def test_a_body_near_nats_max_payload_is_413(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/projects", json=project("big"))).status_code == 201
    service: dict[str, Any] = {
        "name": "big",
        "tier": "cpu",
        "kind": {"container": {"image": "nginx:1.27", "env": [], "ports": [{"port": 80}]}},
    }
    env = service["kind"]["container"]["env"]
    body = b""
    for i in range(64):  # grow the body to just under lcd's 1 MiB limit
        env.append({"name": f"V{i}", "value": ""})
        room = BODY_LIMIT - 200 - len(json.dumps(service, separators=(",", ":")))
        env[-1]["value"] = "x" * min(32_768, room)
        body = json.dumps(service, separators=(",", ":")).encode()
        if room <= 32_768:
            break
    assert BODY_LIMIT - 300 < len(body) < BODY_LIMIT
    answer = await client.post(
        "/api/v1/projects/big/services",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 413, answer.text[:300]
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert answer.json()["type"].endswith("/payload-too-large")
    # The connection to NATS survived: the next write goes through.
    small = {**service, "kind": {"container": {"image": "nginx:1.27", "ports": [{"port": 80}]}}}
    assert (await client.post("/api/v1/projects/big/services", json=small)).status_code in (
        200,
        201,
    )


async def test_a_stored_idempotent_answer_is_replayed_only_to_an_authenticated_caller(
    auth_client: httpx.AsyncClient,
) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await auth_client.post(
        "/api/v1/projects", json=project("idem"), headers=key, auth=ADMIN
    )
    assert first.status_code == 201, first.text

    anonymous = await auth_client.post("/api/v1/projects", json=project("idem"), headers=key)
    assert anonymous.status_code == 401, anonymous.text
    assert "idempotent-replayed" not in anonymous.headers
    wrong = await auth_client.post(
        "/api/v1/projects", json=project("idem"), headers=key, auth=(ADMIN[0], "wrong")
    )
    assert wrong.status_code == 401, wrong.text

    replayed = await auth_client.post(
        "/api/v1/projects", json=project("idem"), headers=key, auth=ADMIN
    )
    assert replayed.status_code == 201
    assert replayed.headers["idempotent-replayed"] == "true"
