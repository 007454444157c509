"""`ClusterSim`: the whole simulator in one process, and its configuration.

Who calls it: the CLI's `serve` (`lc sim`, `lc up`), the pytest fixture in
`lc_testing.cluster`, and any test or benchmark:

    async with ClusterSim(SimConfig(gpus="2x4:H100-80GB", data_dir=tmp_path)) as sim:
        sim.kubeconfig_path, sim.api_url, sim.admin_url, sim.dns_address
        await sim.set_gpu_health("sim-node-0-gpu0", "Unhealthy")

What it owns: start-up order (object store and CRDs, Kubernetes API, engine, controllers,
DNS zone, admin API, kubeconfig and `clustersim.json` in the data directory) and the
Python fault knobs, which the admin API exposes over HTTP.

This is a development and test tool; production talks to a real cluster.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lc_clustersim.admin_api import AdminApi
from lc_clustersim.controllers import SimulatedControllers
from lc_clustersim.crds import simulator_crds
from lc_clustersim.dns_zone import DnsZone, Record
from lc_clustersim.engine import EngineTimings, SimulatedEngine
from lc_clustersim.fleet import parse_fleet
from lc_clustersim.kubeapi.http_server import KubeApiServer
from lc_clustersim.kubeapi.kubeconfig import write_kubeconfig
from lc_clustersim.kubeapi.resources import CRD_KEY
from lc_clustersim.kubeapi.store import ObjectStore
from lc_clustersim.upstream import SimulatedUpstream, UpstreamFaults
from lc_contracts.engine import GpuHealth

STATE_FILE = "clustersim.json"


@dataclass(frozen=True)
class SimConfig:
    """Everything `ClusterSim` needs; the defaults are what `lc up` uses."""

    gpus: str = "2x4:H100-80GB"
    """The GPU fleet: NODESxDEVICES:PRODUCT terms, comma-separated."""
    data_dir: Path | None = None
    """Where the kubeconfig and clustersim.json go; a temporary directory if None."""
    host: str = "127.0.0.1"
    """The loopback address every server binds."""
    api_port: int = 0
    """Kubernetes API port (0 = a free port)."""
    admin_port: int = 0
    """Admin HTTP API port (0 = a free port)."""
    dns_port: int = 0
    """DNS zone port, UDP and TCP (0 = a free port)."""
    pending_s: float = 0.5
    """How long a Model stays Pending."""
    loading_s: float = 2.0
    """How long a scheduled Model stays Loading."""
    ready_delay_s: float = 0.5
    """How long Deployments, Certificates and Ingresses wait before becoming ready."""
    watch_window: int = 10_000
    """How many changes the API keeps for watches to resume from (older ones get 410)."""
    ingress_address: str = "127.0.0.1"
    """The load-balancer address Ingresses get."""


class ClusterSim:
    """The simulated cluster; use as `async with ClusterSim(config) as sim:`."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        parse_fleet(self.config.gpus)  # fail fast on a bad fleet spec
        self.store = ObjectStore(window=self.config.watch_window)
        self.api = KubeApiServer(self.store)
        self.dns = DnsZone()
        self.engine = SimulatedEngine(
            self.store,
            parse_fleet(self.config.gpus),
            timings=EngineTimings(pending_s=self.config.pending_s, loading_s=self.config.loading_s),
            host=self.config.host,
        )
        self.controllers = SimulatedControllers(
            self.store,
            ready_delay_s=self.config.ready_delay_s,
            ingress_address=self.config.ingress_address,
        )
        self._admin: AdminApi | None = None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self.data_dir = Path()
        self.kubeconfig_path = Path()

    async def start(self) -> None:
        config = self.config
        if config.data_dir is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="clustersim-")
            self.data_dir = Path(self._tempdir.name)
        else:
            self.data_dir = Path(config.data_dir)
            self.data_dir.mkdir(parents=True, exist_ok=True)
        crd_type = self.store.type_for(CRD_KEY)
        installed = {o.name for o in self.store.list_objects(crd_type, None)}
        for crd in simulator_crds():
            if crd["metadata"]["name"] not in installed:
                self.store.create(crd_type, None, crd, manager="clustersim")
        await self.api.start(config.host, config.api_port)
        await self.engine.start()
        await self.controllers.start()
        await self.dns.start(config.host, config.dns_port)
        self._admin = AdminApi(self)
        await self._admin.start(config.host, config.admin_port)
        self.kubeconfig_path = write_kubeconfig(self.data_dir / "kubeconfig", self.api_url)
        (self.data_dir / STATE_FILE).write_text(json.dumps(self.describe(), indent=2))

    async def stop(self) -> None:
        if self._admin is not None:
            await self._admin.stop()
            self._admin = None
        await self.dns.stop()
        await self.controllers.stop()
        await self.engine.stop()
        await self.api.stop()
        with_state = self.data_dir / STATE_FILE
        if with_state.exists():
            with_state.unlink()
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    async def __aenter__(self) -> ClusterSim:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- addresses ---------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return self.api.url

    @property
    def admin_url(self) -> str:
        return str(self._admin.url) if self._admin is not None else ""

    @property
    def dns_address(self) -> tuple[str, int]:
        return self.dns.address

    def describe(self) -> dict[str, Any]:
        """Where everything listens; written to `<data_dir>/clustersim.json`."""
        return {
            "apiUrl": self.api_url,
            "adminUrl": self.admin_url,
            "dns": {"host": self.dns_address[0], "port": self.dns_address[1]},
            "kubeconfig": str(self.kubeconfig_path),
            "gpus": self.engine.gpu_names,
        }

    # -- fault knobs -------------------------------------------------------------

    async def fail_model(
        self, namespace: str, name: str, reason: str = "simulated load failure"
    ) -> None:
        await self.engine.fail_model(namespace, name, reason)

    async def set_gpu_health(self, gpu: str, health: GpuHealth | str) -> None:
        await self.engine.set_gpu_health(gpu, health)

    async def add_gpus(self, spec: str) -> list[str]:
        """Add nodes to the fleet, e.g. `1x2:A100-40GB`; returns the new GPU names."""
        devices = parse_fleet(spec, first_node=self.engine.next_node_number())
        return await self.engine.add_gpus(devices)

    async def remove_gpu(self, gpu: str) -> None:
        await self.engine.remove_gpu(gpu)

    def set_upstream_faults(
        self,
        *,
        latency_s: float | None = None,
        error_rate: float | None = None,
        token_delay_s: float | None = None,
        kill_after_chunks: int | None = None,
    ) -> None:
        self.engine.set_upstream_faults(
            latency_s=latency_s,
            error_rate=error_rate,
            token_delay_s=token_delay_s,
            kill_after_chunks=kill_after_chunks,
        )

    def kill_streams(self, namespace: str | None = None, model: str | None = None) -> int:
        return self.engine.kill_streams(namespace, model)

    def upstreams(
        self, namespace: str | None = None, model: str | None = None
    ) -> list[SimulatedUpstream]:
        return self.engine.upstreams(namespace, model)

    def close_watches(self) -> int:
        return self.api.close_watches()

    def recorded_writes(self) -> list[dict[str, Any]]:
        return [write.as_dict() for write in self.api.write_log.writes()]

    @property
    def open_watches(self) -> int:
        return self.api.open_watches

    @property
    def upstream_faults(self) -> UpstreamFaults:
        return self.engine.upstream_faults

    def dns_records(self) -> list[Record]:
        return self.dns.records()

    def set_dns_record(self, type_: str, name: str, values: list[str] | str, ttl: int = 60) -> None:
        self.dns.set_record(type_, name, values, ttl)

    def delete_dns_record(self, type_: str, name: str, value: str | None = None) -> int:
        return self.dns.delete_record(type_, name, value)

    def set_dns_fault(self, name: str, mode: str | None) -> None:
        self.dns.set_fault(name, mode)
