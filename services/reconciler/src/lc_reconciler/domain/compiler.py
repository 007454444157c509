"""compile_service: a Service spec (+ its project, revision and verified domains) in,
the Kubernetes manifests that run it out. Pure and deterministic.

Callers: the reconciler (apply and drift checks), the golden tests, the benchmark.

| tier        | objects                                                        |
|-------------|----------------------------------------------------------------|
| inference   | engine Model [+ Ingress + Certificate to the engine's Service] |
| cpu / gpu   | PVC + Deployment [+ Service] [+ Ingress + Certificate]         |

`compile_secret` turns a project secret into the Kubernetes Secret a container's
`secretRef` env variable reads (`valueFrom.secretKeyRef`).

Every object carries the managed-by, project, service and revision labels; the
Namespace of the project carries managed-by and project, and, unless it is a namespace
every cluster has (`default`), the created-by mark that says the platform made it.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from lc_contracts.engine import (
    ANNOTATION_CREATED_BY,
    CERT_MANAGER_GROUP,
    CERT_MANAGER_VERSION,
    CERTIFICATE_KIND,
    FIELD_MANAGER,
    GPU_RESOURCE,
    LABEL_MANAGED_BY,
    LABEL_PROJECT,
    LABEL_REVISION,
    LABEL_SERVICE,
    MANAGED_BY_VALUE,
    MODEL_KIND,
)
from lc_contracts.specs import ContainerKind, EnvVar, ModelKind, PortSpec, ServiceSpec, Tier
from lc_reconciler.domain.naming import (
    derived_name,
    fit,
    namespace_name,
    object_name,
    platform_hostname,
)
from lc_reconciler.domain.platform import PlatformConfig

Manifest = dict[str, Any]
Metadata = Callable[[str], dict[str, Any]]

WORKSPACE_VOLUME: Final = "workspace"
WORKSPACE_PATH: Final = "/workspace"
# Namespaces a project may map onto without having created them (the product docs'
# project `default`), which must outlive it. lcd refuses slugs that map onto `kube-*`.
SHARED_NAMESPACES: Final = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
SECRET_PREFIX: Final = "lc-secret-"
SECRET_KEY: Final = "value"
LABEL_SECRET: Final = "liquidcompute.io/secret"
ANNOTATION_SECRET_VERSION: Final = "liquidcompute.io/secret-version"
ANNOTATION_SECRET_VERSIONS: Final = "liquidcompute.io/secret-versions"


def project_labels(project_slug: str) -> dict[str, str]:
    return {LABEL_MANAGED_BY: MANAGED_BY_VALUE, LABEL_PROJECT: project_slug}


def service_selector(project_slug: str, service_name: str) -> dict[str, str]:
    """Labels that pick a Service's pods; never the revision (selectors are immutable)."""
    return {LABEL_PROJECT: project_slug, LABEL_SERVICE: service_name}


def service_labels(project_slug: str, service_name: str, revision: int) -> dict[str, str]:
    return {
        **project_labels(project_slug),
        LABEL_SERVICE: service_name,
        LABEL_REVISION: str(revision),
    }


def compile_namespace(project_slug: str, platform: PlatformConfig) -> Manifest:
    name = namespace_name(platform.namespace_prefix, project_slug)
    metadata: dict[str, Any] = {"name": name, "labels": project_labels(project_slug)}
    if name not in SHARED_NAMESPACES:
        metadata["annotations"] = {ANNOTATION_CREATED_BY: MANAGED_BY_VALUE}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def namespace_is_ours(live: Manifest) -> bool:
    """Whether the platform created namespace `live` (or it is one every cluster shares).

    Ours: it carries the created-by mark, or (namespaces made before the mark existed) no
    field manager but ours ever wrote to it. A namespace anybody else created or touched
    is not provably ours.
    """
    meta = live.get("metadata") or {}
    if meta.get("name") in SHARED_NAMESPACES:
        return True
    if (meta.get("annotations") or {}).get(ANNOTATION_CREATED_BY) == MANAGED_BY_VALUE:
        return True
    managers = {entry.get("manager") for entry in meta.get("managedFields") or []}
    return managers == {FIELD_MANAGER}


def hostnames(
    project_slug: str, service_name: str, verified_domains: Iterable[str], platform: PlatformConfig
) -> list[str]:
    """The platform hostname first, then the verified custom domains, sorted, once each."""
    own = platform_hostname(service_name, project_slug, platform.platform_domain)
    return [own, *sorted(set(verified_domains) - {own})]


