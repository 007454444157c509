"""The chart rendered with the product docs' install flags: names, wiring of every value,
refusals of bad values, and the golden file of the whole default render.

Run with LC_UPDATE_GOLDEN=1 to rewrite golden/docs-install.yaml after an intended change.
"""

from __future__ import annotations

import os
import string
from pathlib import Path
from typing import Any

import pytest
import yaml

from lc_contracts.sealing import SecretKey

from .chart_render import (
    DOCS_INSTALL_FLAGS,
    DOCS_SET_FLAGS,
    GENERATED_PASSWORD,
    NAMESPACE,
    Rendered,
    lint,
    refusal,
    render_flags,
)

GOLDEN = Path(__file__).parent / "golden" / "docs-install.yaml"
# Secret keys the chart generates (random per render, kept across upgrades by `lookup`).
GENERATED_KEYS = {
    ("liquidcompute-lc-proxy-keys", "apiKeys"),
    ("liquidcompute-postgres", "password"),
    ("liquidcompute-postgres", "dsn"),
    ("liquidcompute-secret-key", "secretKey"),
    ("liquidcompute-metrics-token", "token"),
}


@pytest.fixture(scope="module")
def docs() -> Rendered:
    return render_flags(DOCS_INSTALL_FLAGS)


def test_lint_finds_no_error_with_the_docs_flags() -> None:
    report = lint(DOCS_INSTALL_FLAGS)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_the_docs_literal_password_placeholder_is_refused() -> None:
    message = refusal(DOCS_SET_FLAGS)
    assert "/lcd/auth/password" in message
    assert lint(DOCS_SET_FLAGS)["errors"]


def test_workloads_are_named_as_the_docs_kubectl_get_pods(docs: Rendered) -> None:
    replicas = {d["metadata"]["name"]: d["spec"]["replicas"] for d in docs.of_kind("Deployment")}
    assert replicas == {
        "liquidcompute-lcd": 2,
        "liquidcompute-lc-proxy": 2,
        "liquidcompute-frontend": 2,
        "liquidcompute-postgres": 1,
        "liquidcompute-reconciler": 2,
        "liquidcompute-fleet": 2,
        "liquidcompute-domain-verifier": 2,
        "liquidcompute-webhooks": 1,
    }
    nats = docs.get("StatefulSet", "liquidcompute-nats")
    assert nats["spec"]["replicas"] == 3
    config = docs.get("ConfigMap", "liquidcompute-nats")["data"]["nats.conf"]
    assert "jetstream" in config
    assert config.count("nats://liquidcompute-nats-") == 3
    assert {
        o["metadata"].get("namespace") for o in docs.objects if not o["kind"].startswith("Cluster")
    } == {NAMESPACE}


def test_each_container_runs_its_console_script(docs: Rendered) -> None:
    commands = {
        name: docs.container(name).get("command")
        for name in (
            "liquidcompute-lcd",
            "liquidcompute-lc-proxy",
            "liquidcompute-reconciler",
            "liquidcompute-fleet",
            "liquidcompute-domain-verifier",
        )
    }
    assert commands == {
        "liquidcompute-lcd": ["lcd"],
        "liquidcompute-lc-proxy": ["lc-proxy"],
        "liquidcompute-reconciler": ["lc-reconciler"],
        "liquidcompute-fleet": ["lc-fleet"],
        "liquidcompute-domain-verifier": ["lc-domain-verifier"],
    }


def test_the_console_ingress_serves_one_host_with_a_certificate(docs: Rendered) -> None:
    ingress = docs.get("Ingress", "liquidcompute-console")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert (
        ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
        == "letsencrypt-production"
    )
    assert ingress["spec"]["tls"] == [
        {"hosts": ["app.example.com"], "secretName": "liquidcompute-console-tls"}
    ]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "app.example.com"
    routes = {
        p["path"]: (
            p["pathType"],
            p["backend"]["service"]["name"],
            p["backend"]["service"]["port"]["name"],
        )
        for p in rule["http"]["paths"]
    }
    assert routes == {
        "/": ("Prefix", "liquidcompute-frontend", "http"),
        "/api": ("Prefix", "liquidcompute-lcd", "http"),
        "/v1": ("Prefix", "liquidcompute-lc-proxy", "http"),
    }


