"""Leader election on a Kubernetes Lease in the simulator: one replica works at a time,
a clean stop hands over at once, and a leader cut off from the API server stops working
before a standby may take the lease (fencing)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from kubernetes_asyncio import client

from lc_clustersim.sim import ClusterSim
from lc_runtime.kube_lease import KubeLeaseStore, open_api_client
from lc_runtime.leadership import LeaderElector, LeaseRecord, LeaseTiming
from lc_testing import wait_until

FAST = LeaseTiming(lease_duration_s=1.5, renew_deadline_s=1.0, retry_period_s=0.1)


@pytest.fixture
async def api(cluster: ClusterSim) -> AsyncIterator[client.ApiClient]:
    api = await open_api_client(str(cluster.kubeconfig_path))
    try:
        yield api
    finally:
        await api.close()


class Partitionable:
    """A real Lease store whose calls can be cut, as a network partition would."""

    def __init__(self, store: KubeLeaseStore) -> None:
        self._store = store
        self.cut = False

    def _check(self) -> None:
        if self.cut:
            raise ConnectionError("partitioned from the API server")

    async def get(self) -> LeaseRecord | None:
        self._check()
        return await self._store.get()

    async def create(self, record: LeaseRecord) -> LeaseRecord:
        self._check()
        return await self._store.create(record)

    async def replace(self, record: LeaseRecord) -> LeaseRecord:
        self._check()
        return await self._store.replace(record)


@dataclass
class Timeline:
    """When each replica worked: (name, start, end) by the monotonic clock."""

    spans: list[tuple[str, float, float]] = field(default_factory=list)
    working: set[str] = field(default_factory=set)

    def work(self, name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            start = time.monotonic()
            self.working.add(name)
            try:
                await asyncio.Event().wait()
            finally:
                self.working.discard(name)
                self.spans.append((name, start, time.monotonic()))

        return run

    def overlaps(self) -> list[tuple[str, str]]:
        return [
            (a, b)
            for a, a0, a1 in self.spans
            for b, b0, b1 in self.spans
            if a < b and a0 < b1 and b0 < a1
        ]


def elector(api: client.ApiClient, name: str, store: object | None = None) -> LeaderElector:
    return LeaderElector(
        store or KubeLeaseStore(api, "default", "lc-test"),  # type: ignore[arg-type]
        identity=name,
        lease="lc-test",
        timing=FAST,
    )


async def test_one_replica_works_at_a_time_and_a_clean_stop_hands_over_at_once(
    api: client.ApiClient,
) -> None:
    timeline = Timeline()
    a, b = elector(api, "a"), elector(api, "b")
    run_a = asyncio.create_task(a.run(timeline.work("a")))
    await wait_until(lambda: timeline.working == {"a"}, timeout=5, what="a leading")
    run_b = asyncio.create_task(b.run(timeline.work("b")))
    await wait_until(lambda: b.state.holder == "a", timeout=5, what="b seeing a's lease")
    assert not b.state.leader
    assert a.state.as_dict() == {
        "lease": "lc-test",
        "identity": "a",
        "leader": True,
        "holder": "a",
        "term": 0,
        "takeovers": 1,
    }

    stopped = time.monotonic()
    run_a.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await run_a
    await wait_until(lambda: timeline.working == {"b"}, timeout=5, what="b leading")
    # Released, not waited out: well under the lease duration.
    assert time.monotonic() - stopped < FAST.lease_duration_s
    assert b.state.term == 1
    assert b.state.takeovers == 1
    run_b.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await run_b
    assert timeline.overlaps() == []


async def test_a_leader_cut_off_stops_working_before_a_standby_may_take_over(
    api: client.ApiClient,
) -> None:
    timeline = Timeline()
    cut_off = Partitionable(KubeLeaseStore(api, "default", "lc-test"))
    a, b = elector(api, "a", cut_off), elector(api, "b")
    run_a = asyncio.create_task(a.run(timeline.work("a")))
    await wait_until(lambda: timeline.working == {"a"}, timeout=5, what="a leading")
    run_b = asyncio.create_task(b.run(timeline.work("b")))
    await wait_until(lambda: b.state.holder == "a", timeout=5, what="b seeing a's lease")

    cut_off.cut = True
    partitioned = time.monotonic()
    await wait_until(lambda: timeline.working == {"b"}, timeout=10, what="b taking over")
    (a_span,) = [span for span in timeline.spans if span[0] == "a"]
    assert a_span[2] - partitioned <= FAST.renew_deadline_s + 0.5
    assert not a.state.leader
    assert timeline.overlaps() == []  # a stopped before b started
    assert b.state.term == 1

    # Healed, the old leader stands by behind the new one.
    cut_off.cut = False
    await wait_until(lambda: a.state.holder == "b", timeout=5, what="a seeing b's lease")
    assert timeline.working == {"b"}
    for task in (run_a, run_b):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert timeline.overlaps() == []
