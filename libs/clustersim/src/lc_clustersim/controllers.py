"""Simulated cluster controllers: a kubelet for Deployments, cert-manager, an ingress LB.

Who calls it: `lc_clustersim.sim.ClusterSim` starts one `SimulatedControllers`.

What it owns: the status the platform waits for, written through the store's status
subresource after `ready_delay_s`:
- Deployment: `observedGeneration`, `replicas`, `readyReplicas`, `availableReplicas`,
  `updatedReplicas` = `spec.replicas`, conditions `Available` and `Progressing`;
- cert-manager Certificate: condition `Ready=True`, `notBefore`/`notAfter`/`renewalTime`;
- Ingress: `status.loadBalancer.ingress[0].ip` = the configured address.
A status that is already what it should be is not written again, so the controllers
never loop on their own events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from lc_clustersim.kubeapi.errors import ApiError
from lc_clustersim.kubeapi.resources import ResourceKey
from lc_clustersim.kubeapi.store import ObjectStore
from lc_clustersim.kubeapi.stored import StoredObject
from lc_clustersim.kubeapi.watch_log import DELETED, WatchEvent
from lc_contracts.engine import CERT_MANAGER_GROUP, CERTIFICATE_PLURAL

log = logging.getLogger(__name__)

MANAGER: Final = "clustersim-controllers"
DEPLOYMENTS: Final[ResourceKey] = ("apps", "deployments")
INGRESSES: Final[ResourceKey] = ("networking.k8s.io", "ingresses")
CERTIFICATES: Final[ResourceKey] = (CERT_MANAGER_GROUP, CERTIFICATE_PLURAL)


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def deployment_status(obj: dict[str, Any]) -> dict[str, Any]:
    replicas = (obj.get("spec") or {}).get("replicas", 1)
    now = _timestamp(datetime.now(UTC))
    return {
        "observedGeneration": obj["metadata"].get("generation", 1),
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "conditions": [
            {
                "type": "Available",
                "status": "True",
                "reason": "MinimumReplicasAvailable",
                "message": "Deployment has minimum availability.",
                "lastUpdateTime": now,
                "lastTransitionTime": now,
            },
            {
                "type": "Progressing",
                "status": "True",
                "reason": "NewReplicaSetAvailable",
                "message": f'ReplicaSet "{obj["metadata"]["name"]}" has successfully progressed.',
                "lastUpdateTime": now,
                "lastTransitionTime": now,
            },
        ],
    }


def certificate_status(obj: dict[str, Any]) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Ready",
                "message": "Certificate is up to date and has not expired",
                "observedGeneration": obj["metadata"].get("generation", 1),
                "lastTransitionTime": _timestamp(now),
            }
        ],
        "notBefore": _timestamp(now),
        "notAfter": _timestamp(now + timedelta(days=90)),
        "renewalTime": _timestamp(now + timedelta(days=60)),
        "revision": 1,
    }


def ingress_status(address: str) -> dict[str, Any]:
    return {"loadBalancer": {"ingress": [{"ip": address}]}}


def _up_to_date(key: ResourceKey, obj: dict[str, Any], address: str) -> bool:
    status = obj.get("status") or {}
    generation = obj["metadata"].get("generation", 1)
    if key == DEPLOYMENTS:
        replicas = (obj.get("spec") or {}).get("replicas", 1)
        return bool(
            status.get("observedGeneration") == generation
            and status.get("readyReplicas") == replicas
            and status.get("replicas") == replicas
        )
    if key == CERTIFICATES:
        conditions = status.get("conditions") or []
        return any(
            c.get("type") == "Ready"
            and c.get("status") == "True"
            and c.get("observedGeneration") == generation
            for c in conditions
        )
    if key == INGRESSES:
        return bool(status == ingress_status(address))
    return True


class SimulatedControllers:
    """Makes Deployments ready, Certificates issued and Ingresses addressed."""

    def __init__(
        self, store: ObjectStore, *, ready_delay_s: float = 0.5, ingress_address: str = "127.0.0.1"
    ) -> None:
        self.store = store
        self.ready_delay_s = ready_delay_s
        self.ingress_address = ingress_address
        self._pending: dict[tuple[ResourceKey, str, str], asyncio.Task[None]] = {}
        self._unsubscribe: Any = None

    async def start(self) -> None:
        self._unsubscribe = self.store.subscribe(self._on_event)
        for key in (DEPLOYMENTS, CERTIFICATES, INGRESSES):
            rt = self.store.catalog.get(key)
            if rt is None:
                continue
            for stored in self.store.list_objects(rt, None):
                self._schedule(key, stored)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        for task in list(self._pending.values()):
            task.cancel()
        for task in list(self._pending.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._pending.clear()

    def _on_event(self, event: WatchEvent) -> None:
        if event.resource not in (DEPLOYMENTS, CERTIFICATES, INGRESSES):
            return
        ident = (event.resource, event.obj.namespace, event.obj.name)
        if event.type == DELETED:
            task = self._pending.pop(ident, None)
            if task is not None:
                task.cancel()
            return
        self._schedule(event.resource, event.obj)

    def _schedule(self, key: ResourceKey, stored: StoredObject) -> None:
        if _up_to_date(key, stored.obj, self.ingress_address):
            return
        ident = (key, stored.namespace, stored.name)
        if ident in self._pending and not self._pending[ident].done():
            return
        self._pending[ident] = asyncio.get_running_loop().create_task(self._reconcile(ident))

    async def _reconcile(self, ident: tuple[ResourceKey, str, str]) -> None:
        key, namespace, name = ident
        try:
            await asyncio.sleep(self.ready_delay_s)
            rt = self.store.catalog.get(key)
            if rt is None:
                return
            try:
                obj = self.store.get(rt, namespace or None, name)
            except ApiError:
                return
            if _up_to_date(key, obj, self.ingress_address):
                return
            if key == DEPLOYMENTS:
                status = deployment_status(obj)
            elif key == CERTIFICATES:
                status = certificate_status(obj)
            else:
                status = ingress_status(self.ingress_address)
            self._pending.pop(ident, None)
            with contextlib.suppress(ApiError):
                self.store.write_status(rt, namespace or None, name, status, manager=MANAGER)
        finally:
            if self._pending.get(ident) is asyncio.current_task():
                self._pending.pop(ident, None)
