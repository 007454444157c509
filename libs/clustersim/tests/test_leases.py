"""coordination.k8s.io/v1 Lease in the simulator, as the workers' leader election uses it:
create once, read, replace only with the resourceVersion last read (409 otherwise)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from lc_clustersim.kubeapi.write_log import single_writer_violations
from lc_clustersim.sim import ClusterSim


@pytest.fixture
async def coordination(cluster: ClusterSim) -> AsyncIterator[client.CoordinationV1Api]:
    configuration = client.Configuration()
    await config.load_kube_config(
        config_file=str(cluster.kubeconfig_path), client_configuration=configuration
    )
    async with client.ApiClient(configuration) as api_client:
        yield client.CoordinationV1Api(api_client)


def lease(holder: str, transitions: int = 0) -> client.V1Lease:
    return client.V1Lease(
        metadata=client.V1ObjectMeta(name="lc-reconciler"),
        spec=client.V1LeaseSpec(
            holder_identity=holder,
            lease_duration_seconds=15,
            acquire_time=datetime.now(UTC),
            renew_time=datetime.now(UTC),
            lease_transitions=transitions,
        ),
    )


async def test_a_lease_is_a_compare_and_swap_on_its_resource_version(
    coordination: client.CoordinationV1Api,
) -> None:
    created = await coordination.create_namespaced_lease("default", lease("a"))
    with pytest.raises(ApiException) as taken:
        await coordination.create_namespaced_lease("default", lease("b"))
    assert taken.value.status == 409

    read = await coordination.read_namespaced_lease("lc-reconciler", "default")
    assert read.spec.holder_identity == "a"
    assert read.spec.lease_duration_seconds == 15
    assert read.metadata.resource_version == created.metadata.resource_version

    # Two candidates read the same version; the first replace wins, the second is 409.
    first = lease("b", transitions=1)
    first.metadata.resource_version = read.metadata.resource_version
    renewed = await coordination.replace_namespaced_lease("lc-reconciler", "default", first)
    assert renewed.spec.holder_identity == "b"
    assert renewed.spec.lease_transitions == 1
    second = lease("c", transitions=1)
    second.metadata.resource_version = read.metadata.resource_version
    with pytest.raises(ApiException) as stale:
        await coordination.replace_namespaced_lease("lc-reconciler", "default", second)
    assert stale.value.status == 409
    current = await coordination.read_namespaced_lease("lc-reconciler", "default")
    assert current.spec.holder_identity == "b"

    listed = await coordination.list_namespaced_lease("default")
    assert [item.metadata.name for item in listed.items] == ["lc-reconciler"]
    await coordination.delete_namespaced_lease("lc-reconciler", "default")
    with pytest.raises(ApiException) as gone:
        await coordination.read_namespaced_lease("lc-reconciler", "default")
    assert gone.value.status == 404


async def test_every_write_is_recorded_with_its_client_and_the_lease_holders_then(
    cluster: ClusterSim, coordination: client.CoordinationV1Api
) -> None:
    await coordination.create_namespaced_lease("default", lease("worker_a"))
    configuration = client.Configuration()
    await config.load_kube_config(
        config_file=str(cluster.kubeconfig_path), client_configuration=configuration
    )
    async with client.ApiClient(configuration) as api:
        api.user_agent = "lc-reconciler/worker_b"  # a standby that writes anyway
        await client.CoreV1Api(api).create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name="written-by-b"))
        )
        api.user_agent = "lc-reconciler/worker_a"
        await client.CoreV1Api(api).create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name="written-by-a"))
        )
    writes = [w for w in cluster.api.write_log.writes() if w.user_agent.startswith("lc-")]
    assert [(w.method, w.path, w.status) for w in writes] == [
        ("POST", "/api/v1/namespaces", 201),
        ("POST", "/api/v1/namespaces", 201),
    ]
    assert all(w.lease_holders == {"default/lc-reconciler": "worker_a"} for w in writes)
    violations = single_writer_violations(
        cluster.api.write_log.writes(), agent_prefix="lc-reconciler/", lease="default/lc-reconciler"
    )
    assert [w.user_agent for w in violations] == ["lc-reconciler/worker_b"]
