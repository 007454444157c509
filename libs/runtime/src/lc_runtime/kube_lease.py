"""The workers' lease as a Kubernetes `coordination.k8s.io/v1` Lease, and their
leader-election settings.

Who calls it: the reconciler, the domain verifier and the fleet aggregator, at start:
`async with elected(settings, lease=..., kubeconfig=...) as elector: await elector.run(work)`,
or `run_elected(...)`, which runs `work` directly when leader election is off. The
election itself (`decide`, fencing) is `lc_runtime.leadership`; this module only reads
and writes the Lease, with `metadata.resourceVersion` as the compare-and-swap token.
Needs the `kube` extra (kubernetes-asyncio, pydantic-settings).
"""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Final, Self

from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lc_runtime.leadership import LeaderElector, LeaseConflict, LeaseRecord, LeaseTiming

_Seconds = Annotated[float, Field(gt=0)]
REQUEST_TIMEOUT_S: Final = 5.0
"""No Lease call may hang: a leader's renewals must fail in time to fence itself."""


class LeaderElectionSettings(BaseSettings):
    """Leader election of a worker (`LC_*`); the workers' settings classes inherit it."""

    model_config = SettingsConfigDict(env_prefix="LC_", extra="ignore", frozen=True)

    leader_election: bool = False
    """LC_LEADER_ELECTION: run only while holding a Lease, so replicas can stand by (on
    whenever more than one replica runs)."""
    lease_namespace: str = "default"
    """LC_LEASE_NAMESPACE: namespace of the Lease (the chart's release namespace)."""
    lease_identity: str = ""
    """LC_LEASE_IDENTITY: this replica's name (empty: the host name, the pod's in a
    cluster); the Lease holds it with a random suffix per process (`name_1a2b3c`), as
    client-go does, so a replica restarted under the same name never renews the lease
    of the process it replaces: it waits it out like any standby."""
    lease_duration_s: _Seconds = 10.0
    """LC_LEASE_DURATION_S: a standby takes a lease not renewed for this long."""
    renew_deadline_s: _Seconds = 7.0
    """LC_RENEW_DEADLINE_S: a leader that could not renew for this long stops working."""
    retry_period_s: _Seconds = 1.0
    """LC_RETRY_PERIOD_S: how often a leader renews and a standby looks."""

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        self.lease_timing()  # raises ValueError naming the three
        return self

    def lease_timing(self) -> LeaseTiming:
        return LeaseTiming(self.lease_duration_s, self.renew_deadline_s, self.retry_period_s)

    def identity(self) -> str:
        return f"{self.lease_identity or socket.gethostname()}_{uuid.uuid4().hex[:6]}"


def _record(lease: client.V1Lease) -> LeaseRecord:
    spec = lease.spec or client.V1LeaseSpec()
    return LeaseRecord(
        holder=spec.holder_identity or None,
        lease_duration_s=float(spec.lease_duration_seconds or 0),
        acquired_at=spec.acquire_time,
        renewed_at=spec.renew_time,
        transitions=int(spec.lease_transitions or 0),
        version=str(lease.metadata.resource_version or ""),
    )


class KubeLeaseStore:
    """One Lease, read and written through kubernetes-asyncio."""

    def __init__(self, api: client.ApiClient, namespace: str, name: str) -> None:
        self._api = client.CoordinationV1Api(api)
        self.namespace = namespace
        self.name = name

    def _lease(self, record: LeaseRecord) -> client.V1Lease:
        return client.V1Lease(
            metadata=client.V1ObjectMeta(
                name=self.name,
                namespace=self.namespace,
                resource_version=record.version or None,
            ),
            spec=client.V1LeaseSpec(
                holder_identity=record.holder,
                lease_duration_seconds=max(1, round(record.lease_duration_s)),
                acquire_time=record.acquired_at,
                renew_time=record.renewed_at,
                lease_transitions=record.transitions,
            ),
        )

    async def get(self) -> LeaseRecord | None:
        try:
            lease = await self._api.read_namespaced_lease(
                self.name, self.namespace, _request_timeout=REQUEST_TIMEOUT_S
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return _record(lease)

    async def create(self, record: LeaseRecord) -> LeaseRecord:
        try:
            lease = await self._api.create_namespaced_lease(
                self.namespace, self._lease(record), _request_timeout=REQUEST_TIMEOUT_S
            )
        except ApiException as exc:
            if exc.status == 409:
                raise LeaseConflict(f"lease {self.name} exists already") from None
            raise
        return _record(lease)

    async def replace(self, record: LeaseRecord) -> LeaseRecord:
        try:
            lease = await self._api.replace_namespaced_lease(
                self.name, self.namespace, self._lease(record), _request_timeout=REQUEST_TIMEOUT_S
            )
        except ApiException as exc:
            if exc.status in (404, 409):
                raise LeaseConflict(
                    f"lease {self.name} changed since version {record.version}"
                ) from None
            raise
        return _record(lease)


async def open_api_client(kubeconfig: str | None) -> client.ApiClient:
    """A client from `kubeconfig`, or the in-cluster service account when it is None."""
    configuration = client.Configuration()
    if kubeconfig:
        await config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    else:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    return client.ApiClient(configuration)


@contextlib.asynccontextmanager
async def elected(
    settings: LeaderElectionSettings, *, lease: str, kubeconfig: str | None
) -> AsyncIterator[LeaderElector]:
    """An elector on the Lease `lease` (its client closed on exit)."""
    api = await open_api_client(kubeconfig)
    try:
        yield LeaderElector(
            KubeLeaseStore(api, settings.lease_namespace, lease),
            identity=settings.identity(),
            lease=lease,
            timing=settings.lease_timing(),
        )
    finally:
        await api.close()


async def run_elected(
    settings: LeaderElectionSettings,
    work: Callable[[], Awaitable[None]],
    *,
    lease: str,
    kubeconfig: str | None,
    on_elector: Callable[[LeaderElector], object] | None = None,
) -> None:
    """Run `work` while holding `lease`, or at once when leader election is off.
    `on_elector` receives the elector (its `.state` is what probes report)."""
    if not settings.leader_election:
        await work()
        return
    async with elected(settings, lease=lease, kubeconfig=kubeconfig) as elector:
        if on_elector is not None:
            on_elector(elector)
        await elector.run(work)
