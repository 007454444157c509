"""Pods we emit are safe by default: no service-account token, the restricted profile's
security context, and resource requests on every container."""

from __future__ import annotations

from typing import Any

import pytest

from lc_reconciler.domain.compiler import compile_service
from lc_reconciler.domain.platform import PlatformConfig
from lc_testing.product_docs import HELLO

from .helpers import spec
from .test_compiler_golden import CASES

PLATFORM = PlatformConfig(platform_domain="apps.example.com")


def _pods(raw: dict[str, Any], platform: PlatformConfig = PLATFORM) -> list[dict[str, Any]]:
    manifests = compile_service("acme", spec(raw), 1, [], platform)
    return [m["spec"]["template"]["spec"] for m in manifests if m["kind"] == "Deployment"]


@pytest.mark.parametrize(
    "name", sorted(n for n, c in CASES.items() if "container" in c.spec["kind"])
)
def test_every_pod_is_restricted_and_every_container_requests_resources(name: str) -> None:
    case = CASES[name]
    [pod] = _pods(case.spec, case.platform)
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in pod["containers"]:
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert set(security["capabilities"].get("add", [])) <= {"NET_BIND_SERVICE"}
        requests = container["resources"]["requests"]
        assert requests["cpu"]
        assert requests["memory"]


def test_defaults_fill_only_what_the_spec_leaves_out() -> None:
    raw = {
        **HELLO,
        "kind": {"container": {**HELLO["kind"]["container"], "resources": {"cpu": "2"}}},
    }
    [pod] = _pods(raw)
    resources = pod["containers"][0]["resources"]
    assert resources == {"requests": {"cpu": "2", "memory": "128Mi"}, "limits": {"cpu": "2"}}


def test_a_low_port_keeps_only_the_capability_to_bind_it() -> None:
    container = {**HELLO["kind"]["container"], "ports": [{"port": 80, "name": "http"}]}
    [pod] = _pods({**HELLO, "kind": {"container": container}})
    assert pod["containers"][0]["securityContext"]["capabilities"] == {
        "drop": ["ALL"],
        "add": ["NET_BIND_SERVICE"],
    }
    [default] = _pods(HELLO)
    assert "add" not in default["containers"][0]["securityContext"]["capabilities"]


def test_run_as_non_root_is_a_platform_choice() -> None:
    [pod] = _pods(HELLO)
    assert "runAsNonRoot" not in pod["securityContext"]
    strict = PlatformConfig(platform_domain="apps.example.com", run_as_non_root=True)
    [pod] = _pods(HELLO, strict)
    assert pod["securityContext"]["runAsNonRoot"] is True
