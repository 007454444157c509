"""Settings of one lc-proxy process, read from `LC_*` environment variables.

Who calls it: `main` (the `lc-proxy` console script) builds one from the environment;
`lc up`, tests and benchmarks build one in code and pass it to `create_app`.
"""

from __future__ import annotations

import socket
from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lc_contracts.cross_site import AllowedHosts, parse_host_list
from lc_contracts.network import is_loopback
from lc_eventstore.provisioning import StreamReplicas
from lc_proxy.api_keys import ApiKeys, parse_keys


def _default_replica_name() -> str:
    return socket.gethostname() or "lc-proxy"


class ProxySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LC_", extra="ignore", frozen=True)

    nats_url: str = "nats://127.0.0.1:4222"
    """NATS server holding LC_STATUS (`LC_NATS_URL`)."""
    stream_replicas: StreamReplicas = 1
    """LC_STREAM_REPLICAS: copies JetStream keeps of each stream (1 on one server, 3 on a
    cluster); an existing stream with another count is refused at start, not rescaled."""

    proxy_host: str = "127.0.0.1"
    """Address `lc-proxy` listens on (`LC_PROXY_HOST`)."""
    proxy_port: int = Field(default=8081, ge=0, le=65535)
    """Port `lc-proxy` listens on (`LC_PROXY_PORT`)."""

    proxy_api_keys: SecretStr | None = None
    """Comma-separated API keys (each 20+ characters); when set, `/v1/*` and `/metrics`
    answer only requests bearing one (`Authorization: Bearer <key>`, as every OpenAI SDK
    sends it). Required to listen on anything but loopback (`LC_PROXY_API_KEYS`)."""
    proxy_allow_anonymous: bool = False
    """Serve a non-loopback address without API keys: only when something in front of
    lc-proxy authenticates every request (`LC_PROXY_ALLOW_ANONYMOUS`)."""

    allowed_hosts: str = ""
    """Comma-separated host names lc-proxy answers for besides loopback and `proxy_host`
    (`api.example.com`, `*.example.com`); any other `Host` gets 421, so a DNS-rebinding
    page cannot reach it under its own name. Shared with lcd (`LC_ALLOWED_HOSTS`)."""

    proxy_replica_name: str = Field(default_factory=_default_replica_name, min_length=1)
    """Name of this proxy replica in its usage snapshots: `lc.status.usage.<name>`.
    Defaults to the host name (the pod name in Kubernetes)."""

    proxy_max_body_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    """Largest request body accepted; larger ones get 413 (`LC_PROXY_MAX_BODY_BYTES`)."""

    proxy_connect_timeout_s: float = Field(default=2.0, gt=0)
    """Time allowed to open a connection to a replica before trying another one."""
    proxy_read_timeout_s: float = Field(default=300.0, gt=0)
    """Longest silence allowed from a replica: before its response headers (then 504)
    and between two chunks of a stream (then the stream ends with an error event)."""

    proxy_eject_after_failures: int = Field(default=3, ge=1)
    """Consecutive failures (connect errors, timeouts, 5xx) that eject a replica."""
    proxy_eject_cooldown_s: float = Field(default=10.0, gt=0)
    """How long an ejected replica is kept out of rotation."""

    proxy_upstream_client: Literal["aiohttp", "httpx"] = "aiohttp"
    """HTTP client library used to call replicas; aiohttp measured faster (bench/proxy.py)."""
    proxy_upstream_max_connections: int = Field(default=1024, ge=1)
    """Upper bound of pooled connections to all replicas together."""

    proxy_usage_interval_s: float = Field(default=5.0, gt=0)
    """Period of the usage snapshots published on LC_STATUS."""
    proxy_provision_streams: bool = True
    """Create the platform's streams at start if missing (idempotent)."""

    proxy_batch_per_replica: int = Field(default=8, ge=1)
    """Batch requests one ready replica may have in flight when no interactive request is
    (`LC_PROXY_BATCH_PER_REPLICA`); each interactive request in flight for the model takes
    one away, so batches use only the capacity interactive traffic leaves idle."""
    proxy_batch_busy_share: float = Field(default=0.25, gt=0, le=1)
    """Share of that capacity batches keep while a model has interactive traffic (a
    request in flight, or one started within `LC_PROXY_BATCH_QUIET_S`): a replica
    answers each request more slowly the more it serves at once, so batches step back
    (`LC_PROXY_BATCH_BUSY_SHARE`)."""
    proxy_batch_slowdown_tolerance: float = Field(default=1.0, ge=0)
    """Within that share, batches back off further while interactive requests are slower
    than their best of the last minute by more than this fraction (1: twice as slow; the
    best is a lucky answer, and answers vary by that much with nothing else running,
    bench/RESULTS.md): each such request halves the batch's share (at most twice a
    second), which then grows back over `LC_PROXY_BATCH_REGROW_S`
    (`LC_PROXY_BATCH_SLOWDOWN_TOLERANCE`). The time compared is the time to the first
    byte of a stream, or per completion token of a whole answer."""
    proxy_batch_regrow_s: float = Field(default=5.0, gt=0)
    """Seconds for a batch's share, once cut back by slower interactive requests, to grow
    from nothing to the whole busy share again (`LC_PROXY_BATCH_REGROW_S`)."""
    proxy_batch_quiet_s: float = Field(default=1.0, ge=0)
    """How long after the last interactive request batches get the whole capacity back
    (`LC_PROXY_BATCH_QUIET_S`)."""
    proxy_batch_lease_s: float = Field(default=10.0, gt=0)
    """How long a replica holds a batch without renewing it: after a crash, another
    replica goes on with the batch within this time (`LC_PROXY_BATCH_LEASE_S`)."""
    proxy_batch_window_s: float = Field(default=24 * 3600.0, gt=0)
    """Length of the `24h` completion window in seconds; past it a batch expires and its
    unanswered requests become `batch_expired` errors (`LC_PROXY_BATCH_WINDOW_S`)."""

    proxy_gc_freeze: bool = True
    """Move everything allocated during start-up out of the garbage collector's reach
    (`gc.freeze()`): it lives as long as the process, and scanning it again and again
    cost about a fifth of the proxy's CPU per request (bench/proxy.py)."""

    proxy_access_log: bool = True
    """Write one structured line per request to the `lc_proxy.access` logger."""
    proxy_log_format: Literal["json", "console"] = "json"
    """`json` for production, `console` for a terminal (`lc-proxy` only)."""
    proxy_log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("proxy_api_keys")
    @classmethod
    def _keys_are_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_keys(value.get_secret_value())
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _host_names(cls, value: str) -> str:
        return ",".join(parse_host_list(value))

    @model_validator(mode="after")
    def _anonymous_only_on_loopback(self) -> Self:
        if (
            self.proxy_api_keys is None
            and not self.proxy_allow_anonymous
            and not is_loopback(self.proxy_host)
        ):
            raise ValueError(
                f"refusing to serve every model on {self.proxy_host} to anyone: set "
                "LC_PROXY_API_KEYS, or LC_PROXY_ALLOW_ANONYMOUS=true if something in front "
                "of lc-proxy authenticates every request"
            )
        return self

    def allowed_host_names(self) -> AllowedHosts:
        return AllowedHosts.of(self.allowed_hosts.split(","), self.proxy_host)

    def api_keys(self) -> ApiKeys:
        if self.proxy_api_keys is None:
            return ApiKeys([])
        return ApiKeys(parse_keys(self.proxy_api_keys.get_secret_value()))
