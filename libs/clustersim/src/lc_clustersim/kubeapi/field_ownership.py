"""Server-side apply and `managedFields`, simplified.

Who calls it: `store` on every write. Pure functions over plain dicts.

What it owns: which field manager owns which fields of an object, and the apply merge.
The model is Kubernetes' with one simplification: a field is a path of map keys; a list
is one atomic field (real servers also key list items by name). So:

- an apply (`application/apply-patch+yaml`) sets the fields in its configuration, takes
  ownership of them, and removes fields it owned before but no longer sends (unless
  another manager also owns them);
- an apply that would change a field another manager owns with a different value is a
  409 `Conflict` listing the fields, unless `force=true`, which takes them over;
- any other write (create, update, patch) by a manager owns the fields it changed and
  takes them away from whoever owned them.

`managedFields` entries use the real `FieldsV1` encoding (`{"f:spec": {"f:replicas": {}}}`)
so clients that print them see the familiar shape.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from lc_clustersim.kubeapi.errors import ApiError

Path = tuple[str, ...]

# Server-owned metadata nobody "manages".
_SYSTEM_METADATA = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "selfLink",
        "generateName",
    }
)


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def leaf_paths(obj: dict[str, Any], *, status_only: bool, include_status: bool) -> set[Path]:
    """The managed leaf fields of an object (lists and scalars are leaves)."""
    paths: set[Path] = set()

    def walk(value: Any, prefix: Path) -> None:
        if isinstance(value, dict) and value:
            for key, child in value.items():
                walk(child, (*prefix, key))
        else:
            paths.add(prefix)

    for key, value in obj.items():
        if key in ("apiVersion", "kind"):
            continue
        if key == "metadata":
            if status_only:
                continue
            for meta_key, meta_value in (value or {}).items():
                if meta_key not in _SYSTEM_METADATA:
                    walk(meta_value, ("metadata", meta_key))
            continue
        if key == "status":
            if status_only or include_status:
                walk(value, ("status",))
            continue
        if not status_only:
            walk(value, (key,))
    return paths


def get_path(obj: Any, path: Path) -> tuple[bool, Any]:
    current = obj
    for part in path:
        if not isinstance(current, dict) or part not in current:
            return False, None
        current = current[part]
    return True, current


def _remove_path(obj: dict[str, Any], path: Path) -> None:
    parents: list[tuple[dict[str, Any], str]] = []
    current: Any = obj
    for part in path[:-1]:
        if not isinstance(current, dict) or part not in current:
            return
        parents.append((current, part))
        current = current[part]
    if isinstance(current, dict):
        current.pop(path[-1], None)
    # Prune maps that became empty, as an apply that drops the last label would.
    for parent, key in reversed(parents):
        child = parent.get(key)
        if isinstance(child, dict) and not child and key not in ("metadata", "spec"):
            parent.pop(key)
        else:
            break


def _overlaps(a: Path, b: Path) -> bool:
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def deep_merge(base: Any, overlay: Any) -> Any:
    if isinstance(base, dict) and isinstance(overlay, dict):
        result = dict(base)
        for key, value in overlay.items():
            result[key] = deep_merge(base.get(key), value)
        return result
    return copy.deepcopy(overlay)


def to_fields_v1(paths: set[Path]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for part in path:
            node = node.setdefault(f"f:{part}", {})
    return root


def from_fields_v1(fields: dict[str, Any]) -> set[Path]:
    paths: set[Path] = set()

    def walk(node: dict[str, Any], prefix: Path) -> None:
        children = {k: v for k, v in node.items() if k.startswith("f:")}
        if not children:
            if prefix:
                paths.add(prefix)
            return
        for key, child in children.items():
            walk(child if isinstance(child, dict) else {}, (*prefix, key[2:]))

    walk(fields, ())
    return paths


def _entries(obj: dict[str, Any] | None) -> list[dict[str, Any]]:
    if obj is None:
        return []
    return [dict(e) for e in (obj.get("metadata") or {}).get("managedFields") or []]


def _entry_key(entry: dict[str, Any]) -> tuple[str, str, str]:
    return (entry.get("manager", ""), entry.get("operation", ""), entry.get("subresource", ""))


def _set_entry(
    entries: list[dict[str, Any]],
    *,
    manager: str,
    operation: str,
    subresource: str,
    api_version: str,
    paths: set[Path],
) -> list[dict[str, Any]]:
    key = (manager, operation, subresource)
    kept = [e for e in entries if _entry_key(e) != key]
    if paths:
        entry: dict[str, Any] = {
            "manager": manager,
            "operation": operation,
            "apiVersion": api_version,
            "time": now_rfc3339(),
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(paths),
        }
        if subresource:
            entry["subresource"] = subresource
        kept.append(entry)
    return kept


def _without(
    entries: list[dict[str, Any]], taken: set[Path], keep: tuple[str, str, str]
) -> list[dict[str, Any]]:
    """Remove `taken` paths (and their overlaps) from every entry except `keep`."""
    result: list[dict[str, Any]] = []
    for entry in entries:
        if _entry_key(entry) == keep:
            result.append(entry)
            continue
        owned = from_fields_v1(entry.get("fieldsV1") or {})
        remaining = {p for p in owned if not any(_overlaps(p, t) for t in taken)}
        if remaining == owned:
            result.append(entry)
        elif remaining:
            result.append({**entry, "fieldsV1": to_fields_v1(remaining)})
    return result


def record_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    manager: str,
    subresource: str,
    include_status: bool,
) -> list[dict[str, Any]]:
    """managedFields after a non-apply write of `new` over `old` by `manager`."""
    status_only = subresource == "status"
    new_paths = leaf_paths(new, status_only=status_only, include_status=include_status)
    if old is None:
        changed = new_paths
    else:
        old_paths = leaf_paths(old, status_only=status_only, include_status=include_status)
        changed = {p for p in new_paths if get_path(old, p) != get_path(new, p)}
        removed = old_paths - new_paths
        changed |= removed
    entries = _entries(old)
    key = (manager, "Update", subresource)
    entries = _without(entries, changed, keep=key)
    mine = set()
    for entry in entries:
        if _entry_key(entry) == key:
            mine = from_fields_v1(entry.get("fieldsV1") or {})
    mine = {p for p in mine | changed if get_path(new, p)[0]}
    return _set_entry(
        entries,
        manager=manager,
        operation="Update",
        subresource=subresource,
        api_version=new.get("apiVersion", ""),
        paths=mine,
    )


def server_side_apply(
    current: dict[str, Any] | None,
    applied: dict[str, Any],
    *,
    manager: str,
    force: bool,
    subresource: str,
    include_status: bool,
) -> dict[str, Any]:
    """The object after `manager` applies `applied` over `current` (managedFields set)."""
    status_only = subresource == "status"
    applied_paths = leaf_paths(applied, status_only=status_only, include_status=include_status)
    base = copy.deepcopy(current) if current is not None else {}
    entries = _entries(current)
    key = (manager, "Apply", subresource)

    conflicts: list[tuple[str, Path]] = []
    for entry in entries:
        if _entry_key(entry) == key or entry.get("subresource", "") != subresource:
            continue
        owned = from_fields_v1(entry.get("fieldsV1") or {})
        for path in applied_paths:
            for other in owned:
                if _overlaps(path, other) and get_path(base, other) != get_path(applied, other):
                    conflicts.append((entry.get("manager", ""), other))
    if conflicts and not force:
        fields = sorted({(m, "." + ".".join(p)) for m, p in conflicts})
        message = (
            f"Apply failed with {len(fields)} conflict{'s' if len(fields) > 1 else ''}: "
            + "; ".join(f'conflict with "{m}": {f}' for m, f in fields)
        )
        raise ApiError(
            409,
            "Conflict",
            message,
            details={
                "causes": [
                    {
                        "reason": "FieldManagerConflict",
                        "message": f'conflict with "{m}"',
                        "field": f,
                    }
                    for m, f in fields
                ]
            },
        )

    previously: set[Path] = set()
    for entry in entries:
        if _entry_key(entry) == key:
            previously = from_fields_v1(entry.get("fieldsV1") or {})
    others: set[Path] = set()
    for entry in entries:
        if _entry_key(entry) != key:
            others |= from_fields_v1(entry.get("fieldsV1") or {})
    for path in previously - applied_paths:
        if path not in others:
            _remove_path(base, path)

    merged: dict[str, Any] = deep_merge(base, {k: v for k, v in applied.items() if k != "metadata"})
    meta = dict(merged.get("metadata") or {})
    applied_meta = applied.get("metadata") or {}
    if not status_only:
        for meta_key, value in applied_meta.items():
            if meta_key not in _SYSTEM_METADATA:
                meta[meta_key] = deep_merge(meta.get(meta_key), value)
    for name_key in ("name", "namespace"):
        if name_key in applied_meta and name_key not in meta:
            meta[name_key] = applied_meta[name_key]
    # Forced conflicts move to the applier; equal values stay shared.
    entries = _without(entries, {path for _, path in conflicts}, keep=key)
    meta["managedFields"] = _set_entry(
        entries,
        manager=manager,
        operation="Apply",
        subresource=subresource,
        api_version=applied.get("apiVersion", ""),
        paths=applied_paths,
    )
    merged["metadata"] = meta
    return merged