def compile_service(
    project_slug: str,
    service: ServiceSpec,
    revision: int,
    verified_domains: Iterable[str],
    platform: PlatformConfig,
) -> list[Manifest]:
    """Every object of `service` at `revision`, in apply order (storage before workloads)."""
    namespace = namespace_name(platform.namespace_prefix, project_slug)
    labels = service_labels(project_slug, service.name, revision)

    def metadata(name: str) -> dict[str, Any]:
        return {"name": name, "namespace": namespace, "labels": dict(labels)}

    out: list[Manifest] = []
    backend: tuple[str, int] | None = None
    if service.kind.model is not None:
        out.append(
            _model(service, service.kind.model, metadata(object_name(service.name)), platform)
        )
        backend = (
            platform.inference_service_template.format(model=object_name(service.name)),
            platform.inference_service_port,
        )
    elif service.kind.container is not None:
        container = service.kind.container
        selector = service_selector(project_slug, service.name)
        out.append(_workspace_claim(service, container, metadata, platform))
        out.append(_deployment(service, container, metadata, selector, labels, platform))
        if container.ports:
            out.append(_service(container.ports, metadata(object_name(service.name)), selector))
        if container.http_port is not None:
            backend = (object_name(service.name), container.http_port.port)
    if service.exposed and backend is not None:
        hosts = hostnames(project_slug, service.name, verified_domains, platform)
        tls_secret = derived_name(service.name, "tls")
        tls = bool(platform.cert_issuer)
        out.append(
            _ingress(
                metadata(object_name(service.name)),
                hosts,
                backend,
                tls_secret if tls else None,
                platform,
            )
        )
        if tls:
            out.append(
                _certificate(metadata(object_name(service.name)), hosts, tls_secret, platform)
            )
    return out


def _model(
    service: ServiceSpec, model: ModelKind, meta: dict[str, Any], platform: PlatformConfig
) -> Manifest:
    return {
        "apiVersion": f"{platform.engine_group}/{platform.engine_version}",
        "kind": MODEL_KIND,
        "metadata": meta,
        "spec": {
            "modelName": model.model_name,
            "dtype": model.dtype.value,
            "endpoints": [e.value for e in model.endpoints],
            "replicas": 1 if model.replicas is None else model.replicas,
            "gpus": service.gpus_per_replica(),
            "args": list(model.args or []),
        },
    }


def _workspace_claim(
    service: ServiceSpec,
    container: ContainerKind,
    metadata: Metadata,
    platform: PlatformConfig,
) -> Manifest:
    storage = container.storage
    size = storage.size if storage is not None else platform.workspace_size
    storage_class = (
        storage.storage_class if storage is not None else None
    ) or platform.storage_class
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    }
    if storage_class:
        spec["storageClassName"] = storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata(derived_name(service.name, WORKSPACE_VOLUME)),
        "spec": spec,
    }


def _env(var: EnvVar) -> dict[str, Any]:
    if var.secret_ref is not None:
        reference = {"name": secret_object_name(var.secret_ref), "key": SECRET_KEY}
        return {"name": var.name, "valueFrom": {"secretKeyRef": reference}}
    return {"name": var.name, "value": var.value}


def _port_name(port: PortSpec) -> str:
    return port.name or f"{port.protocol.lower()}-{port.port}"


def _container(
    service: ServiceSpec, container: ContainerKind, platform: PlatformConfig
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": object_name(service.name), "image": container.image}
    if container.command:
        out["command"] = list(container.command)
    if container.args:
        out["args"] = list(container.args)
    if container.env:
        out["env"] = [_env(e) for e in container.env]
    if container.ports:
        out["ports"] = [
            {"name": _port_name(p), "containerPort": p.port, "protocol": p.protocol}
            for p in container.ports
        ]
    out["resources"] = _resources(service, container, platform)
    out["securityContext"] = _container_security(container)
    out["volumeMounts"] = [{"name": WORKSPACE_VOLUME, "mountPath": WORKSPACE_PATH}]
    return out


def _resources(
    service: ServiceSpec, container: ContainerKind, platform: PlatformConfig
) -> dict[str, Any]:
    """What the spec sets is requested and limited; what it does not is requested at the
    platform's defaults, so every container has requests (and the scheduler a budget)."""
    requests: dict[str, str | int] = {}
    limits: dict[str, str | int] = {}
    resources = container.resources
    if resources is not None and resources.cpu:
        requests["cpu"] = limits["cpu"] = resources.cpu
    if resources is not None and resources.memory:
        requests["memory"] = limits["memory"] = resources.memory
    requests.setdefault("cpu", platform.default_cpu_request)
    requests.setdefault("memory", platform.default_memory_request)
    if service.tier is Tier.GPU:
        limits[GPU_RESOURCE] = str(service.gpus_per_replica())
    return {key: value for key, value in (("requests", requests), ("limits", limits)) if value}


def _container_security(container: ContainerKind) -> dict[str, Any]:
    """The restricted Pod Security profile's container fields: no privilege escalation,
    every capability dropped but the one a port below 1024 needs (which it allows)."""
    capabilities: dict[str, list[str]] = {"drop": ["ALL"]}
    if any(p.port < 1024 for p in container.ports):
        capabilities["add"] = ["NET_BIND_SERVICE"]
    return {"allowPrivilegeEscalation": False, "capabilities": capabilities}


def _pod_security(platform: PlatformConfig) -> dict[str, Any]:
    security: dict[str, Any] = {"seccompProfile": {"type": "RuntimeDefault"}}
    if platform.run_as_non_root:
        security["runAsNonRoot"] = True
    return security


def _deployment(
    service: ServiceSpec,
    container: ContainerKind,
    metadata: Metadata,
    selector: dict[str, str],
    labels: dict[str, str],
    platform: PlatformConfig,
) -> Manifest:
    pod: dict[str, Any] = {
        # The pods of a Service never talk to the Kubernetes API: no token to steal.
        "automountServiceAccountToken": False,
        "securityContext": _pod_security(platform),
        "containers": [_container(service, container, platform)],
        "volumes": [
            {
                "name": WORKSPACE_VOLUME,
                "persistentVolumeClaim": {
                    "claimName": derived_name(service.name, WORKSPACE_VOLUME)
                },
            }
        ],
    }
    if service.tier is Tier.GPU:
        if platform.gpu_node_selector:
            pod["nodeSelector"] = dict(platform.gpu_node_selector)
        if platform.gpu_tolerations:
            pod["tolerations"] = [t.to_manifest() for t in platform.gpu_tolerations]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(object_name(service.name)),
        "spec": {
            "replicas": container.replicas,
            "selector": {"matchLabels": dict(selector)},
            # One ReadWriteOnce workspace per Service: a rolling update would leave the
            # new pod waiting on a volume the old one still holds.
            "strategy": {"type": "Recreate"},
            "template": {"metadata": {"labels": dict(labels)}, "spec": pod},
        },
    }


