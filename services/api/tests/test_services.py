"""Services: create, apply (PUT), patch, revisions, rollback, delete, status, validation."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from nats.js import JetStreamContext

from lc_contracts.status import ServicePhase, ServiceStatus
from lc_contracts.subjects import service_status_subject
from lc_eventstore import publish_status
from lc_testing import wait_until

from .conftest import DOCS_HELLO, DOCS_LLAMA, DOCS_PROJECT

SERVICES = "/api/v1/projects/default/services"


@pytest.fixture
async def project(client: httpx.AsyncClient) -> httpx.AsyncClient:
    assert (await client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    return client


async def test_create_twice_is_409_and_list_shows_it(project: httpx.AsyncClient) -> None:
    assert (await project.post(SERVICES, json=DOCS_LLAMA)).status_code == 201
    again = await project.post(SERVICES, json=DOCS_LLAMA)
    assert again.status_code == 409
    assert again.json()["type"].endswith("/already-exists")
    listed = (await project.get(SERVICES)).json()
    assert [s["name"] for s in listed["items"]] == ["llama-3-8b"]
    assert (await project.get("/api/v1/projects/default")).json()["serviceCount"] == 1


async def test_service_in_missing_project_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/projects/ghost/services", json=DOCS_HELLO)
    assert response.status_code == 404
    assert "ghost" in response.json()["detail"]
    assert (await client.get("/api/v1/projects/ghost/services")).status_code == 404
    assert (await client.get("/api/v1/projects/ghost/services/hello")).status_code == 404


async def test_put_creates_then_every_apply_is_a_new_revision(project: httpx.AsyncClient) -> None:
    created = await project.put(f"{SERVICES}/hello", json=DOCS_HELLO)
    assert created.status_code == 201, created.text
    assert created.json()["revision"] == 1
    same = await project.put(f"{SERVICES}/hello", json=DOCS_HELLO)
    assert same.status_code == 200
    assert same.json()["revision"] == 2
    without_name = {k: v for k, v in DOCS_HELLO.items() if k != "name"}
    third = await project.put(f"{SERVICES}/hello", json=without_name)
    assert third.json()["revision"] == 3
    mismatch = await project.put(f"{SERVICES}/hello", json={**DOCS_HELLO, "name": "other"})
    assert mismatch.status_code == 422
    assert mismatch.json()["errors"][0]["pointer"] == "/name"
    revisions = (await project.get(f"{SERVICES}/hello/revisions")).json()
    assert [r["revision"] for r in revisions] == [3, 2, 1]


async def test_patch_merges_into_the_spec(project: httpx.AsyncClient) -> None:
    await project.post(SERVICES, json=DOCS_LLAMA)
    patched = await project.patch(
        f"{SERVICES}/llama-3-8b",
        json={"kind": {"model": {"replicas": 2, "dtype": None}}},
        headers={"If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["revision"] == 2
    model = body["spec"]["kind"]["model"]
    assert model["replicas"] == 2
    assert model["dtype"] == "auto"  # removed by the patch → the default
    assert model["modelName"] == "meta-llama/Llama-3.1-8B-Instruct"
    invalid = await project.patch(
        f"{SERVICES}/llama-3-8b", json={"kind": {"model": {"replicas": -1}}}
    )
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["pointer"] == "/kind/model/replicas"
    owned = await project.patch(f"{SERVICES}/llama-3-8b", json={"revision": 9})
    assert owned.status_code == 422
    assert "set by the server" in owned.json()["errors"][0]["detail"]
    assert (await project.get(f"{SERVICES}/llama-3-8b")).json()["revision"] == 2


async def test_stale_if_match_on_put_patch_rollback_delete_is_412(
    project: httpx.AsyncClient,
) -> None:
    await project.post(SERVICES, json=DOCS_HELLO)
    await project.put(f"{SERVICES}/hello", json=DOCS_HELLO)
    stale = {"If-Match": '"1"'}
    assert (
        await project.put(f"{SERVICES}/hello", json=DOCS_HELLO, headers=stale)
    ).status_code == 412
    assert (
        await project.patch(f"{SERVICES}/hello", json={"expose": False}, headers=stale)
    ).status_code == 412
    assert (
        await project.post(f"{SERVICES}/hello/rollback", json={"revision": 1}, headers=stale)
    ).status_code == 412
    assert (await project.delete(f"{SERVICES}/hello", headers=stale)).status_code == 412
    current = await project.get(f"{SERVICES}/hello")
    assert current.headers["etag"] == '"2"'
    ok = await project.put(
        f"{SERVICES}/hello", json=DOCS_HELLO, headers={"If-Match": current.headers["etag"]}
    )
    assert ok.status_code == 200
    assert (
        await project.put(
            f"{SERVICES}/nothing", json={**DOCS_HELLO, "name": "nothing"}, headers=stale
        )
    ).status_code == 404


async def test_rollback_applies_an_old_revision_again(project: httpx.AsyncClient) -> None:
    await project.post(SERVICES, json=DOCS_HELLO)
    changed = copy.deepcopy(DOCS_HELLO)
    changed["kind"]["container"]["image"] = "hashicorp/http-echo:1.0"  # type: ignore[index]
    await project.put(f"{SERVICES}/hello", json=changed)
    rolled = await project.post(f"{SERVICES}/hello/rollback", json={"revision": 1})
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["revision"] == 3
    assert rolled.json()["spec"]["kind"]["container"]["image"] == "hashicorp/http-echo:latest"
    revisions = (await project.get(f"{SERVICES}/hello/revisions")).json()
    assert revisions[0]["rollbackOf"] == 1
    unknown = await project.post(f"{SERVICES}/hello/rollback", json={"revision": 42})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["pointer"] == "/revision"
    assert (
        await project.post(f"{SERVICES}/hello/rollback", json={"revision": 0})
    ).status_code == 422
    assert (
        await project.post(f"{SERVICES}/nope/rollback", json={"revision": 1})
    ).status_code == 404


async def test_delete_then_create_again_starts_at_revision_1(project: httpx.AsyncClient) -> None:
    await project.post(SERVICES, json=DOCS_HELLO)
    await project.put(f"{SERVICES}/hello", json=DOCS_HELLO)
    assert (await project.delete(f"{SERVICES}/hello")).status_code == 204
    assert (await project.get(f"{SERVICES}/hello")).status_code == 404
    assert (await project.get(f"{SERVICES}/hello/revisions")).status_code == 404
    assert (await project.delete(f"{SERVICES}/hello")).status_code == 404
    again = await project.post(SERVICES, json=DOCS_HELLO)
    assert again.status_code == 201
    assert again.json()["revision"] == 1


async def test_observed_status_comes_from_lc_status(
    project: httpx.AsyncClient, jetstream: JetStreamContext
) -> None:
    await project.post(SERVICES, json=DOCS_LLAMA)
    status = ServiceStatus(
        project_slug="default",
        service_name="llama-3-8b",
        phase=ServicePhase.READY,
        message="1/1 replicas ready",
        revision=1,
        model_name="meta-llama/Llama-3.1-8B-Instruct",
        ready_replicas=1,
        observed_at=datetime.now(UTC),
    )
    await publish_status(jetstream, service_status_subject("default", "llama-3-8b"), status)

    async def ready() -> Any:
        body = (await project.get(f"{SERVICES}/llama-3-8b")).json()
        return body if body["status"]["phase"] == "Ready" else None

    body = await wait_until(ready, timeout=10)
    assert body["status"]["readyReplicas"] == 1
    assert body["status"]["observedRevision"] == 1
    assert body["status"]["message"] == "1/1 replicas ready"


async def test_unexposed_service_has_no_url(project: httpx.AsyncClient) -> None:
    body = {**DOCS_HELLO, "name": "worker", "expose": False}
    response = await project.post(SERVICES, json=body)
    assert response.status_code == 201
    assert response.json()["url"] is None


def _with(base: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(base)
    node = out
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


_DELETE = object()
C = ["kind", "container"]
M = ["kind", "model"]


# One app for the whole matrix: each case is independent and leaves nothing behind.
SERVICE_CASES: list[tuple[dict[str, Any], str]] = [
    (_with(DOCS_HELLO, ["name"], "Hello"), "/name"),
    (_with(DOCS_HELLO, ["name"], "a" * 41), "/name"),
    (_with(DOCS_HELLO, ["tier"], "tpu"), "/tier"),
    (_with(DOCS_HELLO, ["tier"], "inference"), ""),
    (_with(DOCS_LLAMA, ["tier"], "gpu"), ""),
    (_with(DOCS_HELLO, [*C, "image"], "Not An Image!"), "/kind/container/image"),
    (_with(DOCS_HELLO, [*C, "ports"], [{"port": 0}]), "/kind/container/ports/0/port"),
    (_with(DOCS_HELLO, [*C, "ports"], [{"port": 70000}]), "/kind/container/ports/0/port"),
    (_with(DOCS_HELLO, [*C, "ports"], [{"port": 80}, {"port": 80}]), "/kind/container"),
    (_with(DOCS_HELLO, [*C, "env"], [{"name": "1BAD"}]), "/kind/container/env/0/name"),
    (_with(DOCS_HELLO, [*C, "replicas"], 101), "/kind/container/replicas"),
    (_with(DOCS_HELLO, [*C, "resources"], {"gpus": 1}), ""),
    (_with(DOCS_HELLO, [*C, "resources"], {"memory": "lots"}), "/kind/container/resources/memory"),
    (_with(DOCS_HELLO, [*C, "unknown"], 1), "/kind/container/unknown"),
    (_with(DOCS_LLAMA, [*M, "modelName"], ""), "/kind/model/modelName"),
    (_with(DOCS_LLAMA, [*M, "dtype"], "float64"), "/kind/model/dtype"),
    (_with(DOCS_LLAMA, [*M, "endpoints"], []), "/kind/model/endpoints"),
    (_with(DOCS_LLAMA, [*M, "endpoints"], ["completions", "completions"]), "/kind/model/endpoints"),
    (_with(DOCS_LLAMA, [*M, "endpoints"], ["images"]), "/kind/model/endpoints/0"),
    (_with(DOCS_LLAMA, [*M, "gpus"], 17), "/kind/model/gpus"),
    (_with(DOCS_LLAMA, [*M, "model_name"], "snake"), "/kind/model/model_name"),
    (_with(DOCS_LLAMA, ["kind"], {}), "/kind"),
    (
        _with(
            DOCS_LLAMA,
            ["kind"],
            {"model": DOCS_LLAMA["kind"]["model"], "container": {"image": "x"}},
        ),
        "/kind",
    ),
    (_with(DOCS_LLAMA, ["revision"], 3), "/revision"),
    (_with(DOCS_LLAMA, ["status"], {"phase": "Ready"}), "/status"),
    (_with(DOCS_LLAMA, ["createdAt"], "2020-01-01T00:00:00Z"), "/createdAt"),
    (_with(DOCS_LLAMA, ["url"], "https://x"), "/url"),
    (_with(DOCS_LLAMA, ["name"], _DELETE), "/name"),
]


async def test_service_validation_matrix(project: httpx.AsyncClient) -> None:
    failures = []
    for index, (body, pointer) in enumerate(SERVICE_CASES):
        for method, path in (("POST", SERVICES), ("PUT", f"{SERVICES}/hello")):
            if method == "PUT" and "name" not in body:
                continue  # PUT takes a missing name from the URL
            response = await project.request(method, path, json=body)
            problem = response.json()
            pointers = [e["pointer"] for e in problem.get("errors", [])]
            if (
                response.status_code != 422
                or not problem["type"].endswith("/validation-error")
                or pointer not in pointers
            ):
                failures.append((index, method, response.status_code, pointers, pointer))
    assert failures == []
    assert (await project.get(SERVICES)).json()["items"] == []
