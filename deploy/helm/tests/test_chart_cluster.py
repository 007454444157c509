"""The rendered chart against what a cluster checks: the Kubernetes schemas of a current
release (strict), server-side apply on the cluster simulator, and checkov's rules for
manifests and Dockerfiles (with the waivers the chart's README lists and explains).
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from lc_clustersim.sim import ClusterSim

from .chart_render import CHART, DOCS_INSTALL_FLAGS, NAMESPACE, Rendered, render_flags

DOCKERFILES = sorted((CHART.parents[1] / "docker").glob("*.Dockerfile"))
KUBERNETES_VERSION = kubernetes_validate.latest_version()
APPLY_PATCH = "application/apply-patch+yaml"


@pytest.fixture(scope="module")
def docs() -> Rendered:
    return render_flags(DOCS_INSTALL_FLAGS)


def _variants() -> list[list[str]]:
    return [
        list(DOCS_INSTALL_FLAGS),
        [
            *DOCS_INSTALL_FLAGS,
            "postgres.bundled.enabled=false",
            "postgres.dsn=postgresql://db/lc",
            "nats.bundled.enabled=false",
            "nats.url=nats://nats:4222",
            "lcProxy.allowAnonymous=true",
            "certManager.issuerKind=Issuer",
            "networkPolicy.enabled=false",
        ],
    ]


@pytest.mark.parametrize("flags", _variants(), ids=["docs", "external-servers"])
def test_every_object_validates_against_the_kubernetes_schemas(flags: list[str]) -> None:
    rendered = render_flags(flags)
    for obj in rendered.objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    # The chart renders only built-in kinds: the console's certificate comes from
    # cert-manager's ingress-shim, and the engine's kinds are the reconciler's to write.
    assert {o["apiVersion"].split("/")[0] for o in rendered.objects if "/" in o["apiVersion"]} <= {
        "apps",
        "policy",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
    }


def test_strict_validation_would_catch_a_misplaced_field(docs: Rendered) -> None:
    deployment = copy.deepcopy(docs.get("Deployment", "liquidcompute-lcd"))
    deployment["spec"]["template"]["spec"]["containers"][0]["probes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


async def _plurals(api: httpx.AsyncClient, api_version: str) -> dict[str, str]:
    root = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    answer = await api.get(root)
    answer.raise_for_status()
    return {r["kind"]: r["name"] for r in answer.json()["resources"] if "/" not in r["name"]}


def _path(obj: dict[str, Any], plural: str, namespaced: bool) -> str:
    version = obj["apiVersion"]
    root = f"/api/{version}" if "/" not in version else f"/apis/{version}"
    where = f"/namespaces/{obj['metadata']['namespace']}" if namespaced else ""
    return f"{root}{where}/{plural}/{obj['metadata']['name']}"


async def test_the_cluster_accepts_every_object_by_server_side_apply(
    cluster: ClusterSim, docs: Rendered
) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
    async with httpx.AsyncClient(base_url=cluster.api_url, timeout=10) as api:
        for obj in [namespace, *docs.objects]:
            plural = (await _plurals(api, obj["apiVersion"]))[obj["kind"]]
            path = _path(obj, plural, namespaced="namespace" in obj["metadata"])
            answer = await api.patch(
                path,
                params={"fieldManager": "helm", "force": "true"},
                content=json.dumps(obj),
                headers={"Content-Type": APPLY_PATCH},
            )
            assert answer.status_code in (200, 201), (
                obj["kind"],
                obj["metadata"]["name"],
                answer.text,
            )
            stored = (await api.get(path)).json()
            assert stored["metadata"]["labels"] == obj["metadata"].get(
                "labels", stored["metadata"]["labels"]
            )
            if "spec" in obj:
                assert stored["spec"] == obj["spec"], (obj["kind"], obj["metadata"]["name"])
        deployments = (await api.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments")).json()
    assert {d["metadata"]["name"] for d in deployments["items"]} == {
        d["metadata"]["name"] for d in docs.of_kind("Deployment")
    }


def _waivers() -> dict[str, str]:
    """check id -> where, from the waiver table of the chart's README."""
    table = (CHART / "README.md").read_text()
    return {m[1]: m[2].strip() for m in re.finditer(r"^\| (CKV2?_\w+) \| ([^|]+) \|", table, re.M)}


@pytest.fixture(scope="session")
def checkov_report(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """One checkov run over the docs' render and every Dockerfile (it takes tens of seconds)."""
    where = tmp_path_factory.mktemp("checkov")
    manifests = where / "liquidcompute.yaml"
    manifests.write_text(yaml.safe_dump_all(render_flags(DOCS_INSTALL_FLAGS).objects))
    global_waivers = [check for check, scope in _waivers().items() if scope == "every workload"]
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "checkov"),
            "--skip-download",  # no calls home: the rules ship with the package
            "--quiet",
            "--compact",
            "--output",
            "json",
            "--framework",
            "kubernetes",
            "dockerfile",
            "--skip-check",
            ",".join(global_waivers),
            "--file",
            str(manifests),
            *(arg for path in DOCKERFILES for arg in ("--file", str(path))),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.stdout, done.stderr
    report = json.loads(done.stdout)
    return report if isinstance(report, list) else [report]


def test_checkov_passes_on_the_manifests_and_dockerfiles(
    checkov_report: list[dict[str, Any]],
) -> None:
    by_type = {r["check_type"]: r for r in checkov_report}
    assert set(by_type) == {"kubernetes", "dockerfile"}
    failed = [
        (c["check_id"], c["resource"], c["check_name"])
        for r in checkov_report
        for c in r["results"]["failed_checks"]
    ]
    assert failed == []
    assert by_type["dockerfile"]["summary"]["resource_count"] == len(DOCKERFILES) == 3
    assert by_type["kubernetes"]["summary"]["passed"] > 100


def test_every_waiver_in_the_manifests_is_explained_in_the_readme(
    checkov_report: list[dict[str, Any]],
) -> None:
    waivers = _waivers()
    skipped = {
        c["check_id"] for r in checkov_report for c in r["results"].get("skipped_checks", [])
    }
    assert skipped <= set(waivers), skipped - set(waivers)
