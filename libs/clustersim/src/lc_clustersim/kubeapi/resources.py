"""The catalogue of resource types the emulated API server serves.

Who calls it: `store` looks types up to validate and key objects, `discovery` lists them,
`http_server` resolves URL paths to them, and the store registers a new type whenever a
CustomResourceDefinition is written (and drops it when the CRD is deleted).

What it owns: the built-in kinds LiquidCompute emits or `kubectl describe` and `kubectl
create` ask for (Namespace, Service, PVC, ConfigMap, Secret, ServiceAccount, Pod, Event,
Deployment, ReplicaSet, Ingress, CRD, and the StatefulSet, PodDisruptionBudget,
NetworkPolicy, ClusterRole, ClusterRoleBinding, Role and RoleBinding of the Helm chart) and the translation of a CRD object into a
`ResourceType`. Engine and cert-manager kinds are not built in: the simulator posts their
CRDs at start-up, as a cluster would.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

ResourceKey = tuple[str, str]  # (group, plural)

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str
    versions: tuple[str, ...]
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    has_status: bool = True
    categories: tuple[str, ...] = ()
    printer_columns: tuple[dict[str, Any], ...] = field(default=())
    """CRD `additionalPrinterColumns` (name, type, jsonPath) for kubectl tables."""

    @property
    def key(self) -> ResourceKey:
        return (self.group, self.plural)

    @property
    def preferred_version(self) -> str:
        return self.versions[0]

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.preferred_version}" if self.group else self.preferred_version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def qualified(self) -> str:
        """`deployments.apps`, as Kubernetes names a resource in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _builtin(
    group: str,
    version: str,
    kind: str,
    plural: str,
    *,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    status: bool = True,
) -> ResourceType:
    return ResourceType(
        group=group,
        versions=(version,),
        kind=kind,
        plural=plural,
        singular=kind.lower(),
        namespaced=namespaced,
        short_names=short,
        has_status=status,
        categories=("all",) if kind in ("Service", "Pod", "Deployment", "ReplicaSet") else (),
    )


BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _builtin("", "v1", "Namespace", "namespaces", namespaced=False, short=("ns",)),
    _builtin("", "v1", "Service", "services", short=("svc",)),
    _builtin("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short=("pvc",)),
    _builtin("", "v1", "ConfigMap", "configmaps", short=("cm",), status=False),
    _builtin("", "v1", "Secret", "secrets", status=False),
    _builtin("", "v1", "ServiceAccount", "serviceaccounts", short=("sa",), status=False),
    _builtin("", "v1", "Pod", "pods", short=("po",)),
    _builtin("", "v1", "Event", "events", short=("ev",), status=False),
    _builtin("", "v1", "Node", "nodes", namespaced=False, short=("no",)),
    _builtin("apps", "v1", "Deployment", "deployments", short=("deploy",)),
    _builtin("apps", "v1", "ReplicaSet", "replicasets", short=("rs",)),
    _builtin("networking.k8s.io", "v1", "Ingress", "ingresses", short=("ing",)),
    _builtin("apps", "v1", "StatefulSet", "statefulsets", short=("sts",)),
    _builtin("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short=("pdb",)),
    # Leader election of the workers: plain CRUD, resourceVersion makes it a compare-and-swap.
    _builtin("coordination.k8s.io", "v1", "Lease", "leases", status=False),
    _builtin(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        short=("netpol",),
        status=False,
    ),
    _builtin(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        namespaced=False,
        status=False,
    ),
    _builtin(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        namespaced=False,
        status=False,
    ),
    # The chart's Role and RoleBinding on the workers' Leases.
    _builtin("rbac.authorization.k8s.io", "v1", "Role", "roles", status=False),
    _builtin("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", status=False),
    _builtin(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        namespaced=False,
        short=("crd", "crds"),
    ),
)

CRD_KEY: ResourceKey = ("apiextensions.k8s.io", "customresourcedefinitions")
NAMESPACE_KEY: ResourceKey = ("", "namespaces")


def resource_type_from_crd(crd: dict[str, Any]) -> ResourceType:
    """The type a CustomResourceDefinition declares; raises ValueError when malformed."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group")
    plural = names.get("plural")
    kind = names.get("kind")
    versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
    if not (group and plural and kind and versions):
        raise ValueError(
            "spec.group, spec.names.plural, spec.names.kind and spec.versions are required"
        )
    storage_first = sorted(versions, key=lambda v: not v.get("storage", False))
    columns: list[dict[str, Any]] = []
    for version in storage_first[:1]:
        columns.extend(version.get("additionalPrinterColumns") or [])
    return ResourceType(
        group=group,
        versions=tuple(v["name"] for v in storage_first),
        kind=kind,
        plural=plural,
        singular=names.get("singular") or kind.lower(),
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        short_names=tuple(names.get("shortNames") or ()),
        has_status=any("status" in (v.get("subresources") or {}) for v in versions),
        categories=tuple(names.get("categories") or ()),
        printer_columns=tuple(columns),
    )


class ResourceCatalog:
    """Resource types by (group, plural), plus lookups by version and kind."""

    def __init__(self) -> None:
        self._types: dict[ResourceKey, ResourceType] = {t.key: t for t in BUILTIN_TYPES}

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(list(self._types.values()))

    def get(self, key: ResourceKey) -> ResourceType | None:
        return self._types.get(key)

    def resolve(self, group: str, version: str, plural: str) -> ResourceType | None:
        found = self._types.get((group, plural))
        if found is None or version not in found.versions:
            return None
        return found

    def register(self, resource_type: ResourceType) -> None:
        self._types[resource_type.key] = resource_type

    def unregister(self, key: ResourceKey) -> None:
        self._types.pop(key, None)

    def groups(self) -> dict[str, list[str]]:
        """Group name -> served versions (core group `""` included)."""
        result: dict[str, list[str]] = {}
        for resource_type in self._types.values():
            versions = result.setdefault(resource_type.group, [])
            for version in resource_type.versions:
                if version not in versions:
                    versions.append(version)
        return result
