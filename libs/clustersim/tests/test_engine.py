"""The simulated engine and controllers, seen through the Kubernetes API."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from lc_clustersim.engine import MEMORY_ANNOTATION
from lc_clustersim.sim import ClusterSim, SimConfig
from lc_contracts.engine import ENGINE_GROUP, ENGINE_VERSION, GPU_PLURAL, MODEL_PLURAL
from lc_testing import wait_until


@pytest.fixture
def cluster_config(tmp_path: Any) -> SimConfig:
    # 2 nodes x 2 GPUs of 40 GiB: small enough to fill.
    return SimConfig(
        gpus="2x2:A100-40GB",
        data_dir=tmp_path / "sim",
        pending_s=0.05,
        loading_s=0.1,
        ready_delay_s=0.05,
    )


def model(
    name: str,
    memory_mib: int,
    *,
    replicas: int = 1,
    gpus: int = 1,
    endpoints: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": f"{ENGINE_GROUP}/{ENGINE_VERSION}",
        "kind": "Model",
        "metadata": {"name": name, "annotations": {MEMORY_ANNOTATION: str(memory_mib)}},
        "spec": {
            "modelName": f"org/{name}",
            "dtype": "bf16",
            "replicas": replicas,
            "gpus": gpus,
            "endpoints": endpoints or ["chat_completions", "completions", "embeddings"],
        },
    }


def create_model(sim: ClusterSim, namespace: str, body: dict[str, Any]) -> None:
    store = sim.store
    namespaces = store.type_for(("", "namespaces"))
    if not store.list_objects(
        namespaces, None, field_selector=lambda o: o["metadata"]["name"] == namespace
    ):
        store.create(namespaces, None, {"metadata": {"name": namespace}}, manager="test")
    store.create(store.type_for((ENGINE_GROUP, MODEL_PLURAL)), namespace, body, manager="test")


def model_status(sim: ClusterSim, namespace: str, name: str) -> dict[str, Any]:
    obj = sim.store.get(sim.store.type_for((ENGINE_GROUP, MODEL_PLURAL)), namespace, name)
    status: dict[str, Any] = obj.get("status") or {}
    return status


def gpus(sim: ClusterSim) -> dict[str, dict[str, Any]]:
    rt = sim.store.type_for((ENGINE_GROUP, GPU_PLURAL))
    return {o.name: o.obj for o in sim.store.list_objects(rt, None)}


async def test_fleet_is_published_as_gpu_objects(cluster: ClusterSim) -> None:
    fleet = gpus(cluster)
    assert sorted(fleet) == [
        "sim-node-0-gpu0",
        "sim-node-0-gpu1",
        "sim-node-1-gpu0",
        "sim-node-1-gpu1",
    ]
    gpu = fleet["sim-node-1-gpu1"]
    assert gpu["spec"]["node"] == "sim-node-1"
    assert gpu["spec"]["index"] == 1
    assert gpu["spec"]["product"] == "A100-40GB"
    assert gpu["spec"]["memoryMiB"] == 40960
    assert gpu["spec"]["uuid"].startswith("GPU-")
    assert gpu["status"]["health"] == "Healthy"
    assert gpu["status"]["memoryAvailableMiB"] == 40960
    assert gpu["status"]["allocations"] == []


async def test_model_lifecycle_to_ready_serves_openai(cluster: ClusterSim) -> None:
    create_model(cluster, "ml", model("chat", 30000, replicas=2, endpoints=["chat_completions"]))
    phases: list[str] = []

    def ready() -> bool:
        phase = model_status(cluster, "ml", "chat").get("phase")
        if phase and (not phases or phases[-1] != phase):
            phases.append(phase)
        return phase == "Ready"

    await wait_until(ready, timeout=5, interval=0.005, what="model Ready")
    assert phases[0] == "Pending"
    assert phases[-1] == "Ready"
    status = model_status(cluster, "ml", "chat")
    assert status["readyReplicas"] == 2
    assert len(status["replicas"]) == 2
    assert status["endpoint"] == status["replicas"][0]["url"]
    used = {r["gpu"] for r in status["replicas"]}
    assert len(used) == 2  # 30 GiB each cannot share a 40 GiB GPU
    fleet = gpus(cluster)
    for name in used:
        assert fleet[name]["status"]["memoryAvailableMiB"] == 40960 - 30000
        assert fleet[name]["status"]["allocations"][0]["model"] == "ml/chat"

    async with openai.AsyncOpenAI(
        base_url=status["endpoint"] + "/v1", api_key="x", max_retries=0
    ) as client:
        reply = await client.chat.completions.create(
            model="org/chat", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content
        with pytest.raises(openai.NotFoundError):  # not an enabled endpoint
            await client.embeddings.create(model="org/chat", input="x")


async def test_scheduling_by_memory_packs_then_fails_when_full(cluster: ClusterSim) -> None:
    # 4 GPUs x 40 GiB. Two 15 GiB models share one GPU (best fit), a 35 GiB model needs its own.
    create_model(cluster, "ml", model("small-a", 15000))
    await wait_until(lambda: model_status(cluster, "ml", "small-a").get("phase") == "Ready")
    create_model(cluster, "ml", model("small-b", 15000))
    await wait_until(lambda: model_status(cluster, "ml", "small-b").get("phase") == "Ready")
    a = model_status(cluster, "ml", "small-a")["replicas"][0]["gpu"]
    b = model_status(cluster, "ml", "small-b")["replicas"][0]["gpu"]
    assert a == b
    assert gpus(cluster)[a]["status"]["memoryAvailableMiB"] == 40960 - 30000

    create_model(cluster, "ml", model("big", 35000, replicas=3))
    await wait_until(lambda: model_status(cluster, "ml", "big").get("phase") == "Ready")
    assert a not in {r["gpu"] for r in model_status(cluster, "ml", "big")["replicas"]}

    create_model(cluster, "ml", model("too-big", 20000))
    await wait_until(lambda: model_status(cluster, "ml", "too-big").get("phase") == "Failed")
    message = model_status(cluster, "ml", "too-big")["message"]
    assert "Insufficient GPU memory" in message
    assert model_status(cluster, "ml", "too-big")["readyReplicas"] == 0

    # Deleting a model frees its memory.
    cluster.store.delete(cluster.store.type_for((ENGINE_GROUP, MODEL_PLURAL)), "ml", "big")
    await wait_until(
        lambda: all(g["status"]["memoryAvailableMiB"] > 5000 for g in gpus(cluster).values())
    )


async def test_multi_gpu_replica_stays_on_one_node(cluster: ClusterSim) -> None:
    create_model(cluster, "ml", model("wide", 60000, gpus=2))
    await wait_until(lambda: model_status(cluster, "ml", "wide").get("phase") == "Ready")
    placed = model_status(cluster, "ml", "wide")["replicas"][0]["gpu"].split(",")
    assert len(placed) == 2
    assert len({name.rsplit("-gpu", 1)[0] for name in placed}) == 1
    assert all(gpus(cluster)[n]["status"]["memoryAvailableMiB"] == 40960 - 30000 for n in placed)


async def test_fail_model_and_gpu_health_knobs(cluster: ClusterSim) -> None:
    create_model(cluster, "ml", model("m", 10000))
    await wait_until(lambda: model_status(cluster, "ml", "m").get("phase") == "Ready")
    gpu = model_status(cluster, "ml", "m")["replicas"][0]["gpu"]

    await cluster.set_gpu_health(gpu, "Unhealthy")
    assert gpus(cluster)[gpu]["status"]["health"] == "Unhealthy"
    await wait_until(
        lambda: (
            model_status(cluster, "ml", "m").get("phase") == "Ready"
            and model_status(cluster, "ml", "m")["replicas"][0]["gpu"] != gpu
        )
    )
    assert gpus(cluster)[gpu]["status"]["allocations"] == []

    await cluster.fail_model("ml", "m", "weights corrupted")
    status = model_status(cluster, "ml", "m")
    assert status["phase"] == "Failed"
    assert status["message"] == "weights corrupted"
    assert cluster.upstreams("ml", "m") == []

    added = await cluster.add_gpus("1x1:H100-80GB")
    assert added == ["sim-node-2-gpu0"]
    assert gpus(cluster)["sim-node-2-gpu0"]["spec"]["memoryMiB"] == 81920
    await cluster.remove_gpu("sim-node-2-gpu0")
    assert "sim-node-2-gpu0" not in gpus(cluster)


async def test_upstream_fault_knobs_reach_replicas(cluster: ClusterSim) -> None:
    create_model(cluster, "ml", model("m", 10000))
    await wait_until(lambda: model_status(cluster, "ml", "m").get("phase") == "Ready")
    endpoint = model_status(cluster, "ml", "m")["endpoint"]
    cluster.set_upstream_faults(error_rate=1.0)
    async with openai.AsyncOpenAI(base_url=endpoint + "/v1", api_key="x", max_retries=0) as client:
        with pytest.raises(openai.InternalServerError):
            await client.completions.create(model="org/m", prompt="x")
        cluster.set_upstream_faults(error_rate=0.0)
        reply = await client.completions.create(model="org/m", prompt="x")
        assert reply.choices[0].text


async def test_controllers_make_deployments_certificates_and_ingresses_ready(
    cluster: ClusterSim,
) -> None:
    store = cluster.store
    store.create(
        store.type_for(("", "namespaces")), None, {"metadata": {"name": "web"}}, manager="t"
    )
    store.create(
        store.type_for(("apps", "deployments")),
        "web",
        {
            "metadata": {"name": "app"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"a": "b"}},
                "template": {"metadata": {"labels": {"a": "b"}}},
            },
        },
        manager="t",
    )
    store.create(
        store.type_for(("cert-manager.io", "certificates")),
        "web",
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": "app-tls"},
            "spec": {"secretName": "app-tls", "dnsNames": ["app.example.test"]},
        },
        manager="t",
    )
    store.create(
        store.type_for(("networking.k8s.io", "ingresses")),
        "web",
        {"metadata": {"name": "app"}, "spec": {"rules": [{"host": "app.example.test"}]}},
        manager="t",
    )

    def status(key: tuple[str, str], name: str) -> dict[str, Any]:
        return store.get(store.type_for(key), "web", name).get("status") or {}

    await wait_until(lambda: status(("apps", "deployments"), "app").get("readyReplicas") == 3)
    conditions = {
        c["type"]: c["status"] for c in status(("apps", "deployments"), "app")["conditions"]
    }
    assert conditions == {"Available": "True", "Progressing": "True"}
    await wait_until(
        lambda: any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in status(("cert-manager.io", "certificates"), "app-tls").get("conditions", [])
        )
    )
    await wait_until(
        lambda: (
            status(("networking.k8s.io", "ingresses"), "app")
            .get("loadBalancer", {})
            .get("ingress", [{}])[0]
            .get("ip")
            == "127.0.0.1"
        )
    )

    # Scaling is followed.
    store.patch(
        store.type_for(("apps", "deployments")),
        "web",
        "app",
        "application/merge-patch+json",
        {"spec": {"replicas": 1}},
        manager="t",
    )
    await wait_until(lambda: status(("apps", "deployments"), "app").get("readyReplicas") == 1)


async def test_every_model_gets_an_engine_service_that_goes_with_it(cluster: ClusterSim) -> None:
    create_model(cluster, "team", model("svc-test", 8 * 1024))
    services = cluster.store.type_for(("", "services"))

    def service() -> dict[str, Any] | None:
        found = cluster.store.list_objects(
            services, "team", field_selector=lambda o: o["metadata"]["name"] == "svc-test"
        )
        return found[0].obj if found else None

    await wait_until(lambda: service() is not None, what="the Model's Service exists")
    created = service()
    assert created is not None
    assert created["spec"]["ports"][0]["port"] == 80
    assert created["metadata"]["ownerReferences"][0]["kind"] == "Model"
    cluster.store.delete(cluster.store.type_for((ENGINE_GROUP, MODEL_PLURAL)), "team", "svc-test")
    await wait_until(lambda: service() is None, what="the Service went with its Model")
