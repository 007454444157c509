"""The emulated API server's object store: pure, synchronous, in memory.

Who calls it: `http_server` for every request, and the simulated controllers and engine
(`lc_clustersim.controllers`, `lc_clustersim.engine`) that write status through it
directly. It knows nothing about HTTP.

What it owns:
- objects by resource type, namespace and name, each stored as an immutable snapshot
  whose JSON encoding is computed once (a list of 10,000 objects joins cached bytes);
- one cluster-wide, monotonically increasing `resourceVersion`; `uid`, `generation`
  (bumped when anything but metadata and status changes), `creationTimestamp` and
  `managedFields` (see `field_ownership`);
- optimistic concurrency (a stale `resourceVersion` on a write is 409 Conflict);
- the `status` subresource: main-resource writes keep the stored status, status writes
  change nothing else;
- deletion with finalizers (`deletionTimestamp` until they are cleared), namespace
  deletion cascading to everything in the namespace, owner-reference garbage collection
  (removing what `garbage_collection` names), and CRD registration (a written CRD serves its kind; a deleted one drops its objects);
- every change appended to the `watch_log` (which watches read and subscribe to);
  which objects a deletion takes along is `garbage_collection`'s answer.
"""

from __future__ import annotations

import copy
import json
import secrets
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Final

import yaml

from lc_clustersim.kubeapi import field_ownership
from lc_clustersim.kubeapi.errors import (
    ApiError,
    already_exists,
    bad_request,
    conflict,
    invalid,
    not_found,
)
from lc_clustersim.kubeapi.garbage_collection import dependents, namespace_contents
from lc_clustersim.kubeapi.patches import json_patch
from lc_clustersim.kubeapi.resources import (
    CRD_KEY,
    NAMESPACE_KEY,
    ResourceCatalog,
    ResourceKey,
    ResourceType,
    resource_type_from_crd,
)
from lc_clustersim.kubeapi.selectors import Matcher
from lc_clustersim.kubeapi.stored import StoredObject
from lc_clustersim.kubeapi.watch_log import ADDED, DELETED, MODIFIED, Listener, WatchEvent, WatchLog
from lc_contracts.merge_patch import merge_patch

MERGE_PATCH: Final = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH: Final = "application/strategic-merge-patch+json"
JSON_PATCH: Final = "application/json-patch+json"
APPLY_PATCH: Final = "application/apply-patch+yaml"
PATCH_TYPES: Final = (MERGE_PATCH, STRATEGIC_MERGE_PATCH, JSON_PATCH, APPLY_PATCH)

DEFAULT_NAMESPACES: Final = ("default", "kube-system", "kube-public", "kube-node-lease")


def _strip_status(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != "status"}