def test_an_issuer_of_kind_issuer_is_annotated_as_such() -> None:
    ingress = render_flags([*DOCS_INSTALL_FLAGS, "certManager.issuerKind=Issuer"]).get(
        "Ingress", "liquidcompute-console"
    )
    annotations = ingress["metadata"]["annotations"]
    assert annotations["cert-manager.io/issuer"] == "letsencrypt-production"
    assert "cert-manager.io/cluster-issuer" not in annotations


def test_service_lcd_listens_on_8080_where_lcd_does(docs: Rendered) -> None:
    (port,) = docs.get("Service", "liquidcompute-lcd")["spec"]["ports"]
    assert port["port"] == 8080
    env = docs.env("liquidcompute-lcd")
    container_port = {
        p["name"]: p["containerPort"] for p in docs.container("liquidcompute-lcd")["ports"]
    }
    assert container_port[port["targetPort"]] == int(env["LC_BIND_PORT"]) == 8080


def test_each_docs_value_reaches_the_setting_it_names(docs: Rendered) -> None:
    lcd = docs.env("liquidcompute-lcd")
    assert lcd["LC_PLATFORM_DOMAIN"] == "example.com"
    assert lcd["LC_INGRESS_SERVICE_NAMESPACE"] == "ingress-nginx"
    assert lcd["LC_INGRESS_SERVICE_NAME"] == "ingress-nginx-controller"
    assert (lcd["LC_AUTH_USERNAME"], lcd["LC_AUTH_PASSWORD"]) == ("admin", GENERATED_PASSWORD)
    assert lcd["LC_DATABASE_URL"].startswith("postgresql://liquidcompute:")
    assert lcd["LC_DATABASE_URL"].endswith("@liquidcompute-postgres:5432/liquidcompute")
    reconciler = docs.env("liquidcompute-reconciler")
    assert reconciler["LC_PLATFORM_DOMAIN"] == "example.com"
    assert reconciler["LC_INGRESS_CLASS"] == "nginx"
    assert reconciler["LC_CERT_ISSUER"] == "letsencrypt-production"
    assert reconciler["LC_CERT_ISSUER_KIND"] == "ClusterIssuer"
    assert reconciler["LC_STORAGE_CLASS"] == ""
    verifier = docs.env("liquidcompute-domain-verifier")
    assert (
        verifier["LC_INGRESS_CNAME_TARGET"]
        == "ingress-nginx-controller.ingress-nginx.svc.cluster.local"
    )
    for name in (
        "liquidcompute-lcd",
        "liquidcompute-lc-proxy",
        "liquidcompute-reconciler",
        "liquidcompute-fleet",
        "liquidcompute-domain-verifier",
    ):
        assert docs.env(name)["LC_NATS_URL"] == "nats://liquidcompute-nats:4222"
    images = {
        d["metadata"]["name"]: docs.container(d["metadata"]["name"])["image"]
        for d in docs.of_kind("Deployment")
    }
    registry = "licence.greenthread.ai/greenthread/liquidcompute"
    assert images["liquidcompute-lcd"] == f"{registry}/lcd:0.1.0"
    assert images["liquidcompute-reconciler"] == f"{registry}/lcd:0.1.0"
    assert images["liquidcompute-lc-proxy"] == f"{registry}/lc-proxy:0.1.0"
    assert images["liquidcompute-frontend"] == f"{registry}/frontend:0.1.0"
    for workload in (*docs.of_kind("Deployment"), *docs.of_kind("StatefulSet")):
        pod = workload["spec"]["template"]["spec"]
        assert pod["imagePullSecrets"] == [{"name": "greenthread-registry"}], workload["metadata"][
            "name"
        ]


def test_other_values_reach_their_settings() -> None:
    rendered = render_flags(
        [
            *DOCS_INSTALL_FLAGS,
            "storage.defaultStorageClass=fast-ssd",
            "images.lcd.tag=1.2.3",
            "images.lcd.pullPolicy=Always",
            r"lcProxy.apiKeys=key-one-abcdefghijklmnop\,key-two-abcdefghijklmnop",  # --set needs \,
            "lcd.trustedProxies=10.0.0.0/8",
        ]
    )
    assert rendered.env("liquidcompute-reconciler")["LC_STORAGE_CLASS"] == "fast-ssd"
    assert rendered.env("liquidcompute-lc-proxy")["LC_PROXY_API_KEYS"] == (
        "key-one-abcdefghijklmnop,key-two-abcdefghijklmnop"
    )
    assert rendered.env("liquidcompute-lcd")["LC_TRUSTED_PROXIES"] == "10.0.0.0/8"
    lcd = rendered.container("liquidcompute-lcd")
    assert (lcd["image"], lcd["imagePullPolicy"]) == (
        "licence.greenthread.ai/greenthread/liquidcompute/lcd:1.2.3",
        "Always",
    )


