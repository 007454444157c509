"""Object identities and the drift check. Pure.

Callers: the reconcile worker (what to prune), the resync (what to re-apply).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Identity of one object: its kind, namespace and name."""

    api_version: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: dict[str, Any], api_version: str = "", kind: str = "") -> ObjectRef:
        """The ref of `obj`; list items may lack apiVersion/kind, so the caller passes them."""
        meta = obj.get("metadata") or {}
        return cls(
            obj.get("apiVersion") or api_version,
            obj.get("kind") or kind,
            meta.get("namespace") or "",
            meta["name"],
        )

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{where}{self.name}"


def contains(live: Any, desired: Any) -> bool:
    """Whether `live` holds every field `desired` sets, with the same value.

    Fields the server or other managers add are ignored; lists must hold our items at the
    same positions. This is what server-side apply would change, so a `False` means drift.
    """
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return False
        return all(key in live and contains(live[key], value) for key, value in desired.items())
    if isinstance(desired, list):
        if not isinstance(live, list) or len(live) < len(desired):
            return False
        return all(contains(a, b) for a, b in zip(live, desired, strict=False))
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired is live
    if isinstance(desired, int | float) and isinstance(live, int | float):
        return desired == live
    return bool(desired == live)


def drifted(desired: dict[str, Any], live: dict[str, Any]) -> bool:
    """Whether applying `desired` would change `live` (labels, annotations, spec)."""
    want_meta = desired.get("metadata") or {}
    live_meta = live.get("metadata") or {}
    for field in ("labels", "annotations"):
        if not contains(live_meta.get(field) or {}, want_meta.get(field) or {}):
            return True
    body = {k: v for k, v in desired.items() if k not in ("apiVersion", "kind", "metadata")}
    return not contains(live, body)
