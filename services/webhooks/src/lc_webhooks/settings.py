"""The webhooks worker's settings, from `LC_*` variables, validated at start."""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lc_contracts.outbound import IPNetwork, parse_networks
from lc_contracts.sealing import SecretKey
from lc_eventstore.provisioning import StreamReplicas
from lc_webhooks.retry_schedule import SVIX_SCHEDULE_S
from lc_webhooks.shares import default_processes


class WebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LC_", extra="ignore", frozen=True)

    nats_url: str = "nats://127.0.0.1:4222"
    """NATS server (with JetStream) holding LC_EVENTS; a cluster's servers comma-separated."""

    stream_replicas: StreamReplicas = 1
    """LC_STREAM_REPLICAS: copies JetStream keeps of each stream (3 on a cluster)."""

    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/liquidcompute"
    """lcd's PostgreSQL: the delivery log (`webhook_deliveries`, created by lcd's migrations)."""

    secret_key: SecretStr | None = None
    """The platform key lcd sealed the signing secrets with (LC_SECRET_KEY); required."""

    webhook_retry_schedule_s: tuple[float, ...] = SVIX_SCHEDULE_S
    """Delays between attempts (JSON list); once spent, the subscription is paused."""

    webhook_retry_jitter: float = Field(default=0.2, ge=0.0, le=1.0)
    """Each scheduled delay is spread by ± this fraction."""

    webhook_timeout_s: float = Field(default=15.0, gt=0, le=60)
    """A receiver must answer 2xx within this time."""

    webhook_allow_networks: str = ""
    """Comma-separated networks the SSRF rules would refuse that receivers may be on."""

    webhook_allow_http: bool = False
    """Allow plain `http://` receivers off loopback."""

    dns_nameservers: str = ""
    """`host:port` DNS servers receivers' names are resolved with; empty: the system's."""

    webhook_log_retention_h: float = Field(default=24.0 * 30, gt=0)
    """How long the delivery log keeps an attempt."""

    webhook_batch: int = Field(default=256, ge=1, le=4096)
    """Events fetched at once per subscription (and the most unacknowledged at a time)."""

    webhook_processes: int = Field(default_factory=default_processes, ge=1, le=64)
    """LC_WEBHOOK_PROCESSES: delivery processes, each delivering for its share of the
    subscriptions (a hash of the id); above 1 this process only starts and watches them.
    Default: the CPUs this process may use, at most 8."""

    source: str = "lc-webhooks"

    probe_host: str = "0.0.0.0"
    """LC_PROBE_HOST: address of the probe server (`/healthz`, `/readyz`, `/metrics`)."""

    probe_port: int | None = Field(default=None, ge=1, le=65535)
    """LC_PROBE_PORT: port of the probe server; unset, none is started (`lc up` reads the
    probes in its own process)."""

    @field_validator("webhook_allow_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        try:
            parse_networks(value)
        except ValueError as exc:
            raise ValueError(f"LC_WEBHOOK_ALLOW_NETWORKS: {exc}") from None
        return value

    @model_validator(mode="after")
    def _key(self) -> Self:
        if self.secret_key is None:
            raise ValueError("LC_SECRET_KEY is required: it opens the subscriptions' secrets")
        SecretKey.parse(self.secret_key.get_secret_value())
        if not self.webhook_retry_schedule_s:
            raise ValueError("LC_WEBHOOK_RETRY_SCHEDULE_S needs at least one delay")
        return self

    def sealing_key(self) -> SecretKey:
        assert self.secret_key is not None
        return SecretKey.parse(self.secret_key.get_secret_value())

    def allowed_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.webhook_allow_networks)

    def nameservers(self) -> list[tuple[str, int]]:
        out = []
        for item in self.dns_nameservers.split(","):
            item = item.strip()
            if item:
                host, _, port = item.rpartition(":") if item.count(":") == 1 else (item, "", "53")
                out.append((host, int(port)))
        return out
