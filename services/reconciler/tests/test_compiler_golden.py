"""Golden files: each case compiles a spec and compares the manifests with
`tests/golden/<case>.yaml`. Run with LC_UPDATE_GOLDEN=1 to rewrite them after an
intended change, and review the diff."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from lc_contracts.specs import ServiceSpec
from lc_reconciler.domain.compiler import (
    compile_namespace,
    compile_secret,
    compile_service,
    with_secret_versions,
)
from lc_reconciler.domain.platform import PlatformConfig, Toleration
from lc_testing.product_docs import HELLO, LLAMA

GOLDEN = Path(__file__).parent / "golden"
PLATFORM = PlatformConfig(platform_domain="apps.example.com")


@dataclass(frozen=True)
class Case:
    spec: dict[str, Any]
    project: str = "default"
    revision: int = 1
    domains: tuple[str, ...] = ()
    platform: PlatformConfig = field(default=PLATFORM)


TRAINER = {
    "name": "trainer",
    "tier": "gpu",
    "kind": {
        "container": {
            "image": "ghcr.io/acme/trainer:1.2",
            "args": ["--epochs", "3"],
            "env": [{"name": "HF_HOME", "value": "/workspace/hf"}],
            "ports": [{"port": 9000}, {"port": 9001, "protocol": "UDP"}],
            "resources": {"cpu": "4", "memory": "32Gi", "gpus": 2},
            "replicas": 2,
            "storage": {"size": "200Gi", "storageClass": "fast-ssd"},
        }
    },
}
WORKER = {
    "name": "worker",
    "tier": "cpu",
    "kind": {"container": {"image": "busybox", "command": ["sleep", "infinity"]}},
}
LONG_SERVICE = "s" * 39 + "9"
LONG_PROJECT = "p" * 39 + "0"

CASES: dict[str, Case] = {
    "inference_product_example": Case(LLAMA),
    "inference_custom_domains": Case(
        LLAMA, revision=4, domains=("chat.acme.com", "api.acme.com", "chat.acme.com")
    ),
    "inference_embeddings_scaled": Case(
        {
            "name": "bge",
            "tier": "inference",
            "kind": {
                "model": {
                    "modelName": "BAAI/bge-large-en-v1.5",
                    "endpoints": ["embeddings"],
                    "gpus": 2,
                    "replicas": 3,
                    "args": ["--max-model-len", "512"],
                }
            },
        },
        project="search",
    ),
    "inference_not_exposed": Case({**LLAMA, "expose": False}),
    # Service `a` of project `b-c` must not share `a-b-c` with service `a-b` of project `c`.
    "hyphenated_project_hostname": Case({**HELLO, "name": "a"}, project="b-c"),
    "cpu_product_example": Case(HELLO),
    "cpu_custom_domain_no_issuer": Case(
        HELLO,
        domains=("hello.acme.com",),
        platform=PlatformConfig(
            platform_domain="apps.example.com", cert_issuer="", ingress_class=""
        ),
    ),
    "cpu_no_ports_cluster_default_storage": Case(WORKER, revision=2),
    "cpu_platform_storage_class": Case(
        WORKER,
        platform=PlatformConfig(platform_domain="apps.example.com", storage_class="standard-rwo"),
    ),
    "gpu_spec_storage_class_udp_port": Case(
        TRAINER,
        platform=PlatformConfig(
            platform_domain="apps.example.com",
            storage_class="standard-rwo",
            gpu_node_selector=(("nvidia.com/gpu.present", "true"),),
            gpu_tolerations=(
                Toleration(key="dedicated", operator="Equal", value="gpu", effect="NoSchedule"),
            ),
        ),
    ),
    "long_names_hashed": Case(
        {**HELLO, "name": LONG_SERVICE},
        project=LONG_PROJECT,
        platform=PlatformConfig(
            platform_domain="apps.example.com", namespace_prefix="tenant-liquidcompute-eu-west-"
        ),
    ),
    "digit_leading_name": Case({**WORKER, "name": "0day"}, project="7seas"),
    "cpu_secret_env": Case(
        {
            **WORKER,
            "kind": {
                "container": {
                    "image": "busybox",
                    "env": [
                        {"name": "HF_HOME", "value": "/workspace/hf"},
                        {"name": "HF_TOKEN", "secretRef": "hf-token"},
                    ],
                }
            },
        }
    ),
    "custom_engine_group": Case(
        {**LLAMA, "name": "tiny"},
        platform=PlatformConfig(
            platform_domain="lc.internal",
            engine_group="models.example.org",
            engine_version="v2",
            inference_service_template="{model}-engine",
            inference_service_port=8000,
            namespace_prefix="lc-",
        ),
    ),
}


def render(case: Case) -> str:
    spec = ServiceSpec.model_validate(case.spec)
    documents = [compile_namespace(case.project, case.platform)]
    documents += compile_service(case.project, spec, case.revision, case.domains, case.platform)
    return yaml.safe_dump_all(documents, sort_keys=True, default_flow_style=False)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str) -> None:
    path = GOLDEN / f"{name}.yaml"
    rendered = render(CASES[name])
    if os.environ.get("LC_UPDATE_GOLDEN") == "1":
        path.write_text(rendered)
    assert path.exists(), f"{path} missing: run with LC_UPDATE_GOLDEN=1 and review it"
    assert rendered == path.read_text()


def test_no_stray_golden_files() -> None:
    assert {p.stem for p in GOLDEN.glob("*.yaml")} <= set(CASES)


def test_a_secret_ref_reads_the_project_secrets_kubernetes_secret() -> None:
    spec = ServiceSpec.model_validate(CASES["cpu_secret_env"].spec)
    [deployment] = [
        m for m in compile_service("default", spec, 1, (), PLATFORM) if m["kind"] == "Deployment"
    ]
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    secret = compile_secret("default", "hf-token", "hf_value", 3, PLATFORM)
    assert env[1] == {
        "name": "HF_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": secret["metadata"]["name"], "key": "value"}},
    }
    assert secret["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    assert base64.b64decode(secret["data"]["value"]) == b"hf_value"
    assert secret["metadata"]["annotations"] == {"liquidcompute.io/secret-version": "3"}
    assert secret["metadata"]["name"] == "lc-secret-hf-token"


def test_the_versions_of_the_secrets_read_are_stamped_on_the_pod_template() -> None:
    spec = ServiceSpec.model_validate(CASES["cpu_secret_env"].spec)
    plain = compile_service("default", spec, 1, (), PLATFORM)
    stamped = with_secret_versions(plain, spec, {"hf-token": 4, "unused": 9})
    [deployment] = [m for m in stamped if m["kind"] == "Deployment"]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"liquidcompute.io/secret-versions": "hf-token=4"}
    assert [m for m in stamped if m["kind"] != "Deployment"] == [
        m for m in plain if m["kind"] != "Deployment"
    ]
    unstamped = next(m for m in plain if m["kind"] == "Deployment")
    assert "annotations" not in unstamped["spec"]["template"]["metadata"]
    worker = ServiceSpec.model_validate(WORKER)
    manifests = compile_service("default", worker, 1, (), PLATFORM)
    assert with_secret_versions(manifests, worker, {}) == manifests
