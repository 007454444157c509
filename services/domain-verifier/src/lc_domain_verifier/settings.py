"""Configuration of the domain verifier, read from `LC_*` environment variables.

Built by the console script (`VerifierSettings()`), by `lc up`, or by tests with
keyword arguments; `run(settings)` consumes it. Bad values fail at construction with one
line saying which variable is wrong.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, Field, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from lc_contracts.fqdn import normalise_fqdn
from lc_domain_verifier.domain.policy import VerificationPolicy
from lc_eventstore.provisioning import StreamReplicas
from lc_eventstore.snapshots import SnapshotPolicy
from lc_runtime.kube_lease import LeaderElectionSettings

DEFAULT_DNS_PORT = 53


@dataclass(frozen=True)
class Nameserver:
    """A DNS server to ask: an IP address and a port."""

    host: str
    port: int = DEFAULT_DNS_PORT

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_nameserver(text: str) -> Nameserver:
    """`host`, `host:port`, `[v6]` or `[v6]:port`; the host must be an IP address."""
    value = text.strip()
    port = DEFAULT_DNS_PORT
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r} is not [ipv6]:port")
        if rest:
            port = _port(rest[1:], text)
    elif value.count(":") == 1:
        host, port_text = value.split(":")
        port = _port(port_text, text)
    else:
        host = value  # a bare IPv4 or IPv6 address
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{text!r}: the host must be an IP address") from None
    return Nameserver(str(address), port)


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{whole!r}: the port must be 1-65535")
    return int(text)


def _nameserver_list(value: object) -> object:
    if isinstance(value, str):
        return [parse_nameserver(part) for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple):
        return [
            item if isinstance(item, Nameserver) else parse_nameserver(str(item)) for item in value
        ]
    return value


class VerifierSettings(LeaderElectionSettings):
    """Every knob of the domain verifier. Environment variables are `LC_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="LC_", extra="ignore", frozen=True)

    nats_url: str = "nats://127.0.0.1:4222"
    """LC_NATS_URL: the NATS server holding the LC_EVENTS stream."""
    kubeconfig: str | None = None
    """LC_KUBECONFIG: kubeconfig of the cluster holding the Lease (with LC_LEADER_ELECTION;
    unset uses the in-cluster service account)."""
    stream_replicas: StreamReplicas = 1
    """LC_STREAM_REPLICAS: copies JetStream keeps of each stream (1 on one server, 3 on a
    cluster); an existing stream with another count is refused at start, not rescaled."""

    dns_nameservers: Annotated[list[Nameserver], NoDecode, BeforeValidator(_nameserver_list)] = (
        Field(default_factory=list)
    )
    """LC_DNS_NAMESERVERS: comma-separated `host:port` (IPv6 as `[addr]:port`) of the
    servers to ask; empty uses the system's resolvers (/etc/resolv.conf). `lc up` points
    it at the simulated zone."""

    dns_timeout_s: float = Field(default=5.0, gt=0)
    """LC_DNS_TIMEOUT_S: how long one lookup may take, all servers and retries included,
    before it counts as `timeout`."""

    domain_recheck_initial_s: float = Field(default=30.0, gt=0)
    """LC_DOMAIN_RECHECK_INITIAL_S: wait before re-checking a pending domain after its
    first failed check."""

    domain_recheck_factor: float = Field(default=2.0, ge=1.0)
    """LC_DOMAIN_RECHECK_FACTOR: each further failed check multiplies the wait by this."""

    domain_recheck_max_s: float = Field(default=3600.0, gt=0)
    """LC_DOMAIN_RECHECK_MAX_S: the longest wait between checks of a pending domain."""

    domain_expiry_h: float = Field(default=72.0, gt=0)
    """LC_DOMAIN_EXPIRY_H: hours a domain may stay pending before it fails as `expired`
    (a new verify request starts a new window)."""

    domain_reverify_interval_s: float = Field(default=86400.0, gt=0)
    """LC_DOMAIN_REVERIFY_INTERVAL_S: how often a verified domain's record is re-checked."""

    domain_reverify_retry_s: float = Field(default=900.0, gt=0)
    """LC_DOMAIN_REVERIFY_RETRY_S: after a failed re-verification, the next check comes
    this soon (so a domain is lost after roughly LOST_AFTER times RETRY of failures)."""

    domain_lost_after: int = Field(default=3, ge=1)
    """LC_DOMAIN_LOST_AFTER: consecutive failed re-verifications that make a verified
    domain lost (the reconciler then removes its hostname)."""

    ingress_cname_target: str | None = None
    """LC_INGRESS_CNAME_TARGET: the hostname custom domains should CNAME to (the
    platform's ingress). Only informational: published with each check's outcome."""

    domain_max_concurrent_checks: int = Field(default=32, ge=1)
    """LC_DOMAIN_MAX_CONCURRENT_CHECKS: DNS lookups in flight at once."""

    snapshots: bool = True
    """LC_SNAPSHOTS: keep the folded domain state in snapshots (bucket LC_SNAPSHOTS), so a
    start folds only the events after the latest one; off, every start folds from sequence 1."""

    snapshot_every: int = Field(default=10_000, ge=1)
    """LC_SNAPSHOT_EVERY: write a snapshot once this many sequences were read since the last."""

    snapshot_interval_s: float = Field(default=300.0, gt=0)
    """LC_SNAPSHOT_INTERVAL_S: and at least this often while events arrive (one is also
    written on a clean shutdown)."""

    probe_host: str = "0.0.0.0"
    """LC_PROBE_HOST: address of the probe server (`/healthz`, `/readyz`, `/metrics`)."""

    probe_port: int | None = Field(default=None, ge=1, le=65535)
    """LC_PROBE_PORT: port of the probe server; unset, none is started (`lc up` reads the
    probes in its own process)."""

    @field_validator("ingress_cname_target", mode="before")
    @classmethod
    def _canonical_target(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return normalise_fqdn(value)

    @model_validator(mode="after")
    def _consistent(self) -> VerifierSettings:
        if self.domain_recheck_max_s < self.domain_recheck_initial_s:
            raise ValueError("LC_DOMAIN_RECHECK_MAX_S must be at least LC_DOMAIN_RECHECK_INITIAL_S")
        self.policy()  # its own rules, checked at start rather than at the first use
        return self

    def snapshot_policy(self) -> SnapshotPolicy:
        return SnapshotPolicy(every=self.snapshot_every, interval_s=self.snapshot_interval_s)

    def policy(self) -> VerificationPolicy:
        """The timing policy these settings describe (raises ValueError if inconsistent)."""
        return VerificationPolicy(
            recheck_initial=timedelta(seconds=self.domain_recheck_initial_s),
            recheck_factor=self.domain_recheck_factor,
            recheck_max=timedelta(seconds=self.domain_recheck_max_s),
            expiry=timedelta(hours=self.domain_expiry_h),
            reverify_interval=timedelta(seconds=self.domain_reverify_interval_s),
            reverify_retry=timedelta(seconds=self.domain_reverify_retry_s),
            lost_after=self.domain_lost_after,
        )
