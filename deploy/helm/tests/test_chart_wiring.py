"""Objects of the render that refer to one another agree: selectors find their pods, named
ports exist, and the ClusterRoles grant the kinds the reconciler's and the fleet
aggregator's code call, no more.
"""

from __future__ import annotations

from typing import Any

import pytest

from lc_contracts.engine import GPU_PLURAL, MODEL_PLURAL
from lc_reconciler.kube.resources import NAMESPACE as NAMESPACE_KIND
from lc_reconciler.kube.resources import service_kinds
from lc_reconciler.settings import ReconcilerSettings

from .chart_render import DOCS_INSTALL_FLAGS, Rendered, refusal, render_flags

# Server-side apply creates or patches; the resync lists; the prune deletes.
APPLY_VERBS = {"list", "create", "patch", "delete"}


@pytest.fixture(scope="module")
def docs() -> Rendered:
    return render_flags(DOCS_INSTALL_FLAGS)


def pods(rendered: Rendered) -> list[dict[str, Any]]:
    return [
        w["spec"]["template"]
        for w in (*rendered.of_kind("Deployment"), *rendered.of_kind("StatefulSet"))
    ]


def selected(rendered: Rendered, selector: dict[str, str]) -> list[dict[str, Any]]:
    return [pod for pod in pods(rendered) if selector.items() <= pod["metadata"]["labels"].items()]


def port_names(pod: dict[str, Any]) -> set[str]:
    return {p["name"] for c in pod["spec"]["containers"] for p in c.get("ports", [])}


def test_services_select_their_pods_and_name_their_ports(docs: Rendered) -> None:
    for service in docs.of_kind("Service"):
        targets = selected(docs, service["spec"]["selector"])
        assert len(targets) == 1, service["metadata"]["name"]
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names(targets[0]), service["metadata"]["name"]


def test_disruption_budgets_select_a_workload(docs: Rendered) -> None:
    budgets = docs.of_kind("PodDisruptionBudget")
    assert {b["metadata"]["name"] for b in budgets} == {
        "liquidcompute-lcd",
        "liquidcompute-lc-proxy",
        "liquidcompute-frontend",
        "liquidcompute-nats",
        "liquidcompute-reconciler",
        "liquidcompute-fleet",
        "liquidcompute-domain-verifier",
    }
    for budget in budgets:
        assert len(selected(docs, budget["spec"]["selector"]["matchLabels"])) == 1


def test_network_policies_open_named_ports_of_the_pods_they_select(docs: Rendered) -> None:
    for policy in docs.of_kind("NetworkPolicy"):
        targets = selected(docs, policy["spec"]["podSelector"]["matchLabels"])
        assert targets, policy["metadata"]["name"]
        for rule in policy["spec"].get("ingress", []):
            for peer in rule["from"]:
                if "podSelector" in peer:
                    assert selected(docs, peer["podSelector"]["matchLabels"]), policy["metadata"]
            for port in rule["ports"]:
                assert all(port["port"] in port_names(pod) for pod in targets), policy["metadata"]
    # Every pod is behind the default deny, and the ingress controller reaches the console.
    deny = docs.get("NetworkPolicy", "liquidcompute-default-deny")
    assert len(selected(docs, deny["spec"]["podSelector"]["matchLabels"])) == len(pods(docs))
    console = docs.get("NetworkPolicy", "liquidcompute-frontend")["spec"]["ingress"][0]["from"]
    assert console == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    ]


