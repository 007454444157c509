"""Settings of the fleet aggregator, read from `LC_*` environment variables.

Who reads them: `lc_fleet.main.run` (and `lc up`, which builds them for its embedded stack).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import SettingsConfigDict

from lc_contracts.engine import ENGINE_GROUP, ENGINE_VERSION
from lc_eventstore.provisioning import StreamReplicas
from lc_runtime.kube_lease import LeaderElectionSettings


def _env(field: str) -> AliasChoices:
    """Fleet-only knobs are read from LC_FLEET_<FIELD>; the field name works in code."""
    return AliasChoices(f"LC_FLEET_{field.upper()}", field)


class FleetSettings(LeaderElectionSettings):
    """Where the aggregator reads GPUs from and where it publishes the fleet."""

    model_config = SettingsConfigDict(
        env_prefix="LC_", extra="ignore", frozen=True, populate_by_name=True
    )

    nats_url: str = "nats://127.0.0.1:4222"
    """LC_NATS_URL: the NATS server with JetStream holding LC_STATUS and LC_EVENTS."""
    stream_replicas: StreamReplicas = 1
    """LC_STREAM_REPLICAS: copies JetStream keeps of each stream (1 on one server, 3 on a
    cluster); an existing stream with another count is refused at start, not rescaled."""

    kubeconfig: Path | None = None
    """LC_KUBECONFIG: kubeconfig of the cluster to watch; unset means the in-cluster
    service account, or ~/.kube/config outside a cluster."""

    kube_context: str | None = None
    """LC_KUBE_CONTEXT: context to use from the kubeconfig (its current context if unset)."""

    engine_group: str = ENGINE_GROUP
    """LC_ENGINE_GROUP: API group of the engine's GPU and Model custom resources."""

    engine_version: str = ENGINE_VERSION
    """LC_ENGINE_VERSION: API version of the engine's custom resources."""

    watch_timeout_s: int = Field(default=300, ge=1, validation_alias=_env("watch_timeout_s"))
    """LC_FLEET_WATCH_TIMEOUT_S: how long one watch request may last before it is renewed
    from the last seen resourceVersion (the server may end it sooner)."""

    list_page_size: int = Field(default=500, ge=1, validation_alias=_env("list_page_size"))
    """LC_FLEET_LIST_PAGE_SIZE: objects per page when (re)listing GPUs and Models."""

    backoff_initial_s: float = Field(default=0.2, gt=0, validation_alias=_env("backoff_initial_s"))
    """LC_FLEET_BACKOFF_INITIAL_S: first wait before reconnecting after a failed request."""

    backoff_max_s: float = Field(default=10.0, gt=0, validation_alias=_env("backoff_max_s"))
    """LC_FLEET_BACKOFF_MAX_S: longest wait between reconnection attempts."""

    publish_concurrency: int = Field(
        default=256, ge=1, validation_alias=_env("publish_concurrency")
    )
    """LC_FLEET_PUBLISH_CONCURRENCY: snapshots in flight to JetStream at once."""

    event_source: str = Field(default="lc-fleet", validation_alias=_env("event_source"))
    """LC_FLEET_EVENT_SOURCE: CloudEvents `source` of the gpu.health_changed events."""

    probe_host: str = "0.0.0.0"
    """LC_PROBE_HOST: address of the probe server (`/healthz`, `/readyz`, `/metrics`)."""

    probe_port: int | None = Field(default=None, ge=1, le=65535)
    """LC_PROBE_PORT: port of the probe server; unset, none is started (`lc up` reads the
    probes in its own process)."""

    @model_validator(mode="after")
    def _backoff_bounds(self) -> FleetSettings:
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError(
                "LC_FLEET_BACKOFF_MAX_S must be at least LC_FLEET_BACKOFF_INITIAL_S "
                f"({self.backoff_max_s} < {self.backoff_initial_s})"
            )
        return self