def _spec_view(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def _without_times(obj: dict[str, Any]) -> dict[str, Any]:
    meta = dict(obj.get("metadata") or {})
    meta["managedFields"] = [
        {k: v for k, v in entry.items() if k != "time"} for entry in meta.get("managedFields") or []
    ]
    return {**obj, "metadata": meta}


def _same_content(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """True for a no-op write (managedFields timestamps aside): it must not bump the version."""
    return new == old or _without_times(new) == _without_times(old)


class ObjectStore:
    """All objects of the emulated cluster, and the log of their changes."""

    def __init__(self, *, window: int = 10_000) -> None:
        self.catalog = ResourceCatalog()
        self._objects: dict[ResourceKey, dict[tuple[str, str], StoredObject]] = {}
        self._log = WatchLog(window)
        self._rv = 0
        for namespace in DEFAULT_NAMESPACES:
            self.create(
                self.type_for(NAMESPACE_KEY),
                None,
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
                manager="clustersim",
            )

    # -- types and versions ------------------------------------------------------

    def type_for(self, key: ResourceKey) -> ResourceType:
        found = self.catalog.get(key)
        if found is None:
            raise ApiError(
                404, "NotFound", f"the server could not find the requested resource {key}"
            )
        return found

    @property
    def resource_version(self) -> int:
        return self._rv

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    # -- subscriptions -----------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self._log.subscribe(listener)

    def events_since(self, resource_version: int) -> list[WatchEvent]:
        """Every change after `resource_version`; 410 Gone if the log no longer has them."""
        return self._log.events_since(resource_version, self._rv)

    # -- reads -------------------------------------------------------------------

    def _bucket(self, key: ResourceKey) -> dict[tuple[str, str], StoredObject]:
        return self._objects.setdefault(key, {})

    def _key(self, rt: ResourceType, namespace: str | None, name: str) -> tuple[str, str]:
        return ((namespace or "") if rt.namespaced else "", name)

    def get_stored(self, rt: ResourceType, namespace: str | None, name: str) -> StoredObject:
        found = self._bucket(rt.key).get(self._key(rt, namespace, name))
        if found is None:
            raise not_found(rt.plural, name, rt.group)
        return found

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.get_stored(rt, namespace, name).obj)

    def list_objects(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        label_selector: Matcher | None = None,
        field_selector: Matcher | None = None,
    ) -> list[StoredObject]:
        """Matching objects sorted by namespace and name."""
        bucket = self._bucket(rt.key)
        items: Iterable[StoredObject] = (
            bucket.values()
            if not (rt.namespaced and namespace)
            else (o for (ns, _), o in bucket.items() if ns == namespace)
        )
        if label_selector is not None:
            items = (o for o in items if label_selector(o.obj))
        if field_selector is not None:
            items = (o for o in items if field_selector(o.obj))
        return sorted(items, key=lambda o: (o.namespace, o.name))

    # -- writes ------------------------------------------------------------------

    def _check_namespace(self, rt: ResourceType, namespace: str | None) -> str:
        if not rt.namespaced:
            return ""
        if not namespace:
            raise bad_request("the namespace is required for a namespaced resource")
        ns = self._bucket(NAMESPACE_KEY).get(("", namespace))
        if ns is None:
            raise not_found("namespaces", namespace)
        if ns.metadata.get("deletionTimestamp"):
            raise ApiError(
                403,
                "Forbidden",
                f"{rt.plural} is forbidden: unable to create new content in namespace {namespace} "
                "because it is being terminated",
            )
        return namespace

    def _normalise(self, rt: ResourceType, namespace: str | None, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object")
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        if rt.namespaced:
            body_ns = meta.get("namespace")
            if namespace and body_ns and body_ns != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace "
                    "sent on the request"
                )
            meta["namespace"] = namespace or body_ns
        else:
            meta.pop("namespace", None)
        obj["apiVersion"] = obj.get("apiVersion") or rt.api_version
        obj["kind"] = obj.get("kind") or rt.kind
        if obj["kind"] != rt.kind:
            raise bad_request(f"kind {obj['kind']!r} does not match the resource {rt.qualified}")
        return obj

    def _validate(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        name = obj["metadata"].get("name")
        if not name or not isinstance(name, str):
            raise invalid(f"{rt.kind} is invalid: metadata.name: Required value", kind=rt.kind)
        labels = obj["metadata"].get("labels") or {}
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise invalid(
                f"{rt.kind} {name!r} is invalid: metadata.labels must map strings to strings",
                name,
                rt.kind,
            )
        if rt.key == CRD_KEY:
            try:
                declared = resource_type_from_crd(obj)
            except ValueError as exc:
                raise invalid(
                    f"CustomResourceDefinition {name!r} is invalid: {exc}", name, rt.kind
                ) from None
            if name != f"{declared.plural}.{declared.group}":
                raise invalid(
                    f"CustomResourceDefinition {name!r} is invalid: metadata.name must be "
                    f"spec.names.plural+'.'+spec.group",
                    name,
                    rt.kind,
                )

    def _store(
        self,
        rt: ResourceType,
        obj: dict[str, Any],
        old: StoredObject | None,
    ) -> StoredObject:
        obj["metadata"]["resourceVersion"] = self._next_rv()
        stored = StoredObject(obj)
        self._bucket(rt.key)[
            self._key(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        ] = stored
        self._log.emit(ADDED if old is None else MODIFIED, rt.key, stored, old)
        if rt.key == CRD_KEY:
            self._on_crd_written(obj)
        return stored

    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: Any,
        *,
        manager: str,
        managed_fields: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        obj = self._normalise(rt, namespace, body)
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
        self._validate(rt, obj)
        ns = self._check_namespace(rt, meta.get("namespace"))
        if self._bucket(rt.key).get(self._key(rt, ns, meta["name"])) is not None:
            raise already_exists(rt.plural, meta["name"], rt.group)
        for key in ("resourceVersion", "deletionTimestamp", "managedFields"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = field_ownership.now_rfc3339()
        meta["generation"] = 1
        if rt.has_status and rt.key != NAMESPACE_KEY:
            obj.pop("status", None)
        if rt.key == NAMESPACE_KEY:
            obj["spec"] = {"finalizers": ["kubernetes"]}
            obj["status"] = {"phase": "Active"}
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
        if rt.key == CRD_KEY:
            obj["status"] = self._crd_status(obj)
        meta["managedFields"] = (
            managed_fields
            if managed_fields is not None
            else field_ownership.record_update(
                None, obj, manager=manager, subresource="", include_status=not rt.has_status
            )
        )
        return copy.deepcopy(self._store(rt, obj, None).obj)

    def _check_version(self, rt: ResourceType, current: StoredObject, body: dict[str, Any]) -> None:
        wanted = (body.get("metadata") or {}).get("resourceVersion")
        if wanted and str(wanted) != current.metadata["resourceVersion"]:
            raise conflict(rt.plural, current.name, rt.group)

    def _finish_write(
        self,
        rt: ResourceType,
        current: StoredObject,
        new: dict[str, Any],
        *,
        subresource: str,
    ) -> dict[str, Any]:
        """Keep server-owned fields, bump generation, store; a no-op write stores nothing."""
        old = current.obj
        meta = new.setdefault("metadata", {})
        for key in (
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
        ):
            if key in old["metadata"]:
                meta[key] = old["metadata"][key]
            else:
                meta.pop(key, None)
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if subresource == "status":
            new = {**old, "status": new.get("status")}
            if new["status"] is None:
                new.pop("status")
            new["metadata"] = {**old["metadata"], "managedFields": meta.get("managedFields")}
        elif rt.has_status:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        if _spec_view(new) != _spec_view(old):
            new["metadata"]["generation"] = int(old["metadata"].get("generation", 1)) + 1
        if _same_content(new, old):
            return copy.deepcopy(old)
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            return self._remove(rt, current, final=new)
        self._validate(rt, new)
        return copy.deepcopy(self._store(rt, new, current).obj)

    def replace(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        *,
        manager: str,
        subresource: str = "",
    ) -> dict[str, Any]:
        current = self.get_stored(rt, namespace, name)
        new = self._normalise(rt, namespace, body)
        if new["metadata"].get("name") not in (None, name):
            raise bad_request("the name of the object does not match the name on the URL")
        new["metadata"]["name"] = name
        self._check_version(rt, current, new)
        new["metadata"]["managedFields"] = field_ownership.record_update(
            current.obj,
            new,
            manager=manager,
            subresource=subresource,
            include_status=not rt.has_status,
        )
        return self._finish_write(rt, current, new, subresource=subresource)

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        patch_type: str,
        body: bytes | Any,
        *,
        manager: str,
        force: bool = False,
        subresource: str = "",
    ) -> tuple[dict[str, Any], bool]:
        """Apply a patch; returns (object, created). Only an apply may create."""
        patch = self._decode_patch(patch_type, body)
        existing = self._bucket(rt.key).get(self._key(rt, namespace, name))
        if patch_type == APPLY_PATCH:
            return self._apply(rt, namespace, name, patch, existing, manager, force, subresource)
        if existing is None:
            raise not_found(rt.plural, name, rt.group)
        if patch_type == JSON_PATCH:
            new = json_patch(existing.obj, patch)
        else:
            if not isinstance(patch, dict):
                raise bad_request("a merge patch must be a JSON object")
            self._check_version(rt, existing, patch)
            new = merge_patch(existing.obj, patch)
        if not isinstance(new, dict):
            raise bad_request("the patched object is not a JSON object")
        new = self._normalise(rt, namespace, new)
        new["metadata"]["managedFields"] = field_ownership.record_update(
            existing.obj,
            new,
            manager=manager,
            subresource=subresource,
            include_status=not rt.has_status,
        )
        return self._finish_write(rt, existing, new, subresource=subresource), False

    @staticmethod
    def _decode_patch(patch_type: str, body: bytes | Any) -> Any:
        if patch_type not in PATCH_TYPES:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {', '.join(PATCH_TYPES)}",
            )
        if not isinstance(body, bytes | bytearray):
            return body
        try:
            if patch_type == APPLY_PATCH:
                return yaml.safe_load(body.decode())
            return json.loads(body)
        except (ValueError, yaml.YAMLError) as exc:
            raise bad_request(f"error decoding patch: {exc}") from None

    def _apply(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        applied: Any,
        existing: StoredObject | None,
        manager: str,
        force: bool,
        subresource: str,
    ) -> tuple[dict[str, Any], bool]:
        if not isinstance(applied, dict):
            raise bad_request("an apply configuration must be an object")
        if not applied.get("apiVersion") or not applied.get("kind"):
            raise bad_request("apiVersion and kind are required in an apply configuration")
        if manager in ("", "unknown"):
            raise ApiError(
                422,
                "Invalid",
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                "is required for apply patch",
            )
        applied = self._normalise(rt, namespace, applied)
        if applied["metadata"].get("name") not in (None, name):
            raise bad_request("the name of the object does not match the name on the URL")
        applied["metadata"]["name"] = name
        if rt.has_status and subresource != "status":
            applied = _strip_status(applied)
        if existing is None:
            if subresource:
                raise not_found(rt.plural, name, rt.group)
            merged = field_ownership.server_side_apply(
                None,
                applied,
                manager=manager,
                force=force,
                subresource="",
                include_status=not rt.has_status,
            )
            fields = merged["metadata"].pop("managedFields")
            # Ownership is the applier's, recorded as an Apply (not as a create's Update).
            return self.create(rt, namespace, merged, manager=manager, managed_fields=fields), True
        self._check_version(rt, existing, applied)
        merged = field_ownership.server_side_apply(
            existing.obj,
            applied,
            manager=manager,
            force=force,
            subresource=subresource,
            include_status=not rt.has_status,
        )
        merged["apiVersion"] = applied["apiVersion"]
        return self._finish_write(rt, existing, merged, subresource=subresource), False

    # -- deletes -----------------------------------------------------------------

    def delete(self, rt: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        current = self.get_stored(rt, namespace, name)
        if current.metadata.get("finalizers"):
            if current.metadata.get("deletionTimestamp"):
                return copy.deepcopy(current.obj)
            obj = copy.deepcopy(current.obj)
            obj["metadata"]["deletionTimestamp"] = field_ownership.now_rfc3339()
            if rt.key == NAMESPACE_KEY:
                obj["status"] = {"phase": "Terminating"}
            return copy.deepcopy(self._store(rt, obj, current).obj)
        return self._remove(rt, current, final=None)

    def _remove(
        self, rt: ResourceType, current: StoredObject, final: dict[str, Any] | None
    ) -> dict[str, Any]:
        if rt.key == NAMESPACE_KEY:
            self._delete_namespace_contents(current.name)
        obj = copy.deepcopy(final if final is not None else current.obj)
        obj["metadata"]["resourceVersion"] = self._next_rv()
        stored = StoredObject(obj)
        del self._bucket(rt.key)[self._key(rt, current.namespace, current.name)]
        self._log.emit(DELETED, rt.key, stored, current)
        if rt.key == CRD_KEY:
            self._on_crd_deleted(current.obj)
        self._collect_dependents(current.metadata.get("uid"))
        return copy.deepcopy(obj)

    def _force_remove(self, rt: ResourceType, stored: StoredObject) -> None:
        if self._bucket(rt.key).get(self._key(rt, stored.namespace, stored.name)) is stored:
            self._remove(rt, stored, final=None)

    def _delete_namespace_contents(self, namespace: str) -> None:
        for rt, stored in list(namespace_contents(self.catalog, self._objects, namespace)):
            self._force_remove(rt, stored)

    def _collect_dependents(self, uid: str | None) -> None:
        for rt, stored in dependents(self.catalog, self._objects, uid):
            self._force_remove(rt, stored)

    # -- CRDs --------------------------------------------------------------------

    @staticmethod
    def _crd_status(crd: dict[str, Any]) -> dict[str, Any]:
        now = field_ownership.now_rfc3339()
        names = (crd.get("spec") or {}).get("names") or {}
        return {
            "acceptedNames": names,
            "storedVersions": [
                v.get("name") for v in (crd.get("spec") or {}).get("versions") or []
            ],
            "conditions": [
                {"type": t, "status": "True", "reason": r, "message": "", "lastTransitionTime": now}
                for t, r in (
                    ("NamesAccepted", "NoConflicts"),
                    ("Established", "InitialNamesAccepted"),
                )
            ],
        }

    def _on_crd_written(self, crd: dict[str, Any]) -> None:
        declared = resource_type_from_crd(crd)
        self.catalog.register(declared)

    def _on_crd_deleted(self, crd: dict[str, Any]) -> None:
        declared = resource_type_from_crd(crd)
        for stored in list(self._bucket(declared.key).values()):
            self._force_remove(declared, stored)
        self.catalog.unregister(declared.key)
        self._objects.pop(declared.key, None)

    # -- convenience for the simulated controllers -------------------------------

    def write_status(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        status: dict[str, Any],
        *,
        manager: str,
    ) -> dict[str, Any]:
        """Replace an object's status, as a controller would through `/status`."""
        current = self.get_stored(rt, namespace, name)
        body = {**current.obj, "status": status}
        return self.replace(rt, namespace, name, body, manager=manager, subresource="status")
