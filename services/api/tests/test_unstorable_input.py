"""A value PostgreSQL cannot store (NUL, an unpaired surrogate) is a 422 at its field.

Before, lcd accepted it, the projector could never apply the event, and every later
write answered 202.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from .conftest import DOCS_PROJECT

CONTAINER: dict[str, Any] = {
    "name": "box",
    "tier": "cpu",
    "kind": {
        "container": {
            "image": "busybox:1",
            "command": ["sh"],
            "args": ["-c", "echo hi"],
            "env": [{"name": "GREETING", "value": "hi"}],
            "ports": [{"port": 8080, "name": "http"}],
            "storage": {"size": "1Gi", "storageClass": "fast"},
        }
    },
}
MODEL: dict[str, Any] = {
    "name": "llm",
    "tier": "inference",
    "kind": {"model": {"modelName": "org/model", "args": ["--max-model-len", "4096"]}},
}
SERVICES = "/api/v1/projects/default/services"

# (method, path, body, where the bad character goes, the pointer the 422 names)
CASES: list[tuple[str, str, dict[str, Any], tuple[str | int, ...], str]] = [
    ("POST", "/api/v1/projects", {"name": "Other", "slug": "other"}, ("name",), "/name"),
    ("PATCH", "/api/v1/projects/default", {"name": "Renamed"}, ("name",), "/name"),
    ("POST", SERVICES, CONTAINER, ("name",), "/name"),
    ("POST", SERVICES, MODEL, ("kind", "model", "modelName"), "/kind/model/modelName"),
    ("POST", SERVICES, MODEL, ("kind", "model", "args", 1), "/kind/model/args"),
    ("POST", SERVICES, CONTAINER, ("kind", "container", "image"), "/kind/container/image"),
    ("POST", SERVICES, CONTAINER, ("kind", "container", "command", 0), "/kind/container/command"),
    ("POST", SERVICES, CONTAINER, ("kind", "container", "args", 1), "/kind/container/args"),
    (
        "POST",
        SERVICES,
        CONTAINER,
        ("kind", "container", "env", 0, "value"),
        "/kind/container/env/0/value",
    ),
    (
        "POST",
        SERVICES,
        CONTAINER,
        ("kind", "container", "env", 0, "name"),
        "/kind/container/env/0/name",
    ),
    (
        "POST",
        SERVICES,
        CONTAINER,
        ("kind", "container", "storage", "storageClass"),
        "/kind/container/storage/storageClass",
    ),
    (
        "POST",
        "/api/v1/domains",
        {"fqdn": "chat.acme.com", "projectSlug": "default", "serviceName": "box"},
        ("fqdn",),
        "/fqdn",
    ),
]


def _with_suffix(doc: dict[str, Any], path: tuple[str | int, ...], suffix: str) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    node: Any = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] += suffix
    return out


@pytest.mark.parametrize("bad", ["\x00", "\ud83d"], ids=["nul", "lone-surrogate"])
async def test_an_unstorable_string_is_a_422_naming_its_field(
    client: httpx.AsyncClient, bad: str
) -> None:
    assert (await client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    for method, path, doc, where, pointer in CASES:
        # json.dumps escapes both as \u0000 / \ud83d, as any JSON client may send them.
        body = json.dumps(_with_suffix(doc, where, bad)).encode()
        response = await client.request(
            method, path, content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, (method, path, where, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        pointers = [e["pointer"] for e in response.json()["errors"]]
        # At the field, or at the very item of a list field.
        assert any(p == pointer or p.startswith(pointer + "/") for p in pointers), pointers
    # Nothing reached the log: writes still answer 201, the read models are current.
    created = await client.post(SERVICES, json=CONTAINER)
    assert created.status_code == 201, created.text
    project = (await client.get("/api/v1/projects/default")).json()
    assert project["name"] == DOCS_PROJECT["name"]