def rules(rendered: Rendered, role: str) -> dict[tuple[str, str], set[str]]:
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in rendered.get("ClusterRole", role)["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted[(group, resource)] = set(rule["verbs"])
    return granted


def test_the_reconciler_may_make_exactly_the_kinds_it_compiles(docs: Rendered) -> None:
    platform = ReconcilerSettings().platform()
    granted = rules(docs, "liquidcompute-liquidcompute-system-reconciler")
    expected = {
        (kind.api_version.rpartition("/")[0], kind.plural)
        for kind in (*service_kinds(platform), NAMESPACE_KIND)
    }
    assert set(granted) == expected
    assert all(verbs >= APPLY_VERBS for verbs in granted.values())
    # Watched for status, and a project's namespace is read before it is deleted.
    assert "watch" in granted[("apps", "deployments")]
    assert "watch" in granted[(platform.engine_group, MODEL_PLURAL)]
    assert "get" in granted[("", "namespaces")]
    # Every namespace is watched, to tell lcd which ones a project cannot take.
    assert "watch" in granted[("", "namespaces")]
    assert not any("*" in verbs for verbs in granted.values())


def test_the_fleet_aggregator_may_only_read_the_engine(docs: Rendered) -> None:
    granted = rules(docs, "liquidcompute-liquidcompute-system-fleet")
    group = ReconcilerSettings().engine_group
    assert granted == {
        (group, GPU_PLURAL): {"list", "watch"},
        (group, MODEL_PLURAL): {"list", "watch"},
    }


def test_only_the_workers_calling_the_kubernetes_api_mount_a_token(docs: Rendered) -> None:
    mounted = {
        w["metadata"]["name"]: w["spec"]["template"]["spec"]["serviceAccountName"]
        for w in (*docs.of_kind("Deployment"), *docs.of_kind("StatefulSet"))
        if w["spec"]["template"]["spec"]["automountServiceAccountToken"]
    }
    assert mounted == {
        "liquidcompute-reconciler": "liquidcompute-reconciler",
        "liquidcompute-fleet": "liquidcompute-fleet",
        # Only its Lease: it runs as elected replicas.
        "liquidcompute-domain-verifier": "liquidcompute-domain-verifier",
    }
    subjects = {b["subjects"][0]["name"] for b in docs.of_kind("ClusterRoleBinding")}
    assert subjects == {"liquidcompute-reconciler", "liquidcompute-fleet"}
    lease_subjects = {b["subjects"][0]["name"] for b in docs.of_kind("RoleBinding")}
    assert lease_subjects == set(mounted.values())


def test_every_container_is_restricted_probed_and_bounded(docs: Rendered) -> None:
    for pod in pods(docs):
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["readOnlyRootFilesystem"] is True
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert "livenessProbe" in container
            assert "readinessProbe" in container
            assert set(container["resources"]) == {"requests", "limits"}


ELECTED = ("liquidcompute-reconciler", "liquidcompute-fleet", "liquidcompute-domain-verifier")
# lc_runtime.kube_lease: read_namespaced_lease, create_namespaced_lease, replace_namespaced_lease.
LEASE_VERBS = {"get", "create", "update"}


def test_each_elected_worker_may_touch_only_leases_in_its_namespace(docs: Rendered) -> None:
    for worker in ELECTED:
        role = docs.get("Role", f"{worker}-lease")
        assert role["metadata"]["namespace"] == "liquidcompute-system"
        granted: set[str] = set()
        for rule in role["rules"]:
            assert rule["apiGroups"] == ["coordination.k8s.io"]
            assert rule["resources"] == ["leases"]
            granted |= set(rule["verbs"])
            if set(rule["verbs"]) != {"create"}:  # create names no object in its URL
                # lc-reconciler -> the Lease lc-reconciler its program names.
                assert rule["resourceNames"] == [worker.replace("liquidcompute-", "lc-")]
        assert granted == LEASE_VERBS
        binding = docs.get("RoleBinding", f"{worker}-lease")
        assert binding["roleRef"]["name"] == role["metadata"]["name"]
        assert binding["subjects"][0]["name"] == worker


def test_elected_workers_run_two_replicas_with_election_probes_and_metrics(
    docs: Rendered,
) -> None:
    for worker in ELECTED:
        deployment = docs.get("Deployment", worker)
        assert deployment["spec"]["replicas"] == 2
        assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
        container = docs.container(worker)
        env = {v["name"]: v for v in container["env"]}
        assert env["LC_LEADER_ELECTION"]["value"] == "true"
        assert env["LC_LEASE_NAMESPACE"]["value"] == "liquidcompute-system"
        assert env["LC_LEASE_IDENTITY"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
        port = int(env["LC_PROBE_PORT"]["value"])
        assert container["ports"] == [{"name": "probes", "containerPort": port, "protocol": "TCP"}]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "probes"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "probes"}
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations == {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(port),
            "prometheus.io/path": "/metrics",
        }
    webhooks = docs.get("Deployment", "liquidcompute-webhooks")
    assert webhooks["spec"]["replicas"] == 1
    assert "LC_LEADER_ELECTION" not in docs.env("liquidcompute-webhooks")
    hooks = docs.container("liquidcompute-webhooks")
    assert {"name": "LC_PROBE_PORT", "value": str(port)} in hooks["env"]
    assert hooks["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "probes"}


@pytest.mark.parametrize(
    ("flags", "replicas"),
    [
        ((), "3"),
        (("nats.bundled.replicas=5",), "5"),
        (("nats.bundled.enabled=false", "nats.url=nats://n:4222"), "1"),
        (("nats.bundled.enabled=false", "nats.url=nats://n:4222", "nats.streamReplicas=3"), "3"),
    ],
    ids=["bundled", "bundled-five", "external", "external-three"],
)
def test_every_program_creating_streams_gets_the_stream_replicas(
    flags: tuple[str, ...], replicas: str
) -> None:
    rendered = render_flags((*DOCS_INSTALL_FLAGS, *flags))
    for workload in (
        "liquidcompute-lcd",
        "liquidcompute-lc-proxy",
        *ELECTED,
        "liquidcompute-webhooks",
    ):
        assert rendered.env(workload)["LC_STREAM_REPLICAS"] == replicas, workload


def test_more_stream_replicas_than_bundled_servers_are_refused() -> None:
    assert "more than the bundled cluster's 3 servers" in refusal(
        (*DOCS_INSTALL_FLAGS, "nats.streamReplicas=5")
    )


def test_lcd_reads_its_metrics_token_from_a_kept_secret(docs: Rendered) -> None:
    token = docs.env("liquidcompute-lcd")["LC_METRICS_TOKEN"]
    assert len(token) >= 24
    assert token.isalnum()
    given = render_flags((*DOCS_INSTALL_FLAGS, f"metrics.token={'t' * 30}"))
    assert given.env("liquidcompute-lcd")["LC_METRICS_TOKEN"] == "t" * 30
    assert "'/metrics/token': minLength: got 5, want 24" in refusal(
        (*DOCS_INSTALL_FLAGS, "metrics.token=short")
    )


def test_a_scrape_namespace_reaches_the_workers_probes_and_lcd() -> None:
    rendered = render_flags((*DOCS_INSTALL_FLAGS, "metrics.scrapeNamespace=monitoring"))
    test_network_policies_open_named_ports_of_the_pods_they_select(rendered)
    monitoring = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    }
    for worker in ELECTED:
        (rule,) = rendered.get("NetworkPolicy", worker)["spec"]["ingress"]
        assert rule == {"from": [monitoring], "ports": [{"port": "probes", "protocol": "TCP"}]}
    lcd = rendered.get("NetworkPolicy", "liquidcompute-lcd")["spec"]["ingress"]
    assert {"from": [monitoring], "ports": [{"port": "http", "protocol": "TCP"}]} in lcd
    # Without it, the default deny keeps every scraper out of the workers.
    docs = render_flags(DOCS_INSTALL_FLAGS)
    assert not {("NetworkPolicy", w) for w in ELECTED} & docs.names()
    refused = refusal((*DOCS_INSTALL_FLAGS, "metrics.scrapeNamespace=Bad_NS"))
    assert "'/metrics/scrapeNamespace': 'Bad_NS' does not match pattern" in refused


def test_the_webhooks_worker_may_reach_receivers_anywhere(docs: Rendered) -> None:
    # lc-webhooks refuses private addresses itself; the chart must not stop it at the network.
    webhooks = docs.get("Deployment", "liquidcompute-webhooks")["spec"]["template"]
    for policy in docs.of_kind("NetworkPolicy"):
        if selected(docs, policy["spec"]["podSelector"]["matchLabels"]).count(webhooks):
            assert "Egress" not in policy["spec"]["policyTypes"], policy["metadata"]["name"]
    # And it may reach the bundled PostgreSQL and NATS it needs.
    for server in ("liquidcompute-postgres", "liquidcompute-nats"):
        peers = docs.get("NetworkPolicy", server)["spec"]["ingress"][0]["from"]
        assert any(selected(docs, p["podSelector"]["matchLabels"]) == [webhooks] for p in peers), (
            server
        )