def test_existing_secrets_replace_the_chart_secrets() -> None:
    rendered = render_flags(
        [
            *DOCS_SET_FLAGS[:-3],
            "lcd.auth.existingSecret=my-admin",
            "lcProxy.existingSecret=my-keys",
            "secrets.existingSecret=my-platform-key",
            "metrics.existingSecret=my-metrics",
        ]
    )
    refs = {
        v["name"]: v["valueFrom"]["secretKeyRef"]
        for name in ("liquidcompute-lcd", "liquidcompute-lc-proxy")
        for v in rendered.container(name)["env"]
        if "valueFrom" in v
    }
    assert refs["LC_AUTH_USERNAME"] == {"name": "my-admin", "key": "username"}
    assert refs["LC_AUTH_PASSWORD"] == {"name": "my-admin", "key": "password"}
    assert refs["LC_PROXY_API_KEYS"] == {"name": "my-keys", "key": "apiKeys"}
    assert refs["LC_METRICS_TOKEN"] == {"name": "my-metrics", "key": "token"}
    secrets = {s["metadata"]["name"] for s in rendered.of_kind("Secret")}
    assert secrets == {"liquidcompute-postgres"}


def test_an_external_postgres_renders_no_postgres_and_wires_its_dsn_from_a_secret() -> None:
    dsn = "postgresql://lc:pw@db.example.com:5432/liquidcompute"
    rendered = render_flags(
        [*DOCS_INSTALL_FLAGS, "postgres.bundled.enabled=false", f"postgres.dsn={dsn}"]
    )
    assert not [n for n in rendered.names() if "postgres" in n[1] and n[0] != "Secret"]
    (ref,) = [
        v["valueFrom"]["secretKeyRef"]
        for v in rendered.container("liquidcompute-lcd")["env"]
        if v["name"] == "LC_DATABASE_URL"
    ]
    assert ref == {"name": "liquidcompute-postgres-dsn", "key": "dsn"}
    assert rendered.env("liquidcompute-lcd")["LC_DATABASE_URL"] == dsn
    existing = render_flags(
        [*DOCS_INSTALL_FLAGS, "postgres.bundled.enabled=false", "postgres.existingSecret=team-db"]
    )
    assert not [n for n in existing.names() if "postgres" in n[1]]
    (ref,) = [
        v["valueFrom"]["secretKeyRef"]
        for v in existing.container("liquidcompute-lcd")["env"]
        if v["name"] == "LC_DATABASE_URL"
    ]
    assert ref == {"name": "team-db", "key": "dsn"}


def test_an_external_nats_renders_no_nats() -> None:
    rendered = render_flags(
        [*DOCS_INSTALL_FLAGS, "nats.bundled.enabled=false", "nats.url=nats://nats.messaging:4222"]
    )
    assert not [n for n in rendered.names() if "nats" in n[1]]
    for name in (
        "liquidcompute-lcd",
        "liquidcompute-lc-proxy",
        "liquidcompute-reconciler",
        "liquidcompute-fleet",
        "liquidcompute-domain-verifier",
    ):
        assert rendered.env(name)["LC_NATS_URL"] == "nats://nats.messaging:4222"


