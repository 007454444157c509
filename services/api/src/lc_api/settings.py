"""lcd's settings, read from `LC_*` environment variables and validated at start.

Built once by the `lcd` entry point (or by `lc up`, or by tests) and handed to
`create_app(settings)`; nothing reads the environment anywhere else.
"""

from __future__ import annotations

import ipaddress
from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lc_contracts.cross_site import AllowedHosts, parse_host_list
from lc_contracts.hostnames import platform_hostname
from lc_contracts.network import is_loopback
from lc_contracts.outbound import parse_networks
from lc_contracts.sealing import SecretKey
from lc_eventstore.provisioning import StreamReplicas

PLACEHOLDER_PASSWORDS = frozenset(
    {"", "changeme", "change-me", "password", "admin", "<generate-a-password>", "secret"}
)
MIN_PASSWORD_LENGTH = 8
MIN_METRICS_TOKEN_LENGTH = 24


class ApiSettings(BaseSettings):
    """Everything lcd needs to run. Bad values fail at start with one clear line."""

    model_config = SettingsConfigDict(env_prefix="LC_", extra="ignore", frozen=True)

    nats_url: str = "nats://127.0.0.1:4222"
    """NATS server (with JetStream) holding LC_EVENTS and LC_STATUS."""
    stream_replicas: StreamReplicas = 1
    """LC_STREAM_REPLICAS: copies JetStream keeps of each stream (1 on one server, 3 on a
    cluster); an existing stream with another count is refused at start, not rescaled."""

    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/liquidcompute"
    """PostgreSQL for the read models; `postgresql://` URLs are given the psycopg 3 driver."""

    platform_domain: str = "lc.localhost"
    """Suffix of every Service's generated hostname (`lc_contracts.hostnames`)."""

    ingress_service_namespace: str = "ingress-nginx"
    """Namespace of the shared ingress controller Service that custom domains CNAME to."""

    ingress_service_name: str = "ingress-nginx-controller"
    """Name of the shared ingress controller Service that custom domains CNAME to."""

    ingress_cname_target: str | None = None
    """The hostname users point custom domains at; defaults to the ingress Service's DNS name."""

    auth_username: str | None = None
    """Admin login. With `auth_password`, every /api route but health, config and login needs it."""

    auth_password: SecretStr | None = None
    """Admin password (kept only as an Argon2id hash in memory). Placeholders are refused."""

    auth_trust_loopback: bool = False
    """Treat a request whose TCP peer is a loopback address as the admin, without
    credentials: for lcd alone in a Kubernetes pod, where only `kubectl port-forward`
    (whose user may read the admin Secret anyway) connects from loopback. The peer is the
    socket's, never an `X-Forwarded-For`. Never behind a proxy on the same machine (`lc
    up`'s gateway, a service-mesh sidecar): everything it forwards would be admin."""

    bind_host: str = "127.0.0.1"
    """Address `lcd` listens on. Anything but loopback requires admin credentials."""

    bind_port: int = Field(default=8080, ge=1, le=65535)
    """TCP port `lcd` listens on."""

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    """Largest request body accepted; larger ones are answered 413."""

    read_your_writes_timeout_s: float = Field(default=2.0, ge=0.0, le=30.0)
    """How long a write waits for its projection before answering 202 + Location."""

    command_attempts: int = Field(default=8, ge=1, le=50)
    """How often a command is re-decided after losing an optimistic-concurrency race."""

    domain_expiry_h: float = Field(default=72.0, gt=0)
    """Hours a custom domain has to get verified (the domain verifier reads the same
    variable): a domain registered longer ago and never verified loses its claim, and
    another registration may take the FQDN."""

    orphan_sweep_interval_s: float = Field(default=30.0, gt=0, le=3600)
    """How often lcd looks for services and domains left in a deleted project (by a write
    that died before its own check) and deletes them."""

    projector_enabled: bool = True
    """Run the projector in this process (one active per database; others stand by)."""

    session_ttl_s: int = Field(default=12 * 3600, ge=60)
    """Lifetime of a console session cookie."""

    login_max_failures: int = Field(default=5, ge=1)
    """Failed logins allowed per client address within `login_window_s` before 429;
    counted in PostgreSQL, so shared by every lcd replica."""

    login_window_s: float = Field(default=60.0, gt=0)
    """Sliding window of the failed-login rate limit."""

    trusted_proxies: str = "127.0.0.1,::1"
    """Comma-separated addresses or networks (CIDR) whose `X-Forwarded-For` lcd believes:
    the ingress controller's pods. The login limit counts per client address, so behind an
    Ingress this must name it, or every user shares the ingress's address and its count."""

    allowed_hosts: str = ""
    """Comma-separated host names lcd answers for besides loopback and `bind_host`: the
    console's host behind an Ingress (`console.example.com`, or `*.example.com`). Any
    other `Host` gets 421, so a DNS-rebinding page cannot reach lcd under its own name."""

    secret_key: SecretStr | None = None
    """Platform key sealing project secrets (AES-256-GCM; 32 random bytes, URL-safe
    base64). Without it the secrets routes answer 503; `lc up` generates one into its data
    directory. The reconciler needs the same key to write the Kubernetes Secrets."""

    webhook_allow_networks: str = ""
    """Comma-separated networks webhook URLs may reach although the SSRF rules refuse them
    (loopback, private, link-local, ...): `10.20.0.0/16` for an in-house receiver."""

    webhook_allow_http: bool = False
    """Allow `http://` webhook URLs off loopback (https is required otherwise)."""

    dns_nameservers: str = ""
    """`host:port` list of DNS servers webhook hosts are resolved with; empty: the system's."""
    metrics_token: SecretStr | None = None
    """LC_METRICS_TOKEN: a bearer token that reads `/api/metrics` without the admin login,
    for a Prometheus scraper (`Authorization: Bearer <token>`); at least 24 characters.
    Unset, `/api/metrics` needs the admin login when auth is on."""

    idempotency_ttl_s: int = Field(default=24 * 3600, ge=60)
    """How long an Idempotency-Key and its response are remembered."""

    source: str = "lcd"
    """CloudEvents `source` of the events this process writes."""

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, value: str) -> str:
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        if not value.startswith("postgresql+psycopg://"):
            raise ValueError("LC_DATABASE_URL must be a postgresql:// (psycopg 3) URL")
        return value

    @field_validator("nats_url")
    @classmethod
    def _nats_scheme(cls, value: str) -> str:
        if not value.startswith(("nats://", "tls://", "ws://", "wss://")):
            raise ValueError("LC_NATS_URL must start with nats://, tls://, ws:// or wss://")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        items = [item.strip() for item in value.split(",") if item.strip()]
        for item in items:
            if item == "*":
                raise ValueError(
                    "LC_TRUSTED_PROXIES must name the ingress's addresses or networks; "
                    "'*' would let any client pick the address it is limited by"
                )
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"LC_TRUSTED_PROXIES: {item!r} is not an IP address or CIDR network"
                ) from None
        return ",".join(items)

    @field_validator("webhook_allow_networks")
    @classmethod
    def _webhook_networks(cls, value: str) -> str:
        try:
            parse_networks(value)
        except ValueError as exc:
            raise ValueError(f"LC_WEBHOOK_ALLOW_NETWORKS: {exc}") from None
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _host_names(cls, value: str) -> str:
        return ",".join(parse_host_list(value))

    @field_validator("secret_key")
    @classmethod
    def _sealing_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            SecretKey.parse(value.get_secret_value())
        return value

    @field_validator("platform_domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        value = value.strip().rstrip(".").lower()
        if not value or " " in value or "/" in value:
            raise ValueError("LC_PLATFORM_DOMAIN must be a DNS name like 'example.com'")
        return value

    @model_validator(mode="after")
    def _auth_is_complete(self) -> Self:
        if (self.auth_username is None) != (self.auth_password is None):
            raise ValueError("set both LC_AUTH_USERNAME and LC_AUTH_PASSWORD, or neither")
        if self.auth_password is not None:
            password = self.auth_password.get_secret_value()
            if password.lower() in PLACEHOLDER_PASSWORDS or len(password) < MIN_PASSWORD_LENGTH:
                raise ValueError(
                    f"LC_AUTH_PASSWORD is a placeholder or shorter than {MIN_PASSWORD_LENGTH} characters"
                )
        if self.metrics_token is not None:
            token = self.metrics_token.get_secret_value()
            if token.lower() in PLACEHOLDER_PASSWORDS or len(token) < MIN_METRICS_TOKEN_LENGTH:
                raise ValueError(
                    f"LC_METRICS_TOKEN is a placeholder or shorter than {MIN_METRICS_TOKEN_LENGTH} characters"
                )
        if self.auth_trust_loopback and not self.auth_enabled:
            raise ValueError(
                "LC_AUTH_TRUST_LOOPBACK=true needs LC_AUTH_USERNAME and LC_AUTH_PASSWORD: "
                "without a login every caller is the admin already"
            )
        if not self.auth_enabled and not is_loopback(self.bind_host):
            raise ValueError(
                f"LC_BIND_HOST={self.bind_host} is not loopback: set LC_AUTH_USERNAME and LC_AUTH_PASSWORD"
            )
        return self

    @property
    def auth_enabled(self) -> bool:
        return self.auth_username is not None and self.auth_password is not None

    def sealing_key(self) -> SecretKey | None:
        if self.secret_key is None:
            return None
        return SecretKey.parse(self.secret_key.get_secret_value())

    def allowed_host_names(self) -> AllowedHosts:
        return AllowedHosts.of(self.allowed_hosts.split(","), self.bind_host)

    @property
    def cname_target(self) -> str:
        if self.ingress_cname_target:
            return self.ingress_cname_target.rstrip(".")
        return f"{self.ingress_service_name}.{self.ingress_service_namespace}.svc.cluster.local"

    def service_url(self, project_slug: str, service_name: str) -> str:
        return f"https://{platform_hostname(service_name, project_slug, self.platform_domain)}"
