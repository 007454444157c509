"""Projects: create, list, read, rename with If-Match, delete (cascade), re-create."""

from __future__ import annotations

import httpx

from .conftest import DOCS_HELLO, DOCS_LLAMA, DOCS_PROJECT

PROBLEM = "application/problem+json"


async def test_list_and_get_projects_with_pagination(client: httpx.AsyncClient) -> None:
    for slug in ("c", "a", "b"):
        assert (
            await client.post("/api/v1/projects", json={"name": slug.upper(), "slug": slug})
        ).status_code == 201
    page = (await client.get("/api/v1/projects", params={"limit": 2})).json()
    assert [p["slug"] for p in page["items"]] == ["a", "b"]
    assert page["next"] == "b"
    rest = (await client.get("/api/v1/projects", params={"after": page["next"]})).json()
    assert [p["slug"] for p in rest["items"]] == ["c"]
    assert rest["next"] is None
    one = await client.get("/api/v1/projects/b")
    assert one.status_code == 200
    assert one.json()["name"] == "B"
    assert one.headers["etag"] == f'"{one.json()["version"]}"'


async def test_duplicate_slug_is_409_and_unknown_project_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    again = await client.post("/api/v1/projects", json={"name": "Other", "slug": "default"})
    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM
    problem = again.json()
    assert problem["type"] == "https://liquidcompute.io/problems/already-exists"
    assert problem["status"] == 409
    assert "default" in problem["detail"]
    missing = await client.get("/api/v1/projects/nope")
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/not-found")
    assert (await client.patch("/api/v1/projects/nope", json={"name": "x"})).status_code == 404
    assert (await client.delete("/api/v1/projects/nope")).status_code == 404


PROJECT_CASES: list[tuple[dict[str, object], str]] = [
    ({"name": "X", "slug": "Upper"}, "/slug"),
    ({"name": "X", "slug": "-lead"}, "/slug"),
    ({"name": "X", "slug": "trail-"}, "/slug"),
    ({"name": "X", "slug": "a" * 41}, "/slug"),
    ({"name": "X", "slug": ""}, "/slug"),
    ({"name": "X", "slug": "kube-system"}, "/slug"),
    ({"name": "X", "slug": "kube-anything"}, "/slug"),
    ({"name": "X", "slug": "liquidcompute-system"}, "/slug"),
    ({"name": "X", "slug": "has.dot"}, "/slug"),
    ({"name": "", "slug": "ok"}, "/name"),
    ({"name": "x" * 101, "slug": "ok"}, "/name"),
    ({"slug": "ok"}, "/name"),
    ({"name": "X"}, "/slug"),
    ({"name": "X", "slug": "ok", "color": "red"}, "/color"),
    ({"name": 5, "slug": "ok"}, "/name"),
]


async def test_project_validation_matrix(client: httpx.AsyncClient) -> None:
    failures = []
    for body, pointer in PROJECT_CASES:
        response = await client.post("/api/v1/projects", json=body)
        problem = response.json()
        pointers = [e["pointer"] for e in problem.get("errors", [])]
        if (
            response.status_code != 422
            or not problem["type"].endswith("/validation-error")
            or pointer not in pointers
        ):
            failures.append((body, response.status_code, pointers))
    assert failures == []
    assert (await client.get("/api/v1/projects")).json()["items"] == []


async def test_server_owned_project_fields_are_refused(client: httpx.AsyncClient) -> None:
    for field in ("createdAt", "version", "serviceCount", "updatedAt"):
        response = await client.post("/api/v1/projects", json={**DOCS_PROJECT, field: 7})
        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert error["pointer"] == f"/{field}"
        assert "set by the server" in error["detail"]
    assert (await client.get("/api/v1/projects")).json()["items"] == []


async def test_rename_with_if_match_and_stale_etag_is_412(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/v1/projects", json=DOCS_PROJECT)
    etag = created.headers["etag"]
    renamed = await client.patch(
        "/api/v1/projects/default", json={"name": "Prod"}, headers={"If-Match": etag}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Prod"
    assert renamed.headers["etag"] != etag
    stale = await client.patch(
        "/api/v1/projects/default", json={"name": "Again"}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412
    assert stale.json()["type"].endswith("/precondition-failed")
    garbage = await client.patch(
        "/api/v1/projects/default", json={"name": "A"}, headers={"If-Match": '"zz"'}
    )
    assert garbage.status_code == 412
    assert (await client.get("/api/v1/projects/default")).json()["name"] == "Prod"
    slug_change = await client.patch("/api/v1/projects/default", json={"slug": "other"})
    assert slug_change.status_code == 422
    assert slug_change.json()["errors"][0]["pointer"] == "/slug"


async def test_delete_with_services_is_409_unless_cascade(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/projects", json=DOCS_PROJECT)
    await client.post("/api/v1/projects/default/services", json=DOCS_LLAMA)
    await client.post("/api/v1/projects/default/services", json=DOCS_HELLO)
    refused = await client.delete("/api/v1/projects/default")
    assert refused.status_code == 409
    assert "llama-3-8b" in refused.json()["detail"]
    assert (await client.get("/api/v1/projects/default")).status_code == 200
    deleted = await client.delete("/api/v1/projects/default", params={"cascade": "true"})
    assert deleted.status_code == 204
    assert (await client.get("/api/v1/projects/default")).status_code == 404
    assert (await client.get("/api/v1/projects/default/services/hello")).status_code == 404
    types = [e["type"] for e in (await client.get("/api/v1/events")).json()["items"]]
    assert types.count("service.deleted") == 2
    assert types[-1] == "project.deleted"


async def test_a_deleted_project_can_be_created_again(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/projects", json=DOCS_PROJECT)
    await client.post("/api/v1/projects/default/services", json=DOCS_HELLO)
    assert (await client.delete("/api/v1/projects/default?cascade=true")).status_code == 204
    again = await client.post("/api/v1/projects", json={"name": "Reborn", "slug": "default"})
    assert again.status_code == 201, again.text
    assert again.json()["name"] == "Reborn"
    assert again.json()["serviceCount"] == 0
    service = await client.post("/api/v1/projects/default/services", json=DOCS_HELLO)
    assert service.status_code == 201
    assert service.json()["revision"] == 1


async def test_delete_with_stale_if_match_is_412(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/v1/projects", json=DOCS_PROJECT)
    await client.patch("/api/v1/projects/default", json={"name": "B"})
    stale = await client.delete(
        "/api/v1/projects/default", headers={"If-Match": created.headers["etag"]}
    )
    assert stale.status_code == 412
    assert (await client.get("/api/v1/projects/default")).status_code == 200
