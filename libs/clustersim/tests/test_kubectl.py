"""Real kubectl against the emulator: get, get -l, describe, delete, apply --server-side,
get --watch, and the `kubectl create <kind>` generators, which send protobuf bodies."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest

from lc_clustersim.sim import ClusterSim
from lc_testing import wait_until

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
pytestmark = pytest.mark.skipif(not Path(KUBECTL).exists(), reason="kubectl is not installed")

MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web, tier: front}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
---
apiVersion: v1
kind: Service
metadata:
  name: db
  namespace: shop
  labels: {app: db, tier: back}
spec:
  ports: [{port: 5432}]
---
apiVersion: engine.greenthread.ai/v1alpha1
kind: Model
metadata:
  name: llama
  namespace: shop
spec:
  modelName: meta/llama-3-8b
  dtype: bf16
  replicas: 1
  gpus: 1
  endpoints: [chat_completions]
"""


async def kubectl(sim: ClusterSim, *args: str, check: bool = True) -> str:
    env = {**os.environ, "KUBECONFIG": str(sim.kubeconfig_path), "HOME": str(sim.data_dir)}
    process = await asyncio.create_subprocess_exec(
        KUBECTL,
        "--cache-dir",
        str(sim.data_dir / "kube-cache"),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    if check and process.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {err.decode()}")
    return out.decode() + err.decode()


async def test_kubectl_apply_get_describe_delete(cluster: ClusterSim) -> None:
    manifest = cluster.data_dir / "shop.yaml"
    manifest.write_text(MANIFEST)
    out = await kubectl(cluster, "apply", "--server-side", "-f", str(manifest))
    assert "deployment.apps/web serverside-applied" in out
    assert "model.engine.greenthread.ai/llama serverside-applied" in out

    listing = await kubectl(cluster, "get", "deployments,services", "-n", "shop")
    assert "web" in listing
    assert "db" in listing
    front = await kubectl(cluster, "get", "all", "-n", "shop", "-l", "tier=front", "-o", "name")
    assert front.split() == ["deployment.apps/web"]
    not_front = await kubectl(
        cluster, "get", "svc,deploy", "-n", "shop", "-l", "tier notin (front)", "-o", "name"
    )
    # `notin` also matches objects without the label, like the engine's Service for the Model.
    assert not_front.split() == ["service/db", "service/llama"]

    # The simulated engine and kubelet make things ready; kubectl shows it.
    await wait_until(
        lambda: (
            (
                cluster.store.get(
                    cluster.store.type_for(("engine.greenthread.ai", "models")), "shop", "llama"
                )
                .get("status", {})
                .get("phase")
            )
            == "Ready"
        )
    )
    models = await kubectl(cluster, "get", "models", "-n", "shop")
    assert "Ready" in models
    assert "meta/llama-3-8b" in models
    gpus = await kubectl(cluster, "get", "gpus")
    assert "sim-node-1-gpu3" in gpus
    assert "H100-80GB" in gpus

    described = await kubectl(cluster, "describe", "deployment", "web", "-n", "shop")
    assert "Name:" in described
    assert "tier=front" in described
    described_model = await kubectl(cluster, "describe", "model", "llama", "-n", "shop")
    assert "Phase:" in described_model

    # Server-side apply again with a change: merged, generation moves.
    manifest.write_text(MANIFEST.replace("replicas: 2", "replicas: 4"))
    await kubectl(cluster, "apply", "--server-side", "-f", str(manifest))
    replicas = await kubectl(
        cluster, "get", "deploy", "web", "-n", "shop", "-o", "jsonpath={.spec.replicas}"
    )
    assert replicas == "4"

    deleted = await kubectl(cluster, "delete", "service", "db", "-n", "shop")
    assert 'service "db" deleted' in deleted
    missing = await kubectl(cluster, "get", "service", "db", "-n", "shop", check=False)
    assert "NotFound" in missing

    await kubectl(cluster, "delete", "namespace", "shop")
    leftovers = await kubectl(cluster, "get", "deploy", "-n", "shop", "-o", "name")
    assert leftovers.strip() in ("", "No resources found in shop namespace.")


async def test_kubectl_get_watch_streams_changes(cluster: ClusterSim) -> None:
    manifest = cluster.data_dir / "live.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: live}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first, namespace: live}\n"
    )
    await kubectl(cluster, "create", "-f", str(manifest))
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig_path), "HOME": str(cluster.data_dir)}
    watcher = await asyncio.create_subprocess_exec(
        KUBECTL,
        "--cache-dir",
        str(cluster.data_dir / "kube-cache"),
        "get",
        "configmaps",
        "-n",
        "live",
        "--watch",
        "-o",
        "name",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert watcher.stdout is not None
    try:
        async with asyncio.timeout(20):
            first = await watcher.stdout.readline()
            assert first.decode().strip() == "configmap/first"
            await wait_until(lambda: cluster.api.open_watches >= 1, timeout=10)
            second_manifest = cluster.data_dir / "second.yaml"
            second_manifest.write_text(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: second, namespace: live}\n"
            )
            await kubectl(cluster, "apply", "--server-side", "-f", str(second_manifest))
            second = await watcher.stdout.readline()
            assert second.decode().strip() == "configmap/second"
    finally:
        watcher.kill()
        await watcher.wait()


