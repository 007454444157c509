"""The product documentation's walk-through, run against a real `lc up`.

Create the `default` project, deploy the `llama-3-8b` inference Service and the `hello`
CPU service, call the model through `/v1` with the OpenAI SDK, register `chat.acme.com`,
publish its TXT challenge in the simulated DNS zone, verify it, and see the hostname in
the Ingress and Certificate; check the fleet view's GPU count; then delete a Service and the project and see the cluster
emptied of what the platform made. Kubernetes objects are read with the real kubectl.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

from lc_testing.product_docs import DOMAIN, HELLO, LLAMA, PROJECT

from .stack_process import Stack

KINDS = "models,deployments,services,ingresses,certificates,pvc"


def eventually(check: Callable[[], Any], within: float = 30.0) -> Any:
    """The first truthy result of `check`, polled until `within` seconds pass."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s (last: {result!r})")
        time.sleep(0.1)


def kubectl(stack: Stack, *args: str) -> str:
    kubeconfig = str(stack.endpoints["kubeconfig"])
    done = subprocess.run(
        ["kubectl", "--kubeconfig", kubeconfig, *args], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def managed_objects(stack: Stack, namespace: str) -> set[str]:
    out = kubectl(
        stack,
        "get",
        KINDS,
        "-n",
        namespace,
        "-l",
        "app.kubernetes.io/managed-by=liquidcompute",
        "-o",
        "name",
    )
    return set(out.split())


def lc_sim(stack: Stack, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "lc_local.cli", "sim", *args],
        check=True,
        capture_output=True,
        env={**os.environ, "LC_DATA_DIR": str(stack.data_dir)},
        timeout=30,
    )


@pytest.mark.e2e
def test_the_product_docs_walk_through(stack: Stack) -> None:
    stack.start()
    api = httpx.Client(base_url=f"{stack.url}/api", timeout=10)

    # The install check of the docs: the fleet view lists every GPU (the simulator's 8).
    eventually(lambda: len(api.get("/v1/fleet").json().get("gpus", [])) == 8)

    created = api.post("/v1/projects", json=PROJECT)
    assert created.status_code == 201, created.text
    assert created.json()["slug"] == "default"
    for spec in (LLAMA, HELLO):
        answer = api.post("/v1/projects/default/services", json=spec)
        assert answer.status_code == 201, answer.text
        assert answer.json()["revision"] == 1

    def ready() -> bool:
        service = api.get("/v1/projects/default/services/llama-3-8b").json()
        return bool(service["status"]["phase"] == "Ready")

    eventually(ready)
    assert api.get("/v1/projects/default/services/llama-3-8b").json()["url"] == (
        "https://llama-3-8b-default.lc.localhost"
    )
    assert managed_objects(stack, "default") == {
        "model.engine.greenthread.ai/llama-3-8b",
        "deployment.apps/hello",
        "service/hello",
        "ingress.networking.k8s.io/llama-3-8b",
        "ingress.networking.k8s.io/hello",
        "certificate.cert-manager.io/llama-3-8b",
        "certificate.cert-manager.io/hello",
        "persistentvolumeclaim/hello-workspace",
    }

    client = openai.OpenAI(base_url=f"{stack.url}/v1", api_key="unused")
    model = "meta-llama/Llama-3.1-8B-Instruct"
    eventually(lambda: model in [m.id for m in client.models.list().data])
    reply = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Hello!"}]
    )
    assert reply.choices[0].message.content
    assert reply.usage is not None
    assert reply.usage.total_tokens > 0

    domain = api.post("/v1/domains", json=DOMAIN)
    assert domain.status_code == 201, domain.text
    registration = domain.json()
    assert registration["challengeRR"] == "_lc-challenge.chat.acme.com"
    lc_sim(stack, "dns", "set", "TXT", registration["challengeRR"], registration["challengeToken"])
    assert api.post(f"/v1/domains/{registration['id']}/verify").status_code in (200, 202)
    eventually(lambda: api.get(f"/v1/domains/{registration['id']}").json()["status"] == "verified")

    def hostname_served() -> bool:
        hosts = kubectl(
            stack,
            "get",
            "ingress",
            "llama-3-8b",
            "-n",
            "default",
            "-o",
            "jsonpath={.spec.rules[*].host}",
        )
        names = kubectl(
            stack,
            "get",
            "certificate",
            "llama-3-8b",
            "-n",
            "default",
            "-o",
            "jsonpath={.spec.dnsNames}",
        )
        return "chat.acme.com" in hosts.split() and "chat.acme.com" in json.loads(names or "[]")

    eventually(hostname_served)

    assert api.delete("/v1/projects/default/services/hello").status_code in (200, 202, 204)
    eventually(lambda: not {o for o in managed_objects(stack, "default") if "hello" in o})
    assert api.delete("/v1/projects/default?cascade=true").status_code in (200, 202, 204)
    # `default` is the cluster's own namespace, so the project leaves it but nothing in it.
    eventually(lambda: not managed_objects(stack, "default"))
