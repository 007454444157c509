"""SIGKILL the reconciler while Services are being created, and start it again: every
Service gets its objects, and nothing that existed before the kill was deleted (its uid
is unchanged), because a restarted reconciler rebuilds its state from the log."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from lc_clustersim.sim import ClusterSim
from lc_embedded import EmbeddedNats, EmbeddedPostgres

from .lcd import Lcd
from .load import eventually

PROJECTS = 30
KILL_AFTER = 10


def start_reconciler(nats_url: str, cluster: ClusterSim, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LC_")},
        "LC_NATS_URL": nats_url,
        "LC_KUBECONFIG": str(cluster.kubeconfig_path),
        "LC_PLATFORM_DOMAIN": "example.com",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "lc_reconciler.main"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def service() -> dict[str, object]:
    return {
        "name": "web",
        "tier": "cpu",
        "kind": {"container": {"image": "nginx:1.27", "ports": [{"port": 80}]}},
    }


async def test_reconciler_killed_while_services_are_created_deletes_nothing(
    durable_nats: EmbeddedNats, own_postgres: EmbeddedPostgres, cluster: ClusterSim, scratch: Path
) -> None:
    lcd = Lcd(durable_nats.url, own_postgres.url("lcd"), scratch / "lcd.log").start()
    reconciler = start_reconciler(durable_nats.url, cluster, scratch / "reconciler.log")
    try:
        async with (
            httpx.AsyncClient(base_url=lcd.url, timeout=60) as api,
            httpx.AsyncClient(base_url=cluster.api_url, timeout=30) as kube,
        ):

            async def deployment_uid(slug: str) -> str | None:
                answer = await kube.get(f"/apis/apps/v1/namespaces/{slug}/deployments/web")
                return str(answer.json()["metadata"]["uid"]) if answer.status_code == 200 else None

            async def create(i: int) -> None:
                slug = f"p{i}"
                made = await api.post("/api/v1/projects", json={"name": slug, "slug": slug})
                assert made.status_code in (201, 202), made.text
                applied = await api.post(f"/api/v1/projects/{slug}/services", json=service())
                assert applied.status_code in (200, 201, 202), applied.text

            await asyncio.gather(*(create(i) for i in range(KILL_AFTER)))

            async def first_deployed() -> bool:
                return await deployment_uid("p0") is not None

            await eventually(first_deployed, "the reconciler to apply the first Service")
            before = {f"p{i}": await deployment_uid(f"p{i}") for i in range(KILL_AFTER)}
            await asyncio.gather(*(create(i) for i in range(KILL_AFTER, KILL_AFTER + 5)))
            reconciler.send_signal(signal.SIGKILL)
            reconciler.wait(10)
            await asyncio.gather(*(create(i) for i in range(KILL_AFTER + 5, PROJECTS)))
            reconciler = start_reconciler(durable_nats.url, cluster, scratch / "reconciler.log")

            async def all_deployed() -> bool:
                uids = await asyncio.gather(*(deployment_uid(f"p{i}") for i in range(PROJECTS)))
                return all(uids)

            await eventually(all_deployed, "every Service to be applied after the restart")
            for slug, uid in before.items():
                if uid is not None:
                    assert await deployment_uid(slug) == uid, f"{slug}'s Deployment was replaced"
    finally:
        if reconciler.poll() is None:
            reconciler.terminate()
            reconciler.wait(15)
        lcd.stop()
