"""Settings of the local stack (`lc up`), from flags or `LC_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lc_contracts.network import is_loopback
from lc_eventstore.provisioning import StreamReplicas
from lc_proxy.settings import ProxySettings


class LocalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LC_", extra="ignore")

    data_dir: Path = Field(
        Path(".lc"),
        description="Where the embedded NATS, PostgreSQL and simulator keep their data.",
    )
    host: str = Field("127.0.0.1", description="Address the console, /api and /v1 listen on.")
    port: int = Field(
        8080, ge=0, le=65535, description="Port of the console, /api and /v1 (0 picks a free one)."
    )
    nats_url: str | None = Field(
        None, description="An external NATS with JetStream; the embedded one when unset."
    )
    ha: bool = Field(
        False,
        description="Run as a cluster would: three NATS nodes, two of every process (lc up --ha).",
    )
    stream_replicas: StreamReplicas = Field(
        1, description="Copies JetStream keeps of each stream: 1 on one server, 3 on a cluster."
    )
    database_url: str | None = Field(
        None,
        description="An external PostgreSQL (postgresql+psycopg://...); the embedded one when unset.",
    )
    kubeconfig: Path | None = Field(
        None, description="A real cluster's kubeconfig; the simulator when unset."
    )
    sim_gpus: str = Field(
        "2x4:H100-80GB", description="The simulated GPU fleet: NODESxDEVICES:PRODUCT[,...]."
    )
    dns_nameservers: str | None = Field(
        None, description="host:port list for domain verification; the simulator's zone when unset."
    )
    auth_username: str | None = Field(
        None, description="Admin user name; auth is off when unset (loopback only)."
    )
    auth_password: str | None = Field(
        None, description="Admin password (never logged).", repr=False
    )
    auth_trust_loopback: bool = Field(
        False,
        description="lcd's LC_AUTH_TRUST_LOOPBACK, for a cluster pod only: refused here.",
    )
    secret_key: str | None = Field(
        None,
        description="Platform key sealing project secrets; generated into <data-dir>/secret.key when unset.",
        repr=False,
    )
    platform_domain: str = Field(
        "lc.localhost",
        description="Suffix of generated Service hostnames: <service>-<project>.<domain>.",
    )
    frontend_dist: Path = Field(
        Path("services/frontend/dist"), description="The built console served at /."
    )

    @model_validator(mode="after")
    def _auth_off_only_on_loopback(self) -> Self:
        if self.auth_trust_loopback:
            # The gateway (or, in one process, any program on this machine) reaches lcd
            # from loopback: every client of lc up would be the admin.
            raise ValueError(
                "LC_AUTH_TRUST_LOOPBACK is for lcd in a Kubernetes pod (kubectl port-forward); "
                "lc up forwards every request to lcd from loopback, so unset it"
            )
        if not is_loopback(self.host) and not (self.auth_username and self.auth_password):
            raise ValueError(
                f"refusing to listen on {self.host} without admin credentials: "
                "set LC_AUTH_USERNAME and LC_AUTH_PASSWORD, or bind to 127.0.0.1"
            )
        # /v1 listens on the same address: lc-proxy's own rule (API keys off loopback)
        # applies, and is better said now than when the stack is half started.
        try:
            ProxySettings(proxy_host=self.host)
        except ValidationError as exc:
            raise ValueError(
                "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
            ) from None
        return self