@pytest.mark.parametrize(
    ("flags", "where"),
    [
        (["lcd.auth.password="], "/lcd/auth/password"),
        (["lcd.auth.password=short"], "/lcd/auth/password"),
        (["lcd.auth.password=<generate-a-password>"], "/lcd/auth/password"),
        (["lcd.auth.password=changeme"], "/lcd/auth/password"),
        (["lcd.auth.enabled=false"], "/lcd/auth/enabled"),
        (["lcd.auth.trustPortForward=maybe"], "/lcd/auth/trustPortForward"),
        (["console.host=not a host"], "/console/host"),
        (["console.host=https://app.example.com/"], "/console/host"),
        (["console.host="], "/console/host"),
        (["global.platformDomain=Example_Com"], "/global/platformDomain"),
        (["certManager.issuerKind=Issuers"], "/certManager/issuerKind"),
        (["postgres.bundled.enabled=false"], "/postgres"),
        (["postgres.bundled.enabled=false", "postgres.dsn=mysql://db/x"], "/postgres/dsn"),
        (["nats.bundled.enabled=false"], "/nats"),
        (["lcProxy.apiKeys=too-short"], "/lcProxy/apiKeys"),
        (["lcd.auth.pasword=typo-of-a-value"], "pasword"),
        (["images.lcd.repository="], "/images/lcd/repository"),
    ],
)
def test_the_schema_refuses_bad_values(flags: list[str], where: str) -> None:
    assert where in refusal([*DOCS_INSTALL_FLAGS, *flags])


def test_a_missing_password_is_refused() -> None:
    assert "password" in refusal(
        [f for f in DOCS_SET_FLAGS if not f.startswith("lcd.auth.password")]
    )


def test_notes_print_the_docs_verify_commands(docs: Rendered) -> None:
    assert "kubectl get pods -n liquidcompute-system" in docs.notes
    assert "kubectl get ingress -n liquidcompute-system" in docs.notes
    assert (
        "kubectl -n liquidcompute-system port-forward svc/liquidcompute-lcd 8080:8080 &"
        in docs.notes
    )
    assert "http://localhost:8080/api/v1/fleet | jq '.gpus | length'" in docs.notes


def _masked(rendered: Rendered) -> list[dict[str, Any]]:
    objects = []
    for obj in rendered.objects:
        if obj["kind"] == "Secret":
            data = obj["stringData"]
            obj = {
                **obj,
                "stringData": {
                    k: "<generated>" if (obj["metadata"]["name"], k) in GENERATED_KEYS else v
                    for k, v in data.items()
                },
            }
        objects.append(obj)
    return objects


