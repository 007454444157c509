"""The environment the chart gives each program starts it, and every value it sets is read.

lcd, lc-proxy and the three workers run as the console scripts their images run, with
exactly the rendered environment (secrets read from the rendered Secrets) except the
addresses, which point at this test's servers: `LC_NATS_URL` at a three-node JetStream
cluster (the chart's `LC_STREAM_REPLICAS=3` needs one),
`LC_DATABASE_URL` at a fresh database, the two listening ports at free ones, and, for
the two programs that call Kubernetes (in a pod, through their service account),
`LC_KUBECONFIG` at the cluster simulator; the domain verifier asks the simulator's DNS
zone. The three elected workers run with leader election on, as in the chart: each takes
its Lease from the simulator (in the chart's namespace, under its pod's name), serves its
probes on a free port instead of the chart's one (they share this host), and is ready. Then the product docs' flow through the started programs shows each one ready and
using the settings the chart gave it.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from lc_api.settings import ApiSettings
from lc_clustersim.sim import ClusterSim
from lc_contracts.hostnames import platform_hostname
from lc_domain_verifier.settings import VerifierSettings
from lc_embedded import EmbeddedNatsCluster
from lc_fleet.settings import FleetSettings
from lc_proxy.settings import ProxySettings
from lc_reconciler.domain.compiler import secret_object_name
from lc_reconciler.settings import ReconcilerSettings
from lc_testing import wait_until
from lc_testing.product_docs import LLAMA
from lc_webhooks.settings import WebhookSettings

from .chart_render import DOCS_INSTALL_FLAGS, NAMESPACE, Rendered, render_flags
from .rendered_programs import free_port, started

SETTINGS: dict[str, type[BaseSettings]] = {
    "liquidcompute-lcd": ApiSettings,
    "liquidcompute-lc-proxy": ProxySettings,
    "liquidcompute-reconciler": ReconcilerSettings,
    "liquidcompute-fleet": FleetSettings,
    "liquidcompute-domain-verifier": VerifierSettings,
    "liquidcompute-webhooks": WebhookSettings,
}
PROJECT = {"name": "Helm", "slug": "helm-check"}
SECRET = {"name": "hf-token", "value": "hf_chart_sealed_value"}
CONSOLE_HOST = "app.example.com"  # console.host of the docs' flags
WITHIN = 90.0  # seconds; the machine is shared
# The elected workers and the Lease each one's program names.
ELECTED = {
    "liquidcompute-reconciler": "lc-reconciler",
    "liquidcompute-fleet": "lc-fleet",
    "liquidcompute-domain-verifier": "lc-domain-verifier",
}
LEASES = "/apis/coordination.k8s.io/v1/namespaces"


def read_names(settings: type[BaseSettings]) -> set[str]:
    """The environment variables a settings class reads (LC_ prefix, or a field's aliases)."""
    names = set()
    for field, info in settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {str(c).upper() for c in alias.choices if str(c).upper().startswith("LC_")}
        else:
            names.add(f"LC_{field.upper()}")
    return names


def rendered_settings(rendered: Rendered, workload: str) -> set[str]:
    return {name for name in rendered.env(workload) if name.startswith("LC_")}


@pytest.mark.parametrize(
    "flags",
    [
        DOCS_INSTALL_FLAGS,
        (
            *DOCS_INSTALL_FLAGS,
            "lcProxy.allowAnonymous=true",
            "postgres.bundled.enabled=false",
            "postgres.dsn=postgresql://db/lc",
            "nats.bundled.enabled=false",
            "nats.url=nats://n:4222",
        ),
    ],
    ids=["docs", "external-servers"],
)
def test_every_rendered_setting_is_read_by_its_program(flags: tuple[str, ...]) -> None:
    rendered = render_flags(flags)
    assert {d["metadata"]["name"] for d in rendered.of_kind("Deployment")} >= set(SETTINGS)
    for workload, settings in SETTINGS.items():
        unread = rendered_settings(rendered, workload) - read_names(settings)
        assert not unread, f"{workload} is given settings it never reads: {sorted(unread)}"


def test_an_unread_setting_would_be_caught() -> None:
    assert "LC_STORAGE_CLASS" in read_names(ReconcilerSettings)
    assert "LC_STORAGE_CLASS" not in read_names(ApiSettings)
    assert "LC_FLEET_WATCH_TIMEOUT_S" in read_names(FleetSettings)


async def test_each_program_starts_from_the_rendered_environment(
    nats_cluster: EmbeddedNatsCluster, database_url: str, cluster: ClusterSim, tmp_path: Path
) -> None:
    nats_url = nats_cluster.url
    rendered = render_flags(DOCS_INSTALL_FLAGS)
    lcd_port, proxy_port, hooks_port = free_port(), free_port(), free_port()
    kubeconfig = str(cluster.kubeconfig_path)
    dns_host, dns_port = cluster.dns_address
    nats = {"LC_NATS_URL": nats_url}
    elected = {
        workload: {"LC_KUBECONFIG": kubeconfig, "LC_PROBE_PORT": str(free_port())}
        for workload in ELECTED
    }
    # The chart's DSN shape (postgresql://), pointed at this test's database.
    database = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    addresses = {
        "liquidcompute-lcd": {**nats, "LC_DATABASE_URL": database, "LC_BIND_PORT": str(lcd_port)},
        "liquidcompute-lc-proxy": {**nats, "LC_PROXY_PORT": str(proxy_port)},
        "liquidcompute-reconciler": {**nats, **elected["liquidcompute-reconciler"]},
        "liquidcompute-fleet": {**nats, **elected["liquidcompute-fleet"]},
        "liquidcompute-domain-verifier": {
            **nats,
            **elected["liquidcompute-domain-verifier"],
            "LC_DNS_NAMESERVERS": f"{dns_host}:{dns_port}",
        },
        "liquidcompute-webhooks": {
            **nats,
            "LC_DATABASE_URL": database,
            "LC_PROBE_PORT": str(hooks_port),
        },
    }
    for workload, overrides in addresses.items():
        assert set(overrides) <= read_names(SETTINGS[workload])
    lcd_env = rendered.env("liquidcompute-lcd")
    admin = (lcd_env["LC_AUTH_USERNAME"], lcd_env["LC_AUTH_PASSWORD"])
    api_key = rendered.env("liquidcompute-lc-proxy")["LC_PROXY_API_KEYS"]

    async with (
        started(rendered, addresses, tmp_path) as programs,
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{lcd_port}/api", auth=admin, timeout=10
        ) as api,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{proxy_port}", timeout=10) as proxy,
        httpx.AsyncClient(base_url=cluster.api_url, timeout=10) as kube,
    ):

        def logs() -> str:
            return "\n".join(p.tail() for p in programs.values())

        async def until(check: Callable[[], Any], what: str) -> None:
            async def alive_and(check: Callable[[], Any] = check) -> bool:
                dead = [p.name for p in programs.values() if p.process.returncode is not None]
                assert not dead, f"{dead} exited:\n{logs()}"
                with contextlib.suppress(httpx.TransportError):
                    return bool(await check())
                return False

            try:
                await wait_until(alive_and, timeout=WITHIN, interval=0.25, what=what)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{logs()}") from None

        async def status_is(client: httpx.AsyncClient, path: str, code: int) -> bool:
            return (await client.get(path)).status_code == code

        # The release's namespace, which holds the Leases, exists as `helm install` leaves it.
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
        assert (await kube.post("/api/v1/namespaces", json=namespace)).status_code == 201
        await until(lambda: status_is(api, "/readyz", 200), "lcd ready")
        await until(lambda: status_is(proxy, "/healthz", 200), "lc-proxy ready")

        # The elected workers: each leads its Lease under the pod name the chart gives it
        # (LC_LEASE_IDENTITY from the downward API) and is ready on its probe port.
        for workload in ELECTED:
            env = rendered.env(workload)
            assert env["LC_LEADER_ELECTION"] == "true"
            probes = f"http://127.0.0.1:{elected[workload]['LC_PROBE_PORT']}"

            async def leads_and_ready(p: str = probes) -> bool:
                answer = await kube.get(f"{p}/readyz")
                return answer.status_code == 200 and answer.json()["leadership"]["leader"]

            await until(leads_and_ready, f"{workload} leading and ready")
            lease = f"{LEASES}/{env['LC_LEASE_NAMESPACE']}/leases/{ELECTED[workload]}"
            holder = (await kube.get(lease)).json()["spec"]["holderIdentity"]
            assert holder.startswith(f"{workload}-0_"), holder
            assert (await kube.get(f"{probes}/healthz")).status_code == 200
            assert "lc_worker" in (await kube.get(f"{probes}/metrics")).text

        # The webhooks worker: ready once it has read the subscriptions and started couriers.
        hooks = f"http://127.0.0.1:{hooks_port}"
        await until(lambda: status_is(kube, f"{hooks}/readyz", 200), "lc-webhooks ready")
        assert "lc_worker_ready" in (await kube.get(f"{hooks}/metrics")).text

        # LC_ALLOWED_HOSTS: what the Ingress and the Services' in-cluster names send passes the
        # DNS-rebinding guard; another name is refused. The probes' Host (localhost) is loopback.
        for client, path, service in (
            (api, "/healthz", "liquidcompute-lcd"),
            (proxy, "/healthz", "liquidcompute-lc-proxy"),
        ):
            for host in (CONSOLE_HOST, f"{service}.{NAMESPACE}.svc:8080", "localhost"):
                answer = await client.get(path, headers={"Host": host})
                assert answer.status_code == 200, (service, host, answer.text)
            answer = await client.get(path, headers={"Host": "evil.example"})
            assert answer.status_code == 421, (service, answer.text)

        # lcd: the platform values it shows. (Its login, asked of every client but a
        # port-forward's, is checked in test_chart_port_forward.py.)
        config = (await api.get("/v1/config")).json()
        assert config["platformDomain"] == "example.com"
        assert config["cnameTarget"] == "ingress-nginx-controller.ingress-nginx.svc.cluster.local"

        # lc-fleet: the docs' check of an install, the simulator's 8 GPUs.
        async def gpus() -> int:
            return len((await api.get("/v1/fleet")).json().get("gpus", []))

        await until(lambda: _equals(gpus(), 8), "the fleet lists 8 GPUs")

        # lc-reconciler: a Project and a Service become objects, with the chart's values.
        assert (await api.post("/v1/projects", json=PROJECT)).status_code in (201, 202)

        # LC_SECRET_KEY from the rendered Secret: lcd seals a project secret (not 503
        # secrets-disabled), and the reconciler, given the same key, opens it into a Secret.
        answer = await api.post(f"/v1/projects/{PROJECT['slug']}/secrets", json=SECRET)
        assert answer.status_code == 201, answer.text
        secret_path = (
            f"/api/v1/namespaces/{PROJECT['slug']}/secrets/{secret_object_name(SECRET['name'])}"
        )
        await until(lambda: status_is(kube, secret_path, 200), "the reconciler's Secret")
        written = (await kube.get(secret_path)).json()["data"]
        assert [base64.b64decode(v).decode() for v in written.values()] == [SECRET["value"]]
        answer = await api.post(f"/v1/projects/{PROJECT['slug']}/services", json=LLAMA)
        assert answer.status_code in (201, 202), answer.text
        ingress_path = (
            f"/apis/networking.k8s.io/v1/namespaces/{PROJECT['slug']}/ingresses/llama-3-8b"
        )
        await until(lambda: status_is(kube, ingress_path, 200), "the reconciler's Ingress")
        ingress = (await kube.get(ingress_path)).json()
        assert ingress["spec"]["ingressClassName"] == "nginx"
        host = platform_hostname("llama-3-8b", PROJECT["slug"], "example.com")
        assert ingress["spec"]["rules"][0]["host"] == host
        certificate = (
            await kube.get(
                f"/apis/cert-manager.io/v1/namespaces/{PROJECT['slug']}/certificates/llama-3-8b"
            )
        ).json()
        assert certificate["spec"]["issuerRef"] == {
            "name": "letsencrypt-production",
            "kind": "ClusterIssuer",
            "group": "cert-manager.io",
        }

        # lc-domain-verifier: a TXT challenge published in DNS verifies the domain.
        domain = {
            "fqdn": "chat.acme.com",
            "projectSlug": PROJECT["slug"],
            "serviceName": "llama-3-8b",
        }
        answer = await api.post("/v1/domains", json=domain)
        assert answer.status_code == 201, answer.text
        registration = answer.json()
        cluster.set_dns_record("TXT", registration["challengeRR"], registration["challengeToken"])
        assert (await api.post(f"/v1/domains/{registration['id']}/verify")).status_code in (
            200,
            202,
        )

        async def verified() -> bool:
            return bool(
                (await api.get(f"/v1/domains/{registration['id']}")).json()["status"] == "verified"
            )

        await until(verified, "the domain verified")

        # lc-proxy: /v1 asks for the chart's key, and routes to the Ready model.
        assert (await proxy.get("/v1/models")).status_code == 401
        bearer = {"Authorization": f"Bearer {api_key}"}

        async def listed() -> bool:
            models = (await proxy.get("/v1/models", headers=bearer)).json().get("data", [])
            return LLAMA["kind"]["model"]["modelName"] in [m["id"] for m in models]

        await until(listed, "lc-proxy lists the model")


async def _equals(value: Any, expected: Any) -> bool:
    return bool(await value == expected)
