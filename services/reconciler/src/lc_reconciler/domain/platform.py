"""What the compiler needs to know about the cluster it compiles for.

Built once from `ReconcilerSettings` by the runner; passed to `compile_service` by the
reconciler and the tests. Frozen, so a compile is a pure function of its arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lc_contracts.engine import ENGINE_GROUP, ENGINE_VERSION


@dataclass(frozen=True)
class Toleration:
    key: str
    operator: str = "Exists"
    value: str | None = None
    effect: str | None = None

    def to_manifest(self) -> dict[str, str]:
        out = {"key": self.key, "operator": self.operator}
        if self.value is not None:
            out["value"] = self.value
        if self.effect is not None:
            out["effect"] = self.effect
        return out


@dataclass(frozen=True)
class PlatformConfig:
    platform_domain: str
    """Suffix of generated hostnames: `<service>-<project>.<platform_domain>`."""
    ingress_class: str = "nginx"
    cert_issuer: str = "letsencrypt-production"
    """cert-manager issuer of every Certificate; empty emits no Certificate and no TLS."""
    cert_issuer_kind: str = "ClusterIssuer"
    storage_class: str = ""
    """StorageClass of `/workspace` volumes; empty leaves the cluster default."""
    namespace_prefix: str = ""
    engine_group: str = ENGINE_GROUP
    engine_version: str = ENGINE_VERSION
    gpu_node_selector: tuple[tuple[str, str], ...] = ()
    gpu_tolerations: tuple[Toleration, ...] = field(
        default=(Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule"),)
    )
    inference_service_template: str = "{model}"
    """Name of the Service the engine creates for a Model (`{model}` is the Model's name)."""
    inference_service_port: int = 80
    """Port of that Service the Ingress sends traffic to."""
    workspace_size: str = "10Gi"
    """Size of a `/workspace` volume when the spec does not say."""
    default_cpu_request: str = "100m"
    """CPU request of a container whose spec sets none (every container gets one)."""
    default_memory_request: str = "128Mi"
    """Memory request of a container whose spec sets none."""
    run_as_non_root: bool = False
    """Stamp `runAsNonRoot: true` on every pod: right for clusters whose images all run as
    a non-root user (the restricted Pod Security profile); a root image then fails to start."""