# The install steps of the product documentation, and `kubectl run`; kubectl sends each
# object as protobuf and does not retry in JSON after a 415.
GENERATORS = [
    "create namespace demo",
    "create secret generic s1 -n demo --from-literal=a=b",
    "create secret docker-registry reg -n demo --docker-server=r.example.com"
    " --docker-username=u --docker-password=p",
    "create configmap c1 -n demo --from-literal=k=v",
    "create serviceaccount sa1 -n demo",
    "create deployment web -n demo --image=nginx --replicas=2 --port=80",
    "create service clusterip web -n demo --tcp=80:8080",
    "run probe -n demo --image=busybox --env=MODE=check --labels=app=probe",
]


async def get_json(cluster: ClusterSim, *args: str) -> dict[str, Any]:
    found = json.loads(await kubectl(cluster, "get", *args, "-o", "json"))
    assert isinstance(found, dict)
    return found


async def test_kubectl_create_generators_are_decoded_from_protobuf(cluster: ClusterSim) -> None:
    for command in GENERATORS:
        out = await kubectl(cluster, *shlex.split(command))
        assert "created" in out, out  # "namespace/demo created", "pod/probe created"

    namespace = await get_json(cluster, "namespace", "demo")
    assert namespace["status"] == {"phase": "Active"}

    secret = await get_json(cluster, "secret", "s1", "-n", "demo")
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == {"a": "b"}

    registry = await get_json(cluster, "secret", "reg", "-n", "demo")
    assert registry["type"] == "kubernetes.io/dockerconfigjson"
    auths = json.loads(base64.b64decode(registry["data"][".dockerconfigjson"]))["auths"]
    assert auths["r.example.com"]["username"] == "u"
    assert auths["r.example.com"]["password"] == "p"

    config_map = await get_json(cluster, "configmap", "c1", "-n", "demo")
    assert config_map["data"] == {"k": "v"}

    account = await get_json(cluster, "serviceaccount", "sa1", "-n", "demo")
    assert account["metadata"]["uid"]

    deployment = await get_json(cluster, "deployment", "web", "-n", "demo")
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["selector"] == {"matchLabels": {"app": "web"}}
    (container,) = spec["template"]["spec"]["containers"]
    assert container["image"] == "nginx"
    assert container["ports"] == [{"containerPort": 80}]
    # The simulated kubelet acts on it like on any other Deployment.
    await wait_until(
        lambda: (
            (
                cluster.store.get(cluster.store.type_for(("apps", "deployments")), "demo", "web")
                .get("status", {})
                .get("readyReplicas")
            )
            == 2
        )
    )

    pod = await get_json(cluster, "pod", "probe", "-n", "demo")
    assert pod["metadata"]["labels"] == {"app": "probe"}
    (container,) = pod["spec"]["containers"]
    assert (container["image"], container["env"]) == (
        "busybox",
        [{"name": "MODE", "value": "check"}],
    )

    service = await get_json(cluster, "service", "web", "-n", "demo")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"] == {"app": "web"}
    assert service["spec"]["ports"] == [
        {"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}
    ]


async def test_kubectl_create_of_a_kind_without_a_protobuf_schema_says_so(
    cluster: ClusterSim,
) -> None:
    await kubectl(cluster, "create", "namespace", "edge")
    out = await kubectl(
        cluster, "create", "ingress", "web", "-n", "edge", "--rule=example.com/=web:80", check=False
    )
    assert "Ingress (networking.k8s.io/v1) as JSON" in out
