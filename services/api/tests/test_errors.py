"""Malformed input never yields a 500: problem+json for every kind of garbage."""

from __future__ import annotations

import httpx

from .conftest import DOCS_HELLO, DOCS_PROJECT

GARBAGE: list[bytes] = [
    b"",
    b"{",
    b"null",
    b"[]",
    b"42",
    b'"string"',
    b"\xff\xfe\x00",
    b'{"name": {"$gt": 1}, "slug": ["a"]}',
    b'{"name": "\\ud800", "slug": "x"}',
    b'{"kind": {"model": {"modelName": null}}}',
    b'{"name": "a", "tier": "cpu", "kind": {"container": {"ports": "all"}}}',
    b'{"revision": "NaN"}',
    b'{"fqdn": "\\u0000.com", "projectSlug": "default", "serviceName": "hello"}',
    b"[" * 10000 + b"]" * 10000,
]


async def test_no_malformed_body_gets_a_500(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/projects", json=DOCS_PROJECT)
    await client.post("/api/v1/projects/default/services", json=DOCS_HELLO)
    targets = [
        ("POST", "/api/v1/projects"),
        ("PATCH", "/api/v1/projects/default"),
        ("POST", "/api/v1/projects/default/services"),
        ("PUT", "/api/v1/projects/default/services/hello"),
        ("PATCH", "/api/v1/projects/default/services/hello"),
        ("POST", "/api/v1/projects/default/services/hello/rollback"),
        ("POST", "/api/v1/domains"),
    ]
    for method, path in targets:
        for body in GARBAGE:
            response = await client.request(
                method, path, content=body, headers={"Content-Type": "application/json"}
            )
            assert response.status_code in (400, 404, 409, 422), (
                method,
                path,
                body[:40],
                response.text,
            )
            assert response.headers["content-type"] == "application/problem+json"
            problem = response.json()
            assert set(problem) >= {"type", "title", "status", "detail", "errors"}
    assert (await client.get("/api/v1/projects/default/services/hello")).json()["revision"] == 1


async def test_bad_query_parameters_and_paths_are_problems(client: httpx.AsyncClient) -> None:
    for path in (
        "/api/v1/projects?limit=0",
        "/api/v1/projects?limit=abc",
        "/api/v1/events?after=-1",
        "/api/v1/metrics?window=forever",
        "/api/v1/projects/%00",
        "/api/v1/nothing-here",
        "/api/v1/domains/../../etc",
    ):
        response = await client.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code)
        assert response.headers["content-type"] == "application/problem+json"
    not_allowed = await client.put("/api/v1/projects")
    assert not_allowed.status_code == 405
    assert not_allowed.json()["type"].endswith("/method-not-allowed")
    bad_id = await client.get("/api/v1/events/stream", headers={"Last-Event-ID": "abc"})
    assert bad_id.status_code == 400


async def test_a_nul_character_is_refused_before_it_reaches_the_log(
    client: httpx.AsyncClient,
) -> None:
    # PostgreSQL cannot store NUL: once in the log, such an event would stop the projector.
    await client.post("/api/v1/projects", json=DOCS_PROJECT)
    spec = {
        "name": "hello",
        "tier": "cpu",
        "kind": {"container": {"image": "nginx", "env": [{"name": "A", "value": "x\u0000y"}]}},
    }
    refused = await client.post("/api/v1/projects/default/services", json=spec)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["errors"] == [
        {"pointer": "/kind/container/env/0/value", "detail": "must not contain NUL (\\u0000)"}
    ]
    later = await client.post("/api/v1/projects", json={"name": "Later", "slug": "later"})
    assert later.status_code == 201
