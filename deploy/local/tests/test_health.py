"""`lc up`'s /healthz report: which workers are not ready yet, and how far behind those
still folding the event log are."""

from __future__ import annotations

from lc_local.components import WorkerPool, worker_probes
from lc_local.stack import _health
from lc_local.supervision import ServerSupervisor


async def test_healthz_names_the_workers_still_catching_up_and_how_far_behind() -> None:
    probes = worker_probes()
    check = _health(WorkerPool(), ServerSupervisor({}), probes)

    report = await check()
    assert report["status"] == "starting", "workers that have not started are not ready"
    assert report["ready"] == {name: "starting" for name in probes}

    fold = probes["reconciler"].track_fold()
    fold.target, fold.position = 1_000_000, 400_000
    cluster_listed = False
    probes["reconciler"].require("cluster", lambda: None if cluster_listed else "listing")
    probes["fleet"].require("cluster", lambda: None)
    verifier = probes["domain-verifier"].track_fold()
    verifier.caught_up = True

    report = await check()
    assert report["status"] == "starting"
    assert report["catchingUp"] == {
        "reconciler": {"behind": 600_000, "position": 400_000, "target": 1_000_000}
    }
    assert report["ready"]["fleet"] == report["ready"]["domain-verifier"] == "ready"
    assert report["ready"]["reconciler"].startswith("catching up: 600000 sequences behind")

    fold.caught_up = True
    cluster_listed = True
    report = await check()
    assert report["status"] == "ok"
    assert report["catchingUp"] == {}
    assert set(report["ready"].values()) == {"ready"}
