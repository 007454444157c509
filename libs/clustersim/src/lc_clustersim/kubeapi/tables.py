"""`meta.k8s.io/v1` Table rendering, which is what `kubectl get` asks for.

Who calls it: `http_server`, for lists, single objects and watch events requested with
`Accept: application/json;as=Table;...`. Columns: Name, a few per built-in kind, a CRD's
`additionalPrinterColumns`, and Age.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from lc_clustersim.kubeapi.resources import ResourceType


def _age(timestamp: str | None) -> str:
    if not timestamp:
        return "<unknown>"
    try:
        created = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "<unknown>"
    seconds = max(0, int((datetime.now(UTC) - created).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


_FILTER = re.compile(r'^(.*)\[\?\(@\.(\w+)=="([^"]*)"\)\]\.(\w+)$')


def _json_path(obj: Any, path: str) -> Any:
    """Dotted paths, plus one `[?(@.key=="value")].field` list filter (cert-manager's Ready)."""
    if match := _FILTER.match(path):
        items = _json_path(obj, match.group(1))
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and str(item.get(match.group(2))) == match.group(3):
                return item.get(match.group(4))
        return None
    current = obj
    for part in path.lstrip(".").split("."):
        if not part:
            continue
        if isinstance(current, dict):
            current = current.get(part)
        else:
            return None
    return current


def _builtin_columns(rt: ResourceType) -> list[tuple[str, str, Any]]:
    """(column name, type, getter) for the built-in kinds."""

    def status(path: str) -> Any:
        return lambda o: _json_path(o, path) or ""

    if rt.kind == "Namespace":
        return [("Status", "string", status(".status.phase"))]
    if rt.kind == "Deployment":
        return [
            (
                "Ready",
                "string",
                lambda o: (
                    f"{_json_path(o, '.status.readyReplicas') or 0}/"
                    f"{_json_path(o, '.spec.replicas') if _json_path(o, '.spec.replicas') is not None else 1}"
                ),
            ),
            ("Up-to-date", "integer", lambda o: _json_path(o, ".status.updatedReplicas") or 0),
            ("Available", "integer", lambda o: _json_path(o, ".status.availableReplicas") or 0),
        ]
    if rt.kind == "Service":
        return [
            ("Type", "string", lambda o: _json_path(o, ".spec.type") or "ClusterIP"),
            ("Cluster-IP", "string", lambda o: _json_path(o, ".spec.clusterIP") or "<none>"),
        ]
    if rt.kind == "Ingress":
        return [
            (
                "Hosts",
                "string",
                lambda o: (
                    ",".join(r.get("host", "*") for r in _json_path(o, ".spec.rules") or []) or "*"
                ),
            ),
            (
                "Address",
                "string",
                lambda o: ",".join(
                    i.get("ip") or i.get("hostname") or ""
                    for i in _json_path(o, ".status.loadBalancer.ingress") or []
                ),
            ),
        ]
    if rt.kind in ("PersistentVolumeClaim", "Pod"):
        return [("Status", "string", status(".status.phase"))]
    columns: list[tuple[str, str, Any]] = []
    for column in rt.printer_columns:
        if column.get("name") == "Age":
            continue
        path = str(column.get("jsonPath", ""))
        columns.append(
            (
                str(column.get("name")),
                str(column.get("type", "string")),
                lambda o, p=path: "" if _json_path(o, p) is None else _json_path(o, p),
            )
        )
    return columns


def _row_object(obj: dict[str, Any], include_object: str) -> dict[str, Any]:
    if include_object == "Object":
        return obj
    if include_object == "None":
        return {}
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata", {}),
    }


def table(
    rt: ResourceType,
    objects: Iterable[dict[str, Any]],
    *,
    resource_version: str,
    include_object: str = "Metadata",
    continue_token: str = "",
) -> dict[str, Any]:
    columns = _builtin_columns(rt)
    definitions = [
        {"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}
    ]
    definitions += [
        {"name": name, "type": type_, "format": "", "description": name, "priority": 0}
        for name, type_, _ in columns
    ]
    definitions.append(
        {"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0}
    )
    rows = []
    for obj in objects:
        meta = obj.get("metadata", {})
        cells: list[Any] = [meta.get("name", "")]
        cells += [getter(obj) for _, _, getter in columns]
        cells.append(_age(meta.get("creationTimestamp")))
        rows.append({"cells": cells, "object": _row_object(obj, include_object)})
    list_meta: dict[str, Any] = {"resourceVersion": resource_version}
    if continue_token:
        list_meta["continue"] = continue_token
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": definitions,
        "rows": rows,
    }
