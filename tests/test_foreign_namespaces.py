"""A namespace someone else made (`kubectl create namespace ingress-nginx`) cannot become
a project's: once the reconciler has seen it, lcd refuses that slug (422 naming the
namespace and why); once it is deleted from the cluster, the slug is free again and the
project gets a namespace of the platform's own. Real NATS, PostgreSQL, the simulator,
kubectl, the reconciler and lcd."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import nats
import pytest

from lc_api.runtime.lcd import Runtime
from lc_api.server import create_app
from lc_api.settings import ApiSettings
from lc_clustersim.sim import ClusterSim
from lc_contracts.engine import ANNOTATION_CREATED_BY
from lc_reconciler.kube.client import KubeClient
from lc_reconciler.runtime import ReconcilerRuntime
from lc_reconciler.settings import ReconcilerSettings
from lc_testing import wait_until

pytestmark = pytest.mark.skipif(
    subprocess.run(["which", "kubectl"], capture_output=True).returncode != 0,
    reason="needs kubectl",
)


async def kubectl(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        ["kubectl", "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


@contextlib.asynccontextmanager
async def reconciler(nats_url: str, kubeconfig: Path) -> AsyncIterator[ReconcilerRuntime]:
    settings = ReconcilerSettings(
        nats_url=nats_url, kubeconfig=str(kubeconfig), platform_domain="apps.test"
    )
    client = await nats.connect(nats_url)
    kube = await KubeClient.connect(settings.kubeconfig)
    runtime = ReconcilerRuntime(settings, client.jetstream(), kube)
    task = asyncio.create_task(runtime.run())
    try:
        await wait_until(lambda: runtime.ready.is_set() or task.done(), timeout=30)
        if task.done():
            task.result()
        yield runtime
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await kube.close()
        await client.close()


async def test_lcd_refuses_a_slug_whose_namespace_someone_else_made(
    nats_url: str, database_url: str, cluster: ClusterSim
) -> None:
    kubeconfig = cluster.kubeconfig_path
    made = await kubectl(kubeconfig, "create", "namespace", "ingress-nginx")
    assert made.returncode == 0, made.stderr
    app = create_app(
        ApiSettings(
            nats_url=nats_url,
            database_url=database_url,
            platform_domain="apps.test",
            ingress_cname_target="ingress.apps.test",
        )
    )
    async with reconciler(nats_url, kubeconfig), app.router.lifespan_context(app):
        lcd: Runtime = app.state.runtime
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            await wait_until(
                lambda: lcd.foreign_namespaces.foreign_namespace_of("ingress-nginx"),
                timeout=30,
                what="lcd to hear of ingress-nginx",
            )
            refused = await client.post(
                "/api/v1/projects", json={"name": "Ingress", "slug": "ingress-nginx"}
            )
            assert refused.status_code == 422, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert "'ingress-nginx'" in refused.json()["detail"]
            assert "not created by LiquidCompute" in refused.json()["detail"]

            gone = await kubectl(kubeconfig, "delete", "namespace", "ingress-nginx")
            assert gone.returncode == 0, gone.stderr
            await wait_until(
                lambda: lcd.foreign_namespaces.foreign_namespace_of("ingress-nginx") is None,
                timeout=30,
                what="lcd to hear ingress-nginx is gone",
            )
            created = await client.post(
                "/api/v1/projects", json={"name": "Ingress", "slug": "ingress-nginx"}
            )
            assert created.status_code in (201, 202), created.text

            async def ours() -> bool:
                found = await kubectl(kubeconfig, "get", "namespace", "ingress-nginx", "-o", "json")
                if found.returncode != 0:
                    return False
                annotations = json.loads(found.stdout)["metadata"].get("annotations") or {}
                return annotations.get(ANNOTATION_CREATED_BY) == "liquidcompute"

            await wait_until(ours, timeout=30, what="the platform's own namespace ingress-nginx")
            # Its own namespace never counts against a project.
            assert lcd.foreign_namespaces.foreign_namespace_of("ingress-nginx") is None