def test_golden_render_of_the_docs_install(docs: Rendered) -> None:
    text = yaml.safe_dump_all(_masked(docs), sort_keys=True, default_flow_style=False)
    if os.environ.get("LC_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text)
    assert GOLDEN.exists(), f"{GOLDEN} missing: run with LC_UPDATE_GOLDEN=1 and review it"
    assert text == GOLDEN.read_text()


def test_generated_secrets_are_secret_enough(docs: Rendered) -> None:
    keys = docs.env("liquidcompute-lc-proxy")["LC_PROXY_API_KEYS"]
    assert len(keys) >= 40
    assert keys.isalnum()
    assert (
        keys != render_flags(DOCS_INSTALL_FLAGS).env("liquidcompute-lc-proxy")["LC_PROXY_API_KEYS"]
    )


CONSOLE_HOST = "app.example.com"


def test_lcd_and_lc_proxy_answer_for_the_console_host_and_their_service_names() -> None:
    rendered = render_flags(
        [
            *DOCS_INSTALL_FLAGS,
            "allowedHosts[0]=lcd.corp.example",
            "allowedHosts[1]=*.internal.example",
        ]
    )
    for service in ("lcd", "lc-proxy"):
        name = f"liquidcompute-{service}"
        allowed = rendered.env(name)["LC_ALLOWED_HOSTS"].split(",")
        assert allowed == [
            CONSOLE_HOST,
            name,
            f"{name}.{NAMESPACE}",
            f"{name}.{NAMESPACE}.svc",
            f"{name}.{NAMESPACE}.svc.cluster.local",
            "lcd.corp.example",
            "*.internal.example",
        ]
        rendered.get("Service", name)  # the names above are a Service's


def test_the_http_probes_of_lcd_and_lc_proxy_send_host_localhost(docs: Rendered) -> None:
    probed = 0
    for name in ("liquidcompute-lcd", "liquidcompute-lc-proxy"):
        container = docs.container(name)
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            if "httpGet" in container[probe]:
                probed += 1
                assert container[probe]["httpGet"]["httpHeaders"] == [
                    {"name": "Host", "value": "localhost"}
                ], f"{name} {probe}"
    assert probed == 4


def test_a_bad_allowed_host_is_refused() -> None:
    assert "/allowedHosts/0" in refusal([*DOCS_INSTALL_FLAGS, "allowedHosts[0]=http://x.example"])


def test_lcd_and_the_reconciler_take_the_generated_secret_key_from_a_kept_secret(
    docs: Rendered,
) -> None:
    secret = docs.get("Secret", "liquidcompute-secret-key")
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    for name in ("liquidcompute-lcd", "liquidcompute-reconciler"):
        (var,) = [v for v in docs.container(name)["env"] if v["name"] == "LC_SECRET_KEY"]
        assert var == {
            "name": "LC_SECRET_KEY",
            "valueFrom": {"secretKeyRef": {"name": "liquidcompute-secret-key", "key": "secretKey"}},
        }
    key = docs.env("liquidcompute-lcd")["LC_SECRET_KEY"]
    SecretKey.parse(key)  # the format lcd and the reconciler accept
    assert set(key) <= set(string.ascii_letters + string.digits + "-_=")  # URL-safe base64
    assert key != render_flags(DOCS_INSTALL_FLAGS).env("liquidcompute-lcd")["LC_SECRET_KEY"]
    for name in ("liquidcompute-lc-proxy", "liquidcompute-fleet", "liquidcompute-domain-verifier"):
        assert "LC_SECRET_KEY" not in docs.env(name)


def test_an_existing_secret_key_secret_is_referenced_and_none_rendered() -> None:
    rendered = render_flags(
        [
            *DOCS_INSTALL_FLAGS,
            "secrets.existingSecret=platform-key",
            "secrets.existingSecretKey=key",
        ]
    )
    assert "liquidcompute-secret-key" not in {
        s["metadata"]["name"] for s in rendered.of_kind("Secret")
    }
    for name in ("liquidcompute-lcd", "liquidcompute-reconciler"):
        (var,) = [v for v in rendered.container(name)["env"] if v["name"] == "LC_SECRET_KEY"]
        assert var["valueFrom"]["secretKeyRef"] == {"name": "platform-key", "key": "key"}


def test_the_domain_expiry_and_the_prune_guard_reach_every_program_reading_them() -> None:
    rendered = render_flags(
        [
            *DOCS_INSTALL_FLAGS,
            "domains.expiryHours=24",
            "workers.reconciler.pruneGuard.share=0.25",
            "workers.reconciler.pruneGuard.floor=5",
        ]
    )
    assert rendered.env("liquidcompute-lcd")["LC_DOMAIN_EXPIRY_H"] == "24"
    assert rendered.env("liquidcompute-domain-verifier")["LC_DOMAIN_EXPIRY_H"] == "24"
    reconciler = rendered.env("liquidcompute-reconciler")
    assert (reconciler["LC_PRUNE_GUARD_SHARE"], reconciler["LC_PRUNE_GUARD_FLOOR"]) == ("0.25", "5")


def test_the_webhooks_worker_gets_the_database_the_key_and_its_networks() -> None:
    rendered = render_flags(
        [*DOCS_INSTALL_FLAGS, "workers.webhooks.allowNetworks={10.20.0.0/16,fd00::/8}"]
    )
    env = rendered.env("liquidcompute-webhooks")
    assert env["LC_WEBHOOK_ALLOW_NETWORKS"] == "10.20.0.0/16,fd00::/8"
    assert {"LC_NATS_URL", "LC_DATABASE_URL", "LC_SECRET_KEY"} <= set(env)
    assert rendered.container("liquidcompute-webhooks")["command"] == ["lc-webhooks"]
    assert "LC_WEBHOOK_ALLOW_NETWORKS" not in render_flags(DOCS_INSTALL_FLAGS).env(
        "liquidcompute-webhooks"
    )
    message = refusal([*DOCS_INSTALL_FLAGS, "workers.webhooks.allowNetworks={everything}"])
    assert "allowNetworks" in message


def test_notes_show_the_workers_leases_and_the_metrics_token(docs: Rendered) -> None:
    assert "kubectl get leases -n liquidcompute-system" in docs.notes
    assert (
        "kubectl -n liquidcompute-system get secret liquidcompute-metrics-token"
        " -o jsonpath='{.data.token}' | base64 -d"
    ) in docs.notes
    mine = render_flags(
        (*DOCS_INSTALL_FLAGS, "metrics.existingSecret=prom", "metrics.existingSecretKey=bearer")
    )
    assert "get secret prom -o jsonpath='{.data.bearer}'" in mine.notes
