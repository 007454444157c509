"""The resource types the reconciler emits, lists and watches, and their URL paths.

Callers: `kube.client` (paths), the reconcile worker and the resync (which kinds to list).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lc_contracts.engine import (
    CERT_MANAGER_GROUP,
    CERT_MANAGER_VERSION,
    CERTIFICATE_KIND,
    CERTIFICATE_PLURAL,
    MODEL_KIND,
    MODEL_PLURAL,
)
from lc_reconciler.domain.platform import PlatformConfig


@dataclass(frozen=True)
class Kind:
    api_version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def _root(self) -> str:
        return (
            f"/api/{self.api_version}"
            if "/" not in self.api_version
            else f"/apis/{self.api_version}"
        )

    def collection_path(self, namespace: str | None) -> str:
        if self.namespaced and namespace is not None:
            return f"{self._root}/namespaces/{namespace}/{self.plural}"
        return f"{self._root}/{self.plural}"

    def object_path(self, namespace: str | None, name: str) -> str:
        return f"{self.collection_path(namespace)}/{name}"


NAMESPACE = Kind("v1", "Namespace", "namespaces", namespaced=False)
DEPLOYMENT = Kind("apps/v1", "Deployment", "deployments")
SERVICE = Kind("v1", "Service", "services")
PVC = Kind("v1", "PersistentVolumeClaim", "persistentvolumeclaims")
SECRET = Kind("v1", "Secret", "secrets")  # project secrets; per project, not per Service
INGRESS = Kind("networking.k8s.io/v1", "Ingress", "ingresses")
CERTIFICATE = Kind(
    f"{CERT_MANAGER_GROUP}/{CERT_MANAGER_VERSION}", CERTIFICATE_KIND, CERTIFICATE_PLURAL
)


def model_kind(platform: PlatformConfig) -> Kind:
    return Kind(f"{platform.engine_group}/{platform.engine_version}", MODEL_KIND, MODEL_PLURAL)


def service_kinds(platform: PlatformConfig) -> tuple[Kind, ...]:
    """Every namespaced kind a Service compiles to, in the order objects are removed."""
    return (INGRESS, CERTIFICATE, model_kind(platform), DEPLOYMENT, SERVICE, PVC)


def kind_of(manifest: dict[str, Any], platform: PlatformConfig) -> Kind:
    key = (manifest["apiVersion"], manifest["kind"])
    for kind in (*service_kinds(platform), NAMESPACE):
        if (kind.api_version, kind.kind) == key:
            return kind
    raise ValueError(f"no resource type for {key}")
