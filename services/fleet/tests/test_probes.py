"""The aggregator's probes over HTTP: alive at once, ready only once LC_STATUS matches the
cluster as first listed, metrics in the Prometheus text format."""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from lc_embedded import free_port
from lc_fleet.main import run
from lc_fleet.settings import FleetSettings
from lc_runtime.probes import Probes
from lc_testing import wait_until


async def test_ready_once_the_fleet_has_converged(fleet_settings: FleetSettings) -> None:
    port = free_port()
    probes = Probes("fleet")
    settings = fleet_settings.model_copy(update={"probe_port": port, "probe_host": "127.0.0.1"})
    assert probes.report()["status"] == "not ready", "not ready before it has even started"
    task = asyncio.create_task(run(settings, probes))
    answers: list[int] = []
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:

            async def ready() -> bool:
                try:
                    answer = await http.get("/readyz")
                except httpx.TransportError:
                    return False
                answers.append(answer.status_code)
                if answer.status_code == 503:
                    assert answer.json()["checks"]["cluster"].startswith("listing GPUs")
                return answer.status_code == 200

            await wait_until(ready, timeout=20, interval=0.005, what="/readyz to answer 200")
            assert (await http.get("/healthz")).json() == {"status": "ok", "worker": "fleet"}
            metrics = await http.get("/metrics")
            assert metrics.headers["content-type"].startswith("text/plain")
            assert 'lc_worker_ready{worker="fleet"} 1.0' in metrics.text
            assert (await http.get("/nope")).status_code == 404
            assert (await http.post("/readyz")).status_code == 405
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert set(answers) <= {200, 503}
