"""Discovery documents: `/version`, `/api`, `/apis`, `/apis/<group>` and resource lists.

Who calls it: `http_server`, for kubectl and kubernetes-asyncio. Only the legacy
(unaggregated) discovery format is served: kubectl asks for aggregated discovery first
and falls back to this when the answer is plain `application/json`.
"""

from __future__ import annotations

from typing import Any

from lc_clustersim.kubeapi.resources import ALL_VERBS, ResourceCatalog

SERVER_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-clustersim",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def core_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": name,
        "versions": entries,
        "preferredVersion": entries[0],
    }


def group_list(catalog: ResourceCatalog) -> dict[str, Any]:
    groups = [_group(name, versions) for name, versions in sorted(catalog.groups().items()) if name]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(catalog: ResourceCatalog, name: str) -> dict[str, Any] | None:
    versions = catalog.groups().get(name)
    return _group(name, versions) if versions and name else None


def resource_list(catalog: ResourceCatalog, group_name: str, version: str) -> dict[str, Any] | None:
    resources: list[dict[str, Any]] = []
    for rt in catalog:
        if rt.group != group_name or version not in rt.versions:
            continue
        entry: dict[str, Any] = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": list(ALL_VERBS),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        resources.append(entry)
        if rt.has_status:
            resources.append(
                {
                    "name": f"{rt.plural}/status",
                    "singularName": "",
                    "namespaced": rt.namespaced,
                    "kind": rt.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
    if not resources:
        return None
    group_version = f"{group_name}/{version}" if group_name else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }


def openapi_v3_root(catalog: ResourceCatalog) -> dict[str, Any]:
    """`/openapi/v3`: one entry per group-version.

    kubectl reads it to learn that PATCH accepts `fieldValidation`, so that `apply` leaves
    validation to the server instead of downloading schemas the emulator does not have.
    """
    paths: dict[str, Any] = {}
    for name, versions in catalog.groups().items():
        for version in versions:
            prefix = f"apis/{name}/{version}" if name else f"api/{version}"
            paths[prefix] = {"serverRelativeURL": f"/openapi/v3/{prefix}?hash=clustersim"}
    return {"paths": paths}


def openapi_v3_group_version(
    catalog: ResourceCatalog, group_name: str, version: str
) -> dict[str, Any] | None:
    """A minimal OpenAPI v3 document: a PATCH operation per kind, with `fieldValidation`."""
    paths: dict[str, Any] = {}
    prefix = f"/apis/{group_name}/{version}" if group_name else f"/api/{version}"
    for rt in catalog:
        if rt.group != group_name or version not in rt.versions:
            continue
        scope = "/namespaces/{namespace}" if rt.namespaced else ""
        paths[f"{prefix}{scope}/{rt.plural}/{{name}}"] = {
            "patch": {
                "operationId": f"patch{rt.kind}",
                "x-kubernetes-group-version-kind": {
                    "group": rt.group,
                    "version": version,
                    "kind": rt.kind,
                },
                "parameters": [
                    {"name": name, "in": "query", "schema": {"type": "string"}}
                    for name in ("dryRun", "fieldManager", "fieldValidation", "force")
                ],
                "responses": {"200": {"description": "OK"}},
            }
        }
    if not paths:
        return None
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (clustersim)", "version": SERVER_VERSION["gitVersion"]},
        "paths": paths,
        "components": {"schemas": {}},
    }
