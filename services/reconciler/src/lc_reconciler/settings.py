"""ReconcilerSettings: every knob of the reconciler, read from `LC_*` environment variables.

Who calls it: `lc-reconciler` (the console script), `lc up` (which builds one and calls
`run(settings)`), tests. Validated when built, so bad configuration fails at start with
one line naming the variable.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from lc_contracts.engine import ENGINE_GROUP, ENGINE_VERSION
from lc_contracts.sealing import SecretKey
from lc_contracts.specs import Quantity
from lc_eventstore.provisioning import StreamReplicas
from lc_eventstore.snapshots import SnapshotPolicy
from lc_reconciler.domain.backoff import Backoff
from lc_reconciler.domain.platform import PlatformConfig, Toleration
from lc_reconciler.domain.prune import PruneGuard
from lc_runtime.kube_lease import LeaderElectionSettings

_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$"
)
_PREFIX = re.compile(r"^([a-z0-9][-a-z0-9]*)?$")


class TolerationSetting(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    operator: str = "Exists"
    value: str | None = None
    effect: str | None = None


class ReconcilerSettings(LeaderElectionSettings):
    """Configuration of the reconciler (environment variables `LC_<FIELD>`)."""

    model_config = SettingsConfigDict(env_prefix="LC_", extra="ignore", frozen=True)

    nats_url: str = "nats://127.0.0.1:4222"
    """LC_NATS_URL: the NATS server holding LC_EVENTS and LC_STATUS."""
    stream_replicas: StreamReplicas = 1
    """LC_STREAM_REPLICAS: copies JetStream keeps of each stream (1 on one server, 3 on a
    cluster); an existing stream with another count is refused at start, not rescaled."""
    kubeconfig: str | None = None
    """LC_KUBECONFIG: kubeconfig file of the cluster; unset uses the in-cluster service account."""
    platform_domain: str = "localhost"
    """LC_PLATFORM_DOMAIN: suffix of generated hostnames `<service>-<project>.<domain>`."""
    ingress_class: str = "nginx"
    """LC_INGRESS_CLASS: IngressClass stamped on every Ingress (empty: the cluster default)."""
    cert_issuer: str = "letsencrypt-production"
    """LC_CERT_ISSUER: cert-manager issuer of every Certificate (empty: no Certificate, no TLS)."""
    cert_issuer_kind: str = "ClusterIssuer"
    """LC_CERT_ISSUER_KIND: `ClusterIssuer` or `Issuer`."""
    storage_class: str = ""
    """LC_STORAGE_CLASS: StorageClass of `/workspace` volumes (empty: the cluster default)."""
    namespace_prefix: str = ""
    """LC_NAMESPACE_PREFIX: project `<slug>` lives in namespace `<prefix><slug>`."""
    engine_group: str = ENGINE_GROUP
    """LC_ENGINE_GROUP: API group of the engine's Model resource."""
    engine_version: str = ENGINE_VERSION
    """LC_ENGINE_VERSION: API version of the engine's Model resource."""
    gpu_node_selector: dict[str, str] = Field(default_factory=dict)
    """LC_GPU_NODE_SELECTOR: JSON object, node selector of `tier=gpu` pods."""
    gpu_tolerations: list[TolerationSetting] = Field(
        default_factory=lambda: [TolerationSetting(key="nvidia.com/gpu", effect="NoSchedule")]
    )
    """LC_GPU_TOLERATIONS: JSON list of tolerations of `tier=gpu` pods."""
    inference_service_template: str = "{model}"
    """LC_INFERENCE_SERVICE_TEMPLATE: name of the engine's Service for a Model (`{model}`)."""
    inference_service_port: Annotated[int, Field(ge=1, le=65535)] = 80
    """LC_INFERENCE_SERVICE_PORT: port of that Service the Ingress targets."""
    default_cpu_request: Quantity = "100m"
    """LC_DEFAULT_CPU_REQUEST: CPU request of a container whose spec sets none."""
    default_memory_request: Quantity = "128Mi"
    """LC_DEFAULT_MEMORY_REQUEST: memory request of a container whose spec sets none."""
    run_as_non_root: bool = False
    """LC_RUN_AS_NON_ROOT: stamp `runAsNonRoot: true` on every pod (images must not run as root)."""
    resync_interval_s: Annotated[float, Field(gt=0)] = 300.0
    """LC_RESYNC_INTERVAL_S: seconds between full resyncs (drift repair, orphan sweep)."""
    prune_guard_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    """LC_PRUNE_GUARD_SHARE: largest share of the managed objects one resync may delete; a
    resync that would delete more deletes nothing and reports (1 turns the guard off)."""
    prune_guard_floor: Annotated[int, Field(ge=0)] = 20
    """LC_PRUNE_GUARD_FLOOR: a resync may always delete this many objects, whatever the share."""
    workers: Annotated[int, Field(ge=1, le=256)] = 16
    """LC_WORKERS: keys reconciled concurrently."""
    retry_base_s: Annotated[float, Field(gt=0)] = 0.05
    """LC_RETRY_BASE_S: first back-off after a retriable API error (doubles each time)."""
    retry_max_s: Annotated[float, Field(gt=0)] = 30.0
    """LC_RETRY_MAX_S: longest back-off."""
    watch_timeout_s: Annotated[int, Field(ge=5)] = 300
    """LC_WATCH_TIMEOUT_S: server-side timeout of each watch request (it is then resumed)."""

    snapshots: bool = True
    """LC_SNAPSHOTS: keep the desired state in snapshots (bucket LC_SNAPSHOTS), so a start
    folds only the events after the latest one; off, every start folds from sequence 1."""
    snapshot_every: Annotated[int, Field(ge=1)] = 10_000
    """LC_SNAPSHOT_EVERY: write a snapshot once this many sequences were folded since the last."""
    snapshot_interval_s: Annotated[float, Field(gt=0)] = 300.0
    """LC_SNAPSHOT_INTERVAL_S: and at least this often while events arrive (one is also
    written on a clean shutdown)."""
    probe_host: str = "0.0.0.0"
    """LC_PROBE_HOST: address of the probe server (`/healthz`, `/readyz`, `/metrics`)."""
    probe_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    """LC_PROBE_PORT: port of the probe server; unset, none is started (`lc up` reads the
    probes in its own process)."""

    secret_key: SecretStr | None = None
    """LC_SECRET_KEY: lcd's platform key, to open project secrets and write them as
    Kubernetes Secrets. Without it, project secrets are not written (logged)."""

    @field_validator("secret_key")
    @classmethod
    def _sealing_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            SecretKey.parse(value.get_secret_value())
        return value

    def sealing_key(self) -> SecretKey | None:
        if self.secret_key is None:
            return None
        return SecretKey.parse(self.secret_key.get_secret_value())

    @field_validator("platform_domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        if not _DNS_NAME.match(value):
            raise ValueError("must be a lowercase DNS name such as apps.example.com")
        return value

    @field_validator("namespace_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not _PREFIX.match(value) or len(value) > 40:
            raise ValueError(
                "must be lowercase letters, digits and '-', at most 40, starting with a letter or digit"
            )
        return value

    @field_validator("inference_service_template")
    @classmethod
    def _template(cls, value: str) -> str:
        if "{model}" not in value:
            raise ValueError("must contain {model}")
        return value

    def platform(self) -> PlatformConfig:
        return PlatformConfig(
            platform_domain=self.platform_domain,
            ingress_class=self.ingress_class,
            cert_issuer=self.cert_issuer,
            cert_issuer_kind=self.cert_issuer_kind,
            storage_class=self.storage_class,
            namespace_prefix=self.namespace_prefix,
            engine_group=self.engine_group,
            engine_version=self.engine_version,
            gpu_node_selector=tuple(sorted(self.gpu_node_selector.items())),
            gpu_tolerations=tuple(
                Toleration(key=t.key, operator=t.operator, value=t.value, effect=t.effect)
                for t in self.gpu_tolerations
            ),
            inference_service_template=self.inference_service_template,
            inference_service_port=self.inference_service_port,
            default_cpu_request=self.default_cpu_request,
            default_memory_request=self.default_memory_request,
            run_as_non_root=self.run_as_non_root,
        )

    def prune_guard(self) -> PruneGuard:
        if self.prune_guard_share >= 1:
            return PruneGuard(share=1.0, floor=self.prune_guard_floor)
        return PruneGuard(share=self.prune_guard_share, floor=self.prune_guard_floor)

    def snapshot_policy(self) -> SnapshotPolicy:
        return SnapshotPolicy(every=self.snapshot_every, interval_s=self.snapshot_interval_s)

    def backoff(self) -> Backoff:
        return Backoff(base_s=self.retry_base_s, max_s=self.retry_max_s)
