"""A small generic Kubernetes client over kubernetes-asyncio's ApiClient: server-side
apply, delete, paginated list and watch streams for any resource type, by URL path.

Callers: the reconcile worker, the resync, the status watches, tests and the benchmark.
Every failure is raised as a `KubeError` (see `kube.errors`).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from typing import Any

from kubernetes_asyncio import config as kube_config
from kubernetes_asyncio.client import ApiClient, Configuration

from lc_contracts.engine import FIELD_MANAGER
from lc_reconciler.kube.errors import PermanentKubeError, classify
from lc_reconciler.kube.resources import Kind

Obj = dict[str, Any]
APPLY_PATCH = "application/apply-patch+yaml"
LIST_PAGE = 500
REQUEST_TIMEOUT_S = 30.0


def _proxy_environment() -> bool:
    names = {"http_proxy", "https_proxy", "all_proxy", "netrc"}
    return any(key.lower() in names for key in os.environ)


class KubeClient:
    def __init__(self, api: ApiClient) -> None:
        self._api = api

    @classmethod
    async def connect(cls, kubeconfig: str | None = None, *, pool_size: int = 64) -> KubeClient:
        """A client from `kubeconfig`, or the in-cluster service account when it is None."""
        configuration = Configuration()
        if kubeconfig:
            await kube_config.load_kube_config(
                config_file=kubeconfig, client_configuration=configuration
            )
        else:
            kube_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        configuration.connection_pool_maxsize = pool_size
        api = ApiClient(configuration)
        if not _proxy_environment():
            # kubernetes-asyncio's session trusts the environment, which costs two thread
            # hops per request (netrc and proxy lookups); with no proxy or netrc set,
            # skipping them cuts a request's latency several-fold.
            api.rest_client.pool_manager._trust_env = False
        return cls(api)

    async def close(self) -> None:
        await self._api.close()

    def identify(self, user_agent: str) -> None:
        """Send `user_agent` from now on (the replica's lease identity, for audits)."""
        self._api.user_agent = user_agent

    async def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float = REQUEST_TIMEOUT_S,
    ) -> Obj:
        try:
            result = await self._api.call_api(
                path,
                method,
                query_params=query or [],
                header_params={"Accept": "application/json", "Content-Type": content_type},
                body=body,
                response_types_map={200: "object", 201: "object", 202: "object"},
                auth_settings=["BearerToken"],
                _return_http_data_only=True,
                _request_timeout=timeout,
            )
        except Exception as exc:
            raise classify(exc, what) from None
        return result if isinstance(result, dict) else {}

    async def apply(self, kind: Kind, manifest: Obj) -> Obj:
        """Server-side apply as the `liquidcompute` field manager, taking over conflicts."""
        meta = manifest["metadata"]
        path = kind.object_path(meta.get("namespace"), meta["name"])
        return await self._call(
            "PATCH",
            path,
            f"apply {kind.kind} {meta.get('namespace', '')}/{meta['name']}",
            query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
            body=manifest,
            content_type=APPLY_PATCH,
        )

    async def create(self, kind: Kind, manifest: Obj) -> Obj:
        """Create an object that must not exist yet (a 409 if it does, retried by callers)."""
        meta = manifest["metadata"]
        return await self._call(
            "POST",
            kind.collection_path(meta.get("namespace")),
            f"create {kind.kind} {meta.get('namespace', '')}/{meta['name']}",
            query=[("fieldManager", FIELD_MANAGER)],
            body=manifest,
        )

    async def delete(self, kind: Kind, namespace: str | None, name: str) -> bool:
        """Delete one object (dependents in the background); False when it was already gone."""
        try:
            await self._call(
                "DELETE",
                kind.object_path(namespace, name),
                f"delete {kind.kind} {namespace or ''}/{name}",
                body={
                    "kind": "DeleteOptions",
                    "apiVersion": "v1",
                    "propagationPolicy": "Background",
                },
            )
        except PermanentKubeError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def get(self, kind: Kind, namespace: str | None, name: str) -> Obj | None:
        try:
            return await self._call(
                "GET",
                kind.object_path(namespace, name),
                f"get {kind.kind} {namespace or ''}/{name}",
            )
        except PermanentKubeError as exc:
            if exc.status == 404:
                return None
            raise

    async def list(
        self, kind: Kind, *, namespace: str | None = None, label_selector: str = ""
    ) -> tuple[list[Obj], str]:
        """Every matching object (all namespaces when `namespace` is None) and the list's
        resourceVersion, following `continue` tokens."""
        items: list[Obj] = []
        token = ""
        while True:
            query = [("limit", str(LIST_PAGE))]
            if label_selector:
                query.append(("labelSelector", label_selector))
            if token:
                query.append(("continue", token))
            page = await self._call(
                "GET", kind.collection_path(namespace), f"list {kind.plural}", query=query
            )
            for item in page.get("items") or []:
                item.setdefault("apiVersion", kind.api_version)
                item.setdefault("kind", kind.kind)
                items.append(item)
            meta = page.get("metadata") or {}
            token = meta.get("continue") or ""
            if not token:
                return items, str(meta.get("resourceVersion") or "")

    async def watch(
        self, kind: Kind, *, resource_version: str, label_selector: str = "", timeout_s: int = 300
    ) -> AsyncIterator[tuple[str, Obj]]:
        """(type, object) for each change after `resource_version`, until the server ends
        the stream. ERROR events are yielded as-is (a 410 means: list again)."""
        query = [
            ("watch", "true"),
            ("resourceVersion", resource_version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(timeout_s)),
        ]
        if label_selector:
            query.append(("labelSelector", label_selector))
        what = f"watch {kind.plural}"
        try:
            response = await self._api.call_api(
                kind.collection_path(None),
                "GET",
                query_params=query,
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=timeout_s + 30,
            )
        except Exception as exc:
            raise classify(exc, what) from None
        try:
            async for line in response.content:
                if not line.strip():
                    continue
                event = json.loads(line)
                obj = event.get("object") or {}
                if event.get("type") != "ERROR":
                    obj.setdefault("apiVersion", kind.api_version)
                    obj.setdefault("kind", kind.kind)
                yield str(event.get("type")), obj
        except Exception as exc:
            raise classify(exc, what) from None
        finally:
            response.release()