def _service(ports: list[PortSpec], meta: dict[str, Any], selector: dict[str, str]) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": "ClusterIP",
            "selector": dict(selector),
            "ports": [
                {
                    "name": _port_name(p),
                    "port": p.port,
                    "targetPort": p.port,
                    "protocol": p.protocol,
                }
                for p in ports
            ],
        },
    }


def _ingress(
    meta: dict[str, Any],
    hosts: list[str],
    backend: tuple[str, int],
    tls_secret: str | None,
    platform: PlatformConfig,
) -> Manifest:
    name, port = backend

    def path() -> dict[str, Any]:
        return {
            "path": "/",
            "pathType": "Prefix",
            "backend": {"service": {"name": name, "port": {"number": port}}},
        }

    spec: dict[str, Any] = {}
    if platform.ingress_class:
        spec["ingressClassName"] = platform.ingress_class
    spec["rules"] = [{"host": host, "http": {"paths": [path()]}} for host in hosts]
    if tls_secret is not None:
        spec["tls"] = [{"hosts": list(hosts), "secretName": tls_secret}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": meta,
        "spec": spec,
    }


def _certificate(
    meta: dict[str, Any], hosts: list[str], tls_secret: str, platform: PlatformConfig
) -> Manifest:
    return {
        "apiVersion": f"{CERT_MANAGER_GROUP}/{CERT_MANAGER_VERSION}",
        "kind": CERTIFICATE_KIND,
        "metadata": meta,
        "spec": {
            "secretName": tls_secret,
            "dnsNames": list(hosts),
            "issuerRef": {
                "name": platform.cert_issuer,
                "kind": platform.cert_issuer_kind,
                "group": CERT_MANAGER_GROUP,
            },
        },
    }


# -- project secrets ------------------------------------------------------------------


def secret_object_name(secret_name: str) -> str:
    """The Kubernetes Secret of a project secret; prefixed, so it never meets a
    Service's own Secrets (`<service>-tls`)."""
    return fit(f"{SECRET_PREFIX}{secret_name}")


def compile_secret(
    project_slug: str, secret_name: str, value: str, version: int, platform: PlatformConfig
) -> Manifest:
    """The Kubernetes Secret holding one project secret's value under the key `value`."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret_object_name(secret_name),
            "namespace": namespace_name(platform.namespace_prefix, project_slug),
            "labels": {**project_labels(project_slug), LABEL_SECRET: secret_name},
            "annotations": {ANNOTATION_SECRET_VERSION: str(version)},
        },
        "type": "Opaque",
        "data": {SECRET_KEY: base64.b64encode(value.encode()).decode()},
    }


def secret_refs(service: ServiceSpec) -> list[str]:
    """The project secrets a Service's container reads, sorted, once each."""
    container = service.kind.container
    if container is None:
        return []
    return sorted({e.secret_ref for e in container.env or [] if e.secret_ref})


def with_secret_versions(
    manifests: list[Manifest], service: ServiceSpec, versions: Mapping[str, int]
) -> list[Manifest]:
    """`manifests` with the versions of the secrets the Service reads stamped on its pod
    template: a rotated secret changes the template, so the Deployment rolls its pods,
    which read environment variables only when they start."""
    refs = secret_refs(service)
    if not refs:
        return manifests
    stamp = ",".join(f"{name}={versions.get(name, 0)}" for name in refs)
    out = []
    for manifest in manifests:
        if manifest["kind"] == "Deployment":
            template = manifest["spec"]["template"]
            metadata = template.get("metadata") or {}
            annotations = {**(metadata.get("annotations") or {}), ANNOTATION_SECRET_VERSIONS: stamp}
            manifest = {
                **manifest,
                "spec": {
                    **manifest["spec"],
                    "template": {**template, "metadata": {**metadata, "annotations": annotations}},
                },
            }
        out.append(manifest)
    return out
