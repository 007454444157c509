"""The simulated GreenThread engine: GPUs, Model scheduling and model servers.

Who calls it: `lc_clustersim.sim.ClusterSim` starts it; the admin API and the ClusterSim
fault-knob methods call `fail_model`, `set_gpu_health`, `add_gpus`, `remove_gpu`,
`set_upstream_faults` and `kill_streams`.

What it owns:
- the GPU objects (cluster-scoped `GPU` custom resources) and their status: health,
  `memoryAvailableMiB`, `utilization` and `allocations`, recomputed from its own
  allocation table whenever it changes;
- the lifecycle of every `Model`: `Pending` when seen, scheduled by memory onto healthy
  GPUs (all replicas on GPUs of one node each, or none), `Loading` while "weights load",
  then `Ready` with one `SimulatedUpstream` per replica on a loopback port; `Failed` with
  a reason when nothing fits, when a load is failed through the fault knob, or when a GPU
  it needs becomes unhealthy and no other fits;
- a Model whose spec changes (generation) or whose GPUs go away is scheduled again.

Memory a Model needs: the `engine.greenthread.ai/memory-mib` annotation if set, else an
estimate from the parameter count in its name (`...-8b` → 8e9 * bytes per dtype * 1.2),
else 16 GiB. It is split evenly over `spec.gpus` devices per replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from lc_clustersim.fleet import GpuDevice, gpu_object
from lc_clustersim.kubeapi.errors import ApiError
from lc_clustersim.kubeapi.resources import ResourceType
from lc_clustersim.kubeapi.store import ObjectStore
from lc_clustersim.kubeapi.watch_log import DELETED, WatchEvent
from lc_clustersim.upstream import ALL_ENDPOINTS, SimulatedUpstream, UpstreamFaults
from lc_contracts.engine import (
    ENGINE_GROUP,
    ENGINE_VERSION,
    GPU_PLURAL,
    MEMORY_ANNOTATION,
    MODEL_KIND,
    MODEL_PLURAL,
    GpuHealth,
    GpuMode,
    ModelPhase,
)

log = logging.getLogger(__name__)

MANAGER: Final = "greenthread-engine"
MODEL_SERVICE_LABEL: Final = f"{ENGINE_GROUP}/model"
DEFAULT_MODEL_MEMORY_MIB: Final = 16 * 1024
_BYTES_PER_PARAM: Final = {
    "float32": 4.0,
    "fp32": 4.0,
    "float16": 2.0,
    "fp16": 2.0,
    "bfloat16": 2.0,
    "bf16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4": 0.5,
    "awq": 0.5,
    "gptq": 0.5,
}
_PARAMS = re.compile(r"(\d+(?:\.\d+)?)\s*[bB](?![a-zA-Z])")


def model_memory_mib(model: dict[str, Any]) -> int:
    """Memory one replica of a Model needs, in MiB (see the module docstring)."""
    annotations = (model.get("metadata") or {}).get("annotations") or {}
    explicit = annotations.get(MEMORY_ANNOTATION)
    if explicit is not None:
        try:
            return max(1, int(explicit))
        except ValueError:
            pass
    spec = model.get("spec") or {}
    match = _PARAMS.search(str(spec.get("modelName", "")))
    if not match:
        return DEFAULT_MODEL_MEMORY_MIB
    bytes_per = _BYTES_PER_PARAM.get(str(spec.get("dtype", "")).lower(), 2.0)
    return int(float(match.group(1)) * 1e9 * bytes_per * 1.2 / (1024 * 1024))


@dataclass(frozen=True)
class EngineTimings:
    """How long the simulated engine takes; short in tests, seconds under `lc up`."""

    pending_s: float = 0.5
    """Time a Model stays Pending before it is scheduled."""
    loading_s: float = 2.0
    """Time a scheduled Model stays Loading before its replicas serve."""


@dataclass
class _Allocation:
    model: str  # namespace/name
    replica: str
    memory_mib: int


@dataclass
class _Gpu:
    device: GpuDevice
    health: GpuHealth = GpuHealth.HEALTHY
    mode: GpuMode = GpuMode.SHARED
    allocations: list[_Allocation] = field(default_factory=list)

    @property
    def free_mib(self) -> int:
        return self.device.memory_mib - sum(a.memory_mib for a in self.allocations)

    def can_host(self, memory_mib: int) -> bool:
        if self.health == GpuHealth.UNHEALTHY:
            return False
        if self.mode == GpuMode.EXCLUSIVE and self.allocations:
            return False
        return self.free_mib >= memory_mib


@dataclass
class _Replica:
    name: str
    gpus: list[str]
    upstream: SimulatedUpstream | None = None


@dataclass
class _ModelRun:
    key: tuple[str, str]
    generation: int
    task: asyncio.Task[None] | None = None
    replicas: list[_Replica] = field(default_factory=list)
    failed_reason: str | None = None


class SimulatedEngine:
    """Watches Models in the store and runs them on the simulated fleet."""

    def __init__(
        self,
        store: ObjectStore,
        devices: Iterable[GpuDevice],
        *,
        timings: EngineTimings | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.store = store
        self.timings = timings or EngineTimings()
        self.host = host
        self.upstream_faults = UpstreamFaults()
        self._gpus: dict[str, _Gpu] = {d.name: _Gpu(d) for d in devices}
        self._runs: dict[tuple[str, str], _ModelRun] = {}
        self._queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._unsubscribe: Any = None

    # -- types -------------------------------------------------------------------

    @property
    def _model_type(self) -> ResourceType:
        return self.store.type_for((ENGINE_GROUP, MODEL_PLURAL))

    @property
    def _gpu_type(self) -> ResourceType:
        return self.store.type_for((ENGINE_GROUP, GPU_PLURAL))

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        for gpu in self._gpus.values():
            self._publish_new_gpu(gpu)
        self._unsubscribe = self.store.subscribe(self._on_event)
        for stored in self.store.list_objects(self._model_type, None):
            self._queue.put_nowait(
                WatchEvent(stored.resource_version, "ADDED", self._model_type.key, stored, None)
            )
        self._worker = asyncio.create_task(self._work(), name="clustersim-engine")

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        for run in list(self._runs.values()):
            await self._halt(run)
        self._runs.clear()

    def _on_event(self, event: WatchEvent) -> None:
        if event.resource == (ENGINE_GROUP, MODEL_PLURAL):
            self._queue.put_nowait(event)

    async def _work(self) -> None:
        while True:
            event = await self._queue.get()
            if event is None:
                return
            try:
                await self._handle(event)
            except Exception:
                log.exception("clustersim engine failed on %s", event.obj.name)

    async def _handle(self, event: WatchEvent) -> None:
        key = (event.obj.namespace, event.obj.name)
        run = self._runs.get(key)
        if event.type == DELETED:
            if run is not None:
                await self._halt(run)
                self._runs.pop(key, None)
                self._publish_gpus()
            return
        self._ensure_model_service(event.obj.namespace, event.obj.name, event.obj.metadata)
        generation = int(event.obj.metadata.get("generation", 1))
        if run is not None and run.generation == generation:
            return
        if run is not None:
            await self._halt(run)
        run = _ModelRun(key=key, generation=generation)
        self._runs[key] = run
        run.task = asyncio.create_task(self._run(run), name=f"clustersim-model-{key[0]}-{key[1]}")

    def _ensure_model_service(self, namespace: str | None, name: str, meta: dict[str, Any]) -> None:
        """The Service the engine puts in front of a Model's replicas (what Ingresses target).

        Owned by the Model, so the store's garbage collector removes it with the Model.
        """
        service_type = self.store.type_for(("", "services"))
        body = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": name,
                "labels": {MODEL_SERVICE_LABEL: name},
                "ownerReferences": [
                    {
                        "apiVersion": f"{ENGINE_GROUP}/{ENGINE_VERSION}",
                        "kind": MODEL_KIND,
                        "name": name,
                        "uid": meta.get("uid", ""),
                        "controller": True,
                    }
                ],
            },
            "spec": {
                "selector": {MODEL_SERVICE_LABEL: name},
                "ports": [{"name": "http", "port": 80, "targetPort": 8000, "protocol": "TCP"}],
            },
        }
        with contextlib.suppress(ApiError):  # already there, or the namespace is going away
            self.store.create(service_type, namespace, body, manager=MANAGER)

    # -- one Model ---------------------------------------------------------------

    def _status(self, run: _ModelRun, phase: ModelPhase, message: str) -> None:
        namespace, name = run.key
        ready = [r for r in run.replicas if r.upstream is not None]
        replicas = [
            {
                "name": r.name,
                "url": r.upstream.url if r.upstream else "",
                "gpu": ",".join(r.gpus),
            }
            for r in ready
        ]
        status: dict[str, Any] = {
            "phase": phase.value,
            "message": message,
            "endpoint": replicas[0]["url"] if replicas else "",
            "replicas": replicas,
            "readyReplicas": len(ready),
            "observedGeneration": run.generation,
        }
        with contextlib.suppress(ApiError):  # deleted meanwhile
            self.store.write_status(self._model_type, namespace, name, status, manager=MANAGER)

    async def _run(self, run: _ModelRun) -> None:
        namespace, name = run.key
        try:
            model = self.store.get(self._model_type, namespace, name)
        except ApiError:
            return
        spec = model.get("spec") or {}
        self._status(run, ModelPhase.PENDING, "waiting to be scheduled")
        await asyncio.sleep(self.timings.pending_s)
        replicas = max(0, int(spec.get("replicas", 1) or 0))
        gpus_per_replica = max(1, int(spec.get("gpus", 1) or 1))
        memory = model_memory_mib(model)
        per_gpu = -(-memory // gpus_per_replica)
        placement = self._place(replicas, gpus_per_replica, per_gpu)
        if placement is None:
            largest = max(
                (g.free_mib for g in self._gpus.values() if g.health != GpuHealth.UNHEALTHY),
                default=0,
            )
            run.failed_reason = (
                f"Insufficient GPU memory: {replicas} replica(s) x {gpus_per_replica} GPU(s) "
                f"x {per_gpu} MiB needed; the largest free healthy GPU has {largest} MiB"
            )
            self._status(run, ModelPhase.FAILED, run.failed_reason)
            return
        model_ref = f"{namespace}/{name}"
        for index, gpu_names in enumerate(placement):
            replica = _Replica(name=f"{name}-{index}", gpus=gpu_names)
            run.replicas.append(replica)
            for gpu_name in gpu_names:
                self._gpus[gpu_name].allocations.append(
                    _Allocation(model_ref, replica.name, per_gpu)
                )
        self._publish_gpus()
        self._status(
            run, ModelPhase.LOADING, f"loading weights onto {sum(len(p) for p in placement)} GPU(s)"
        )
        await asyncio.sleep(self.timings.loading_s)
        endpoints = [e for e in spec.get("endpoints") or ALL_ENDPOINTS if e in ALL_ENDPOINTS]
        model_name = str(spec.get("modelName") or name)
        for replica in run.replicas:
            upstream = SimulatedUpstream(
                models=[model_name],
                endpoints=endpoints or ALL_ENDPOINTS,
                faults=self.upstream_faults,
                name=replica.name,
            )
            await upstream.start(self.host, 0)
            replica.upstream = upstream
        self._status(run, ModelPhase.READY, f"{len(run.replicas)} replica(s) serving")

    def _place(self, replicas: int, per_replica: int, memory_mib: int) -> list[list[str]] | None:
        """GPU names per replica (all on one node each), or None when they do not fit."""
        planned: dict[str, int] = {}
        placement: list[list[str]] = []
        by_node: dict[str, list[_Gpu]] = {}
        for gpu in self._gpus.values():
            by_node.setdefault(gpu.device.node, []).append(gpu)
        for _ in range(replicas):
            chosen: list[str] | None = None
            # Best fit: the node whose fitting GPUs leave the least memory free.
            best_waste: int | None = None
            for gpus in by_node.values():
                fitting = sorted(
                    (
                        g
                        for g in gpus
                        if g.can_host(memory_mib + planned.get(g.device.name, 0))
                        and not (g.mode == GpuMode.EXCLUSIVE and g.device.name in planned)
                    ),
                    key=lambda g: g.free_mib - planned.get(g.device.name, 0),
                )
                if len(fitting) < per_replica:
                    continue
                pick = fitting[:per_replica]
                waste = sum(g.free_mib - planned.get(g.device.name, 0) - memory_mib for g in pick)
                if best_waste is None or waste < best_waste:
                    best_waste, chosen = waste, [g.device.name for g in pick]
            if chosen is None:
                return None
            for gpu_name in chosen:
                planned[gpu_name] = planned.get(gpu_name, 0) + memory_mib
            placement.append(chosen)
        return placement

    async def _halt(self, run: _ModelRun) -> None:
        if run.task is not None and run.task is not asyncio.current_task():
            run.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run.task
        model_ref = f"{run.key[0]}/{run.key[1]}"
        for gpu in self._gpus.values():
            gpu.allocations = [a for a in gpu.allocations if a.model != model_ref]
        for replica in run.replicas:
            if replica.upstream is not None:
                await replica.upstream.stop()
        run.replicas.clear()

    # -- GPUs --------------------------------------------------------------------

    def _gpu_status(self, gpu: _Gpu) -> dict[str, Any]:
        used = gpu.device.memory_mib - gpu.free_mib
        return {
            "mode": gpu.mode.value,
            "health": gpu.health.value,
            "memoryAvailableMiB": gpu.free_mib,
            "utilization": min(100, round(100 * used / gpu.device.memory_mib))
            if gpu.device.memory_mib
            else 0,
            "allocations": [
                {"model": a.model, "replica": a.replica, "memoryMiB": a.memory_mib}
                for a in gpu.allocations
            ],
        }

    def _publish_new_gpu(self, gpu: _Gpu) -> None:
        body = gpu_object(gpu.device, mode=gpu.mode)
        try:
            self.store.create(self._gpu_type, None, body, manager=MANAGER)
        except ApiError as exc:
            if exc.code != 409:
                raise
        self.store.write_status(
            self._gpu_type, None, gpu.device.name, self._gpu_status(gpu), manager=MANAGER
        )

    def _publish_gpus(self) -> None:
        for gpu in self._gpus.values():
            with contextlib.suppress(ApiError):
                self.store.write_status(
                    self._gpu_type, None, gpu.device.name, self._gpu_status(gpu), manager=MANAGER
                )

    # -- fault knobs -------------------------------------------------------------

    @property
    def gpu_names(self) -> list[str]:
        return sorted(self._gpus)

    def _affected_runs(self, gpu_name: str) -> list[_ModelRun]:
        return [r for r in self._runs.values() if any(gpu_name in rep.gpus for rep in r.replicas)]

    async def _reschedule(self, runs: list[_ModelRun]) -> None:
        for run in runs:
            await self._halt(run)
            run.failed_reason = None
            run.task = asyncio.create_task(self._run(run))

    async def set_gpu_health(self, gpu_name: str, health: GpuHealth | str) -> None:
        """Mark a GPU; an Unhealthy GPU loses its replicas, which are scheduled again."""
        gpu = self._gpus.get(gpu_name)
        if gpu is None:
            raise KeyError(f"no GPU named {gpu_name!r}; known: {', '.join(self.gpu_names)}")
        gpu.health = GpuHealth(health)
        self._publish_gpus()
        if gpu.health == GpuHealth.UNHEALTHY:
            await self._reschedule(self._affected_runs(gpu_name))

    async def add_gpus(self, devices: Iterable[GpuDevice]) -> list[str]:
        added = []
        for device in devices:
            if device.name in self._gpus:
                raise ValueError(f"GPU {device.name!r} already exists")
            gpu = _Gpu(device)
            self._gpus[device.name] = gpu
            self._publish_new_gpu(gpu)
            added.append(device.name)
        # Models that failed for lack of memory get another chance on the bigger fleet.
        starved = [
            r for r in self._runs.values() if (r.failed_reason or "").startswith("Insufficient")
        ]
        await self._reschedule(starved)
        return added

    def next_node_number(self) -> int:
        numbers = [
            int(m.group(1))
            for g in self._gpus.values()
            if (m := re.search(r"(\d+)$", g.device.node))
        ]
        return max(numbers, default=-1) + 1

    async def remove_gpu(self, gpu_name: str) -> None:
        gpu = self._gpus.pop(gpu_name, None)
        if gpu is None:
            raise KeyError(f"no GPU named {gpu_name!r}")
        with contextlib.suppress(ApiError):
            self.store.delete(self._gpu_type, None, gpu_name)
        await self._reschedule(self._affected_runs(gpu_name))

    async def fail_model(
        self, namespace: str, name: str, reason: str = "simulated load failure"
    ) -> None:
        """Fail a Model's load now (or its running replicas); it stays Failed until its spec changes."""
        run = self._runs.get((namespace, name))
        if run is None:
            raise KeyError(f"no Model {namespace}/{name} is known to the engine")
        await self._halt(run)
        run.failed_reason = reason
        self._publish_gpus()
        self._status(run, ModelPhase.FAILED, reason)

    def upstreams(
        self, namespace: str | None = None, name: str | None = None
    ) -> list[SimulatedUpstream]:
        found = []
        for (ns, model_name), run in self._runs.items():
            if namespace is not None and ns != namespace:
                continue
            if name is not None and model_name != name:
                continue
            found += [r.upstream for r in run.replicas if r.upstream is not None]
        return found

    def set_upstream_faults(
        self,
        *,
        latency_s: float | None = None,
        error_rate: float | None = None,
        token_delay_s: float | None = None,
        kill_after_chunks: int | None = None,
    ) -> None:
        """Faults shared by every simulated model server (current and future)."""
        if latency_s is not None:
            self.upstream_faults.latency_s = latency_s
        if error_rate is not None:
            if not 0.0 <= error_rate <= 1.0:
                raise ValueError("error rate must be between 0 and 1")
            self.upstream_faults.error_rate = error_rate
        if token_delay_s is not None:
            self.upstream_faults.token_delay_s = token_delay_s
        self.upstream_faults.kill_after_chunks = kill_after_chunks

    def kill_streams(self, namespace: str | None = None, name: str | None = None) -> int:
        """Cut every open stream of the matching replicas; returns how many servers were hit."""
        servers = self.upstreams(namespace, name)
        for upstream in servers:
            upstream.kill_open_streams()
        return len(servers)
