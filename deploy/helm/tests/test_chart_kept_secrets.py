"""`helm upgrade` keeps the generated secrets, LC_SECRET_KEY first: the chart reads the
live Secret with Helm's `lookup` and renders its value again, so project secrets sealed
with the key still open after an upgrade. Rendered by Helm's own library against the
cluster simulator (`lookup` queries it), and installed there by server-side apply.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import helm_python as helm
import httpx

from lc_clustersim.sim import ClusterSim
from lc_contracts.sealing import SecretKey

from .chart_render import (
    CHART,
    DOCS_INSTALL_FLAGS,
    NAMESPACE,
    RELEASE,
    Rendered,
    render_flags,
    values_from_flags,
)

APPLY_PATCH = "application/apply-patch+yaml"
SECRET_KEY = ("liquidcompute-secret-key", "secretKey")
# Every value the chart generates on install and must keep: the platform key, lc-proxy's
# API keys, the bundled PostgreSQL's password and lcd's metrics token (a scraper holds it).
KEPT = (
    SECRET_KEY,
    ("liquidcompute-lc-proxy-keys", "apiKeys"),
    ("liquidcompute-postgres", "password"),
    ("liquidcompute-metrics-token", "token"),
)


async def render_on(cluster: ClusterSim, *, upgrade: bool) -> Rendered:
    """Render as `helm upgrade --install` does with the cluster at hand (`lookup` sees it).

    Helm's library blocks, and the simulator answers on this event loop: render in a thread.
    """

    def render() -> dict[str, str]:
        with helm.Config(kubeconfig_path=str(cluster.kubeconfig_path), namespace=NAMESPACE) as cfg:
            return cfg.render(
                helm.Chart.load(CHART),
                values_from_flags(DOCS_INSTALL_FLAGS),
                name=RELEASE,
                namespace=NAMESPACE,
                is_install=not upgrade,
                is_upgrade=upgrade,
            )

    return Rendered.from_manifests(await asyncio.to_thread(render))


async def install_secrets(cluster: ClusterSim, rendered: Rendered) -> None:
    """Apply the release's Secrets as Helm does (server-side apply; `stringData` stored
    as `data`)."""
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    async with httpx.AsyncClient(base_url=cluster.api_url, timeout=10) as api:
        made = await api.patch(
            f"/api/v1/namespaces/{NAMESPACE}",
            params={"fieldManager": "helm"},
            content=json.dumps(namespace),
            headers={"Content-Type": APPLY_PATCH},
        )
        assert made.status_code in (200, 201), made.text
        for secret in rendered.of_kind("Secret"):
            body: dict[str, Any] = {
                **{k: v for k, v in secret.items() if k != "stringData"},
                "data": {
                    key: base64.b64encode(value.encode()).decode()
                    for key, value in secret["stringData"].items()
                },
            }
            name = secret["metadata"]["name"]
            applied = await api.patch(
                f"/api/v1/namespaces/{NAMESPACE}/secrets/{name}",
                params={"fieldManager": "helm", "force": "true"},
                content=json.dumps(body),
                headers={"Content-Type": APPLY_PATCH},
            )
            assert applied.status_code in (200, 201), applied.text


def value(rendered: Rendered, secret: str, key: str) -> str:
    data: dict[str, str] = rendered.get("Secret", secret)["stringData"]
    return data[key]


async def test_an_upgrade_keeps_lc_secret_key_and_every_generated_secret(
    cluster: ClusterSim,
) -> None:
    installed = await render_on(cluster, upgrade=False)
    key = value(installed, *SECRET_KEY)
    platform_key = SecretKey.parse(key)  # a key lcd and the reconciler accept
    sealed = platform_key.seal("default", "hf-token", "hf_secret")
    await install_secrets(cluster, installed)

    upgraded = await render_on(cluster, upgrade=True)
    for secret, field in KEPT:
        assert value(upgraded, secret, field) == value(installed, secret, field), secret
    assert SecretKey.parse(value(upgraded, *SECRET_KEY)).open("default", "hf-token", sealed) == (
        "hf_secret"
    )
    # The key lives on past the release: uninstalling must not take it.
    annotations = upgraded.get("Secret", SECRET_KEY[0])["metadata"]["annotations"]
    assert annotations["helm.sh/resource-policy"] == "keep"


async def test_without_the_live_secret_each_render_makes_a_new_key(cluster: ClusterSim) -> None:
    # What `lookup` guards against: rendered without the cluster (as `helm template`
    # does), or before the install, the chart generates a key afresh every time.
    offline = [value(render_flags(DOCS_INSTALL_FLAGS), *SECRET_KEY) for _ in range(2)]
    assert offline[0] != offline[1]
    first, second = [value(await render_on(cluster, upgrade=False), *SECRET_KEY) for _ in range(2)]
    assert first != second
