"""The product docs' check of an install works as written: through `kubectl port-forward`
`curl http://localhost:8080/api/v1/fleet` answers without the login, and nothing else does.

A port-forward reaches lcd from loopback inside its pod. With `lcd.auth.trustPortForward`
(the default) the chart sets LC_AUTH_TRUST_LOOPBACK and keeps the meshes' sidecars out of
lcd's pods, so that only a port-forward connects from there. lcd runs here as its
container does (the `lcd` console script with the rendered environment, listening on
0.0.0.0 as in the pod): from 127.0.0.1 it answers without credentials; from this
machine's other address (another pod, the ingress controller) it asks for the login,
whatever `X-Forwarded-For` claims, even from an address `lcd.trustedProxies` believes.
With the value false, loopback asks for the login too.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lc_embedded import EmbeddedNatsCluster
from lc_testing import wait_until
from lc_testing.addresses import other_address

from .chart_render import DOCS_INSTALL_FLAGS, NAMESPACE, Rendered, render_flags
from .rendered_programs import free_port, started

LCD = "liquidcompute-lcd"
FLEET = "/api/v1/fleet"
# What a port-forward's curl sends, and what a client of the Service inside the cluster sends.
LOCALHOST = "localhost:8080"
IN_CLUSTER = f"{LCD}.{NAMESPACE}.svc:8080"
WITHIN = 90.0  # seconds; the machine is shared
MESH_OPT_OUTS = {
    "sidecar.istio.io/inject": "false",
    "linkerd.io/inject": "disabled",
    "kuma.io/sidecar-injection": "disabled",
    "consul.hashicorp.com/connect-inject": "false",
    "openservicemesh.io/sidecar-injection": "disabled",
}
THE_DOCS_CURL = "  curl http://localhost:8080/api/v1/fleet | jq '.gpus | length'"


# ---- the render: the setting, the mesh opt-outs and NOTES.txt follow the value ----------


def pod_metadata(rendered: Rendered) -> dict[str, Any]:
    metadata: dict[str, Any] = rendered.get("Deployment", LCD)["spec"]["template"]["metadata"]
    return metadata


def test_by_default_lcd_trusts_a_port_forward_and_keeps_meshes_out() -> None:
    rendered = render_flags(DOCS_INSTALL_FLAGS)
    assert rendered.env(LCD)["LC_AUTH_TRUST_LOOPBACK"] == "true"
    metadata = pod_metadata(rendered)
    assert metadata["annotations"] == MESH_OPT_OUTS
    # Istio and Kuma now read their switch as a label.
    assert metadata["labels"]["sidecar.istio.io/inject"] == "false"
    assert metadata["labels"]["kuma.io/sidecar-injection"] == "disabled"
    # NOTES.txt prints the product docs' command as written.
    assert THE_DOCS_CURL in rendered.notes.splitlines()
    # Only lcd's pods: lc-proxy trusts no loopback and may be meshed.
    proxy = rendered.get("Deployment", "liquidcompute-lc-proxy")["spec"]["template"]["metadata"]
    assert "annotations" not in proxy or not set(proxy["annotations"]) & set(MESH_OPT_OUTS)


def test_without_it_lcd_may_be_meshed_and_the_notes_send_the_login() -> None:
    rendered = render_flags([*DOCS_INSTALL_FLAGS, "lcd.auth.trustPortForward=false"])
    assert rendered.env(LCD)["LC_AUTH_TRUST_LOOPBACK"] == "false"
    metadata = pod_metadata(rendered)
    assert not set(metadata.get("annotations", {})) & set(MESH_OPT_OUTS)
    assert not set(metadata["labels"]) & set(MESH_OPT_OUTS)
    assert THE_DOCS_CURL not in rendered.notes.splitlines()
    assert 'curl -u "$LC_ADMIN" http://localhost:8080/api/v1/fleet' in rendered.notes


# ---- lcd started from the rendered environment -----------------------------------------


@contextlib.asynccontextmanager
async def running_lcd(
    flags: list[str], nats: EmbeddedNatsCluster, database_url: str, logs: Path
) -> AsyncIterator[tuple[int, tuple[str, str]]]:
    """lcd from the chart's environment for `flags` (addresses pointed at this test's
    servers); its port and the rendered admin login, once it is ready."""
    rendered = render_flags(flags)
    assert rendered.env(LCD)["LC_BIND_HOST"] == "0.0.0.0"
    port = free_port()
    overrides = {
        "LC_NATS_URL": nats.url,
        "LC_DATABASE_URL": database_url.replace("postgresql+psycopg://", "postgresql://", 1),
        "LC_BIND_PORT": str(port),
    }
    env = rendered.env(LCD)
    admin = (env["LC_AUTH_USERNAME"], env["LC_AUTH_PASSWORD"])
    async with started(rendered, {LCD: overrides}, logs) as programs:
        lcd = programs[LCD]
        async with httpx.AsyncClient(timeout=10) as client:

            async def ready() -> bool:
                assert lcd.process.returncode is None, lcd.tail()
                with contextlib.suppress(httpx.TransportError):
                    answer = await client.get(f"http://127.0.0.1:{port}/api/readyz")
                    return answer.status_code == 200
                return False

            try:
                await wait_until(ready, timeout=WITHIN, interval=0.25, what="lcd ready")
                # The fleet feed has read LC_STATUS (503 until then): asked with the login.
                await wait_until(
                    lambda: _status(client, f"http://127.0.0.1:{port}{FLEET}", 200, auth=admin),
                    timeout=WITHIN,
                    interval=0.25,
                    what="lcd's fleet loaded",
                )
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{lcd.tail()}") from None
        yield port, admin


async def _status(client: httpx.AsyncClient, url: str, code: int, **kwargs: Any) -> bool:
    return (await client.get(url, **kwargs)).status_code == code


async def test_the_docs_curl_through_a_port_forward_answers_and_nothing_else_does(
    nats_cluster: EmbeddedNatsCluster, database_url: str, tmp_path: Path
) -> None:
    other = other_address()
    if other is None:
        pytest.skip("this machine has no address but loopback to reach lcd from another peer")
    # The ingress controller's network is believed for X-Forwarded-For (the login limit):
    # a header through it must still not make a request loopback.
    flags = [*DOCS_INSTALL_FLAGS, f"lcd.trustedProxies={other}/32"]
    async with (
        running_lcd(flags, nats_cluster, database_url, tmp_path) as (port, admin),
        httpx.AsyncClient(timeout=10) as client,
    ):
        port_forward = f"http://127.0.0.1:{port}{FLEET}"
        from_elsewhere = f"http://{other}:{port}{FLEET}"

        # The docs' `curl http://localhost:8080/api/v1/fleet` through a port-forward.
        answer = await client.get(port_forward, headers={"Host": LOCALHOST})
        assert answer.status_code == 200, answer.text
        assert isinstance(answer.json()["gpus"], list)
        # A header naming another client does not undo the socket's loopback.
        answer = await client.get(
            port_forward, headers={"Host": LOCALHOST, "X-Forwarded-For": "203.0.113.9"}
        )
        assert answer.status_code == 200, answer.text
        # The Host check still applies to it: a rebound page gets 421.
        answer = await client.get(port_forward, headers={"Host": "evil.example"})
        assert answer.status_code == 421, answer.text

        # Any other peer needs the login: a pod, and the ingress claiming loopback.
        answer = await client.get(from_elsewhere, headers={"Host": IN_CLUSTER})
        assert answer.status_code == 401, answer.text
        assert answer.json()["type"].endswith("/unauthorized")
        answer = await client.get(
            from_elsewhere, headers={"Host": "app.example.com", "X-Forwarded-For": "127.0.0.1"}
        )
        assert answer.status_code == 401, answer.text
        answer = await client.get(from_elsewhere, headers={"Host": IN_CLUSTER}, auth=admin)
        assert answer.status_code == 200, answer.text


async def test_with_the_value_false_a_port_forward_needs_the_login(
    nats_cluster: EmbeddedNatsCluster, database_url: str, tmp_path: Path
) -> None:
    flags = [*DOCS_INSTALL_FLAGS, "lcd.auth.trustPortForward=false"]
    async with (
        running_lcd(flags, nats_cluster, database_url, tmp_path) as (port, admin),
        httpx.AsyncClient(timeout=10) as client,
    ):
        port_forward = f"http://127.0.0.1:{port}{FLEET}"
        answer = await client.get(port_forward, headers={"Host": LOCALHOST})
        assert answer.status_code == 401, answer.text
        answer = await client.get(port_forward, headers={"Host": LOCALHOST}, auth=admin)
        assert answer.status_code == 200, answer.text
