"""The Kubernetes API over HTTP on a loopback port (aiohttp), in front of `ObjectStore`.

Who calls it: `lc_clustersim.sim.ClusterSim` starts it; kubernetes-asyncio and kubectl
talk to it through the kubeconfig `kubeconfig.write_kubeconfig` writes.

What it owns: URL routing (`/api/v1/...`, `/apis/<group>/<version>/...`, namespaced and
cluster-scoped, the `status` subresource), query parameters (`labelSelector`,
`fieldSelector`, `watch`, `resourceVersion`, `timeoutSeconds`, `limit`/`continue`,
`fieldManager`, `force`), content types (JSON bodies, protobuf bodies of the kinds
`protobuf_objects` decodes; merge, strategic-merge, JSON and apply patches), Tables for
kubectl, `Status` errors, and watch streams:

- a watch without `resourceVersion` (or with "0") starts with ADDED for every matching
  object, then follows changes;
- a watch from a version replays every later change from the store's log exactly once,
  then follows; a version older than the log answers an ERROR event with a 410 Status,
  as a real server does;
- a change that moves an object out of a label selector is sent as DELETED, into it as
  ADDED;
- `close_watches()` ends every open watch cleanly (clients resume from their last
  version), which is the "drop a watch" fault knob.

Why not kmock: kmock 0.8's `KubernetesEmulator` stores objects as plain dict merges and
serves them, but has no resourceVersion (lists answer `"..."`), no watch resumption or
410, no server-side apply or field managers, no label/field selectors, no optimistic
concurrency (409 on a stale PUT), no status subresource and no namespace cascade; every
item of the acceptance list would have to be built on top of it, in a request-reaction
DSL meant for scripted mocks. This is a focused emulator instead.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from lc_clustersim.kubeapi import discovery, protobuf_objects, tables
from lc_clustersim.kubeapi.errors import ApiError, bad_request
from lc_clustersim.kubeapi.patches import json_patch
from lc_clustersim.kubeapi.resources import NAMESPACE_KEY, ResourceType
from lc_clustersim.kubeapi.selectors import (
    Matcher,
    field_selector_name,
    parse_field_selector,
    parse_label_selector,
)
from lc_clustersim.kubeapi.store import (
    JSON_PATCH,
    MERGE_PATCH,
    ObjectStore,
)
from lc_clustersim.kubeapi.stored import StoredObject
from lc_clustersim.kubeapi.watch_log import ADDED, DELETED, MODIFIED, WatchEvent
from lc_clustersim.kubeapi.write_log import MUTATING, RecordedWrite, WriteLog
from lc_contracts.merge_patch import merge_patch

log = logging.getLogger(__name__)

_STATUS_SUBRESOURCES = ("status", "finalize")
_SCALABLE = ("Deployment", "ReplicaSet")


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
    )


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


class _Target:
    """What a URL addresses: a resource type, maybe a namespace, name and subresource."""

    __slots__ = ("name", "namespace", "rt", "subresource", "watch_prefix")

    def __init__(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str | None,
        subresource: str,
        watch_prefix: bool,
    ) -> None:
        self.rt = rt
        self.namespace = namespace
        self.name = name
        self.subresource = subresource
        self.watch_prefix = watch_prefix


class _WatchFilter:
    def __init__(
        self, rt: ResourceType, namespace: str | None, labels: Matcher, fields: Matcher
    ) -> None:
        self.rt = rt
        self.namespace = namespace if rt.namespaced else None
        self.labels = labels
        self.fields = fields

    def _matches(self, stored: StoredObject | None) -> bool:
        if stored is None:
            return False
        if self.namespace and stored.namespace != self.namespace:
            return False
        return self.labels(stored.obj) and self.fields(stored.obj)

    def translate(self, event: WatchEvent) -> str | None:
        """The event type this watcher sees for `event`, or None to skip it."""
        if event.resource != self.rt.key:
            return None
        new_matches = self._matches(event.obj)
        if event.type == DELETED:
            return DELETED if new_matches else None
        if event.type == ADDED:
            return ADDED if new_matches else None
        old_matches = self._matches(event.old)
        if new_matches and old_matches:
            return MODIFIED
        if new_matches:
            return ADDED
        if old_matches:
            return DELETED
        return None


class KubeApiServer:
    """Serves an `ObjectStore` as a Kubernetes API server."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self._watch_queues: set[asyncio.Queue[WatchEvent | None]] = set()
        self.write_log = WriteLog()

    # -- lifecycle ---------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=0.5, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self._host = host
        self._port = sockets[0].getsockname()[1] if sockets else port

    async def stop(self) -> None:
        self.close_watches()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def open_watches(self) -> int:
        return len(self._watch_queues)

    def close_watches(self) -> int:
        """End every open watch stream; returns how many were open."""
        queues = list(self._watch_queues)
        for queue in queues:
            queue.put_nowait(None)
        return len(queues)

    # -- routing -----------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.method not in MUTATING:
            return await self._answer(request)
        holders = self._lease_holders()
        response = await self._answer(request)
        self.write_log.record(
            RecordedWrite(
                request.method,
                request.path,
                request.headers.get("User-Agent", ""),
                response.status,
                holders,
            )
        )
        return response

    def _lease_holders(self) -> dict[str, str]:
        leases = self.store.catalog.get(("coordination.k8s.io", "leases"))
        if leases is None:
            return {}
        return {
            f"{obj.obj['metadata'].get('namespace')}/{obj.obj['metadata']['name']}": str(
                (obj.obj.get("spec") or {}).get("holderIdentity") or ""
            )
            for obj in self.store.list_objects(leases, None)
        }

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._route(request)
        except ApiError as exc:
            return _json(exc.status(), exc.code)
        except Exception as exc:  # an emulator bug must still answer like a server
            log.exception("clustersim API error on %s %s", request.method, request.path)
            return _json(ApiError(500, "InternalError", f"internal error: {exc}").status(), 500)

    async def _route(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        catalog = self.store.catalog
        if not parts:
            paths = ["/api", "/api/v1", "/apis", "/version"]
            return _json({"paths": paths})
        if parts == ["version"]:
            return _json(discovery.SERVER_VERSION)
        if parts[0] in ("healthz", "livez", "readyz"):
            return web.Response(text="ok")
        if parts[:2] == ["openapi", "v3"]:
            if len(parts) == 2:
                return _json(discovery.openapi_v3_root(catalog))
            rest = parts[2:]
            group_name, gv_version = ("", rest[1]) if rest[0] == "api" else (rest[1], rest[2])
            document = discovery.openapi_v3_group_version(catalog, group_name, gv_version)
            if document is not None:
                return _json(document)
        if parts[0] == "openapi":
            raise ApiError(404, "NotFound", "the server does not publish this OpenAPI document")
        if parts[0] == "api":
            if len(parts) == 1:
                return _json(discovery.core_versions(f"{self._host}:{self._port}"))
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis":
            if len(parts) == 1:
                return _json(discovery.group_list(catalog))
            if len(parts) == 2:
                found = discovery.group(catalog, parts[1])
                if found is None:
                    raise ApiError(
                        404, "NotFound", "the server could not find the requested resource"
                    )
                return _json(found)
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            resources = discovery.resource_list(catalog, group, version)
            if resources is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return _json(resources)
        target = self._target(group, version, rest)
        return await self._serve(request, target)

    def _target(self, group: str, version: str, rest: list[str]) -> _Target:
        watch_prefix = False
        if rest[0] == "watch":
            watch_prefix = True
            rest = rest[1:]
        namespace: str | None = None
        if (
            len(rest) >= 3
            and rest[0] == "namespaces"
            and not (len(rest) == 3 and rest[2] in _STATUS_SUBRESOURCES)
        ):
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        rt = self.store.catalog.resolve(group, version, rest[0])
        if rt is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else ""
        if subresource == "scale" and rt.kind in _SCALABLE:
            return _Target(rt, namespace, name, subresource, watch_prefix)
        if subresource and (subresource not in _STATUS_SUBRESOURCES or not rt.has_status):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if namespace is not None and not rt.namespaced:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return _Target(rt, namespace, name, subresource, watch_prefix)

    async def _serve(self, request: web.Request, target: _Target) -> web.StreamResponse:
        method = request.method
        query = request.query
        rt = target.rt
        if target.name is None:
            if method == "GET":
                if target.watch_prefix or _truthy(query.get("watch")):
                    return await self._watch(request, target)
                return self._list(request, target)
            if method == "POST":
                body = await self._body(request)
                created = self.store.create(
                    rt, target.namespace, body, manager=self._manager(request)
                )
                return _json(created, 201)
            if method == "DELETE":
                return self._delete_collection(request, target)
            raise ApiError(405, "MethodNotAllowed", f"the server does not allow {method} here")
        if target.subresource == "scale":
            return await self._scale(request, target)
        subresource = "" if target.subresource == "finalize" else target.subresource
        if method == "GET":
            if target.watch_prefix or _truthy(query.get("watch")):
                return await self._watch(request, target)
            obj = self.store.get(rt, target.namespace, target.name)
            if self._wants_table(request):
                return _json(
                    tables.table(rt, [obj], resource_version=obj["metadata"]["resourceVersion"])
                )
            return _json(obj)
        if method == "PUT":
            body = await self._body(request)
            return _json(
                self.store.replace(
                    rt,
                    target.namespace,
                    target.name,
                    body,
                    manager=self._manager(request),
                    subresource=subresource,
                )
            )
        if method == "PATCH":
            content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
            raw = await request.read()
            patched, was_created = self.store.patch(
                rt,
                target.namespace,
                target.name,
                content_type,
                raw,
                manager=self._manager(request),
                force=_truthy(query.get("force")),
                subresource=subresource,
            )
            return _json(patched, 201 if was_created else 200)
        if method == "DELETE":
            obj = self.store.delete(rt, target.namespace, target.name)
            pending = bool(obj["metadata"].get("deletionTimestamp")) and rt.key != NAMESPACE_KEY
            return _json(obj, 202 if pending else 200)
        raise ApiError(405, "MethodNotAllowed", f"the server does not allow {method} here")

    # -- helpers -----------------------------------------------------------------

    @staticmethod
    def _manager(request: web.Request) -> str:
        explicit = request.query.get("fieldManager")
        if explicit:
            return explicit
        agent = request.headers.get("User-Agent", "")
        return agent.split("/")[0].split(" ")[0] or "unknown"

    @staticmethod
    async def _body(request: web.Request) -> Any:
        raw = await request.read()
        if not raw:
            raise bad_request("the request body is empty")
        if "protobuf" in request.headers.get("Content-Type", ""):
            # kubectl's generators (`kubectl create namespace|secret|deployment ...`) send
            # protobuf and do not retry in JSON; the decoded dict goes the JSON way.
            try:
                return protobuf_objects.decode_object(raw)
            except protobuf_objects.UnsupportedObject as exc:
                raise ApiError(415, "UnsupportedMediaType", str(exc)) from None
            except protobuf_objects.ProtobufBodyError as exc:
                raise bad_request(str(exc)) from None
        try:
            return json.loads(raw)
        except ValueError:
            pass
        try:
            import yaml

            return yaml.safe_load(raw.decode())
        except Exception:
            raise bad_request("the request body is neither JSON nor YAML") from None

    @staticmethod
    def _wants_table(request: web.Request) -> bool:
        return "as=Table" in request.headers.get("Accept", "")

    def _selectors(self, request: web.Request) -> tuple[Matcher, Matcher]:
        return (
            parse_label_selector(request.query.get("labelSelector")),
            parse_field_selector(request.query.get("fieldSelector")),
        )

    def _list(self, request: web.Request, target: _Target) -> web.Response:
        rt = target.rt
        labels, fields = self._selectors(request)
        items = self.store.list_objects(
            rt, target.namespace, label_selector=labels, field_selector=fields
        )
        resource_version = str(self.store.resource_version)
        start = 0
        token = request.query.get("continue")
        if token:
            try:
                start = int(base64.urlsafe_b64decode(token.encode()).decode())
            except ValueError:
                raise bad_request("invalid continue token") from None
        limit_raw = request.query.get("limit")
        limit = int(limit_raw) if limit_raw and limit_raw.isdigit() and int(limit_raw) > 0 else None
        end = len(items) if limit is None else min(len(items), start + limit)
        page = items[start:end]
        next_token = (
            base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else ""
        )
        if self._wants_table(request):
            return _json(
                tables.table(
                    rt,
                    [o.obj for o in page],
                    resource_version=resource_version,
                    include_object=request.query.get("includeObject", "Metadata"),
                    continue_token=next_token,
                )
            )
        meta = f'"resourceVersion":"{resource_version}"'
        if next_token:
            meta += f',"continue":"{next_token}","remainingItemCount":{len(items) - end}'
        body = b"".join(
            [
                f'{{"kind":"{rt.list_kind}","apiVersion":"{rt.api_version}","metadata":{{{meta}}},"items":['.encode(),
                b",".join(o.raw for o in page),
                b"]}",
            ]
        )
        return web.Response(body=body, content_type="application/json")

    def _delete_collection(self, request: web.Request, target: _Target) -> web.Response:
        rt = target.rt
        labels, fields = self._selectors(request)
        items = self.store.list_objects(
            rt, target.namespace, label_selector=labels, field_selector=fields
        )
        deleted = []
        for stored in items:
            with contextlib.suppress(ApiError):
                deleted.append(self.store.delete(rt, stored.namespace or None, stored.name))
        return _json(
            {
                "kind": rt.list_kind,
                "apiVersion": rt.api_version,
                "metadata": {"resourceVersion": str(self.store.resource_version)},
                "items": deleted,
            }
        )

    async def _scale(self, request: web.Request, target: _Target) -> web.Response:
        """The `scale` subresource of Deployments and ReplicaSets (`kubectl scale`)."""
        rt, name = target.rt, target.name
        assert name is not None
        obj = self.store.get(rt, target.namespace, name)

        def as_scale(o: dict[str, Any]) -> dict[str, Any]:
            meta = o["metadata"]
            return {
                "kind": "Scale",
                "apiVersion": "autoscaling/v1",
                "metadata": {
                    k: meta[k]
                    for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                    if k in meta
                },
                "spec": {"replicas": (o.get("spec") or {}).get("replicas", 1)},
                "status": {"replicas": (o.get("status") or {}).get("replicas", 0)},
            }

        if request.method == "GET":
            return _json(as_scale(obj))
        if request.method not in ("PUT", "PATCH"):
            raise ApiError(
                405, "MethodNotAllowed", f"the server does not allow {request.method} here"
            )
        current = as_scale(obj)
        if request.method == "PUT":
            wanted = await self._body(request)
        else:
            content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
            raw = await request.read()
            patch = json.loads(raw) if raw else {}
            if content_type == JSON_PATCH:
                wanted = json_patch(current, patch)
            else:
                wanted = merge_patch(current, patch)
        replicas = ((wanted or {}).get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise ApiError(422, "Invalid", "spec.replicas must be a non-negative integer")
        version = ((wanted or {}).get("metadata") or {}).get("resourceVersion")
        body: dict[str, Any] = {"spec": {"replicas": replicas}}
        if request.method == "PUT" and version:
            body["metadata"] = {"resourceVersion": version}
        updated, _ = self.store.patch(
            rt, target.namespace, name, MERGE_PATCH, body, manager=self._manager(request)
        )
        return _json(as_scale(updated))

    # -- watches -----------------------------------------------------------------

    async def _watch(self, request: web.Request, target: _Target) -> web.StreamResponse:
        rt = target.rt
        labels, fields = self._selectors(request)
        if target.name is not None:
            pinned = target.name
            by_name = parse_field_selector(f"metadata.name={pinned}")
            base_fields = fields
            fields = lambda obj: by_name(obj) and base_fields(obj)  # noqa: E731
        watch_filter = _WatchFilter(rt, target.namespace, labels, fields)
        as_table = self._wants_table(request)
        timeout_raw = request.query.get("timeoutSeconds")
        deadline = (
            time.monotonic() + float(timeout_raw)
            if timeout_raw and timeout_raw.replace(".", "", 1).isdigit()
            else None
        )
        queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
        unsubscribe: Callable[[], None] = self.store.subscribe(
            lambda event: queue.put_nowait(event) if event.resource == rt.key else None
        )
        # Subscribing and reading the backlog happen with no await in between, so the
        # stream neither misses nor repeats a change.
        requested = request.query.get("resourceVersion", "")
        initial: list[tuple[str, StoredObject]] = []
        error: ApiError | None = None
        try:
            if requested in ("", "0"):
                name = field_selector_name(request.query.get("fieldSelector")) or target.name
                for stored in self.store.list_objects(rt, target.namespace):
                    if name is not None and stored.name != name:
                        continue
                    if watch_filter.translate(
                        WatchEvent(stored.resource_version, ADDED, rt.key, stored, None)
                    ):
                        initial.append((ADDED, stored))
            else:
                try:
                    since = int(requested)
                except ValueError:
                    raise bad_request(f"invalid resourceVersion {requested!r}") from None
                for past in self.store.events_since(since):
                    seen = watch_filter.translate(past)
                    if seen is not None:
                        initial.append((seen, past.obj))
        except ApiError as exc:
            error = exc
        response = web.StreamResponse(
            headers={"Content-Type": "application/json", "Cache-Control": "no-cache"}
        )
        response.enable_chunked_encoding()
        self._watch_queues.add(queue)
        try:
            await response.prepare(request)
            if error is not None:
                await response.write(
                    json.dumps({"type": "ERROR", "object": error.status()}).encode() + b"\n"
                )
                return response
            for type_, stored in initial:
                await response.write(self._event_line(type_, stored, rt, as_table))
            while True:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                try:
                    event: WatchEvent | None = await asyncio.wait_for(queue.get(), remaining)
                except TimeoutError:
                    break
                if event is None:
                    break
                seen = watch_filter.translate(event)
                if seen is not None:
                    await response.write(self._event_line(seen, event.obj, rt, as_table))
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client went away
        finally:
            unsubscribe()
            self._watch_queues.discard(queue)
        return response

    @staticmethod
    def _event_line(type_: str, stored: StoredObject, rt: ResourceType, as_table: bool) -> bytes:
        if as_table:
            body = tables.table(
                rt, [stored.obj], resource_version=stored.metadata["resourceVersion"]
            )
            return json.dumps({"type": type_, "object": body}).encode() + b"\n"
        return b'{"type":"' + type_.encode() + b'","object":' + stored.raw + b"}\n"
