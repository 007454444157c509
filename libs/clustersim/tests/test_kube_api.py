"""The Kubernetes API emulator, driven by kubernetes-asyncio over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.watch import Watch

from lc_clustersim.sim import ClusterSim
from lc_contracts.engine import ENGINE_GROUP, ENGINE_VERSION, FIELD_MANAGER, MODEL_PLURAL
from lc_testing import wait_until


@pytest.fixture
async def api(cluster: ClusterSim) -> AsyncIterator[client.ApiClient]:
    configuration = client.Configuration()
    await config.load_kube_config(
        config_file=str(cluster.kubeconfig_path), client_configuration=configuration
    )
    async with client.ApiClient(configuration) as api_client:
        yield api_client


async def make_namespace(api: client.ApiClient, name: str) -> None:
    await client.CoreV1Api(api).create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name))
    )


def deployment(
    name: str, replicas: int = 1, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels or {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]},
            },
        },
    }


async def test_typed_crud_and_metadata(api: client.ApiClient) -> None:
    await make_namespace(api, "crud")
    core = client.CoreV1Api(api)
    svc = await core.create_namespaced_service(
        "crud",
        client.V1Service(
            metadata=client.V1ObjectMeta(name="web", labels={"app": "web"}),
            spec=client.V1ServiceSpec(ports=[client.V1ServicePort(port=80)]),
        ),
    )
    assert svc.metadata.uid
    assert svc.metadata.creation_timestamp is not None
    assert svc.metadata.generation == 1
    assert svc.metadata.managed_fields
    first_rv = int(svc.metadata.resource_version)
    pvc = await core.create_namespaced_persistent_volume_claim(
        "crud",
        client.V1PersistentVolumeClaim(
            metadata=client.V1ObjectMeta(name="workspace"),
            spec=client.V1PersistentVolumeClaimSpec(
                access_modes=["ReadWriteOnce"],
                resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"}),
            ),
        ),
    )
    assert int(pvc.metadata.resource_version) > first_rv
    with pytest.raises(ApiException) as exists:
        await core.create_namespaced_service(
            "crud", client.V1Service(metadata=client.V1ObjectMeta(name="web"))
        )
    assert exists.value.status == 409
    assert json.loads(exists.value.body)["reason"] == "AlreadyExists"

    apps = client.AppsV1Api(api)
    await apps.create_namespaced_deployment("crud", deployment("web"))
    fetched = await apps.read_namespaced_deployment("web", "crud")
    assert fetched.spec.replicas == 1

    networking = client.NetworkingV1Api(api)
    await networking.create_namespaced_ingress(
        "crud",
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "web"},
            "spec": {"rules": [{"host": "web.example.test"}]},
        },
    )
    listed = await networking.list_namespaced_ingress("crud")
    assert [i.metadata.name for i in listed.items] == ["web"]

    await core.delete_namespaced_service("web", "crud")
    with pytest.raises(ApiException) as missing:
        await core.read_namespaced_service("web", "crud")
    assert missing.value.status == 404
    status = json.loads(missing.value.body)
    assert status["kind"] == "Status"
    assert status["reason"] == "NotFound"


async def test_create_in_missing_namespace_is_404(api: client.ApiClient) -> None:
    with pytest.raises(ApiException) as error:
        await client.CoreV1Api(api).create_namespaced_config_map(
            "nowhere", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="x"))
        )
    assert error.value.status == 404


async def test_stale_put_is_409_and_generation_tracks_spec(api: client.ApiClient) -> None:
    await make_namespace(api, "occ")
    apps = client.AppsV1Api(api)
    created = await apps.create_namespaced_deployment("occ", deployment("web"))
    stale_rv = created.metadata.resource_version
    created.spec.replicas = 2
    updated = await apps.replace_namespaced_deployment("web", "occ", created)
    assert updated.metadata.generation == 2
    assert int(updated.metadata.resource_version) > int(stale_rv)

    stale = await apps.read_namespaced_deployment("web", "occ")
    stale.metadata.resource_version = stale_rv
    stale.spec.replicas = 5
    with pytest.raises(ApiException) as conflict:
        await apps.replace_namespaced_deployment("web", "occ", stale)
    assert conflict.value.status == 409
    assert json.loads(conflict.value.body)["reason"] == "Conflict"
    assert (await apps.read_namespaced_deployment("web", "occ")).spec.replicas == 2

    # A label change is metadata: generation stays.
    relabelled = await apps.patch_namespaced_deployment(
        "web", "occ", {"metadata": {"labels": {"tier": "front"}}}
    )
    assert relabelled.metadata.generation == 2
    assert relabelled.metadata.labels["tier"] == "front"


async def test_json_patch_and_merge_patch(api: client.ApiClient) -> None:
    await make_namespace(api, "patches")
    core = client.CoreV1Api(api)
    await core.create_namespaced_config_map(
        "patches",
        client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cfg"), data={"a": "1", "b": "2"}),
    )
    merged = await core.patch_namespaced_config_map(
        "cfg", "patches", {"data": {"a": None, "c": "3"}}
    )
    assert merged.data == {"b": "2", "c": "3"}
    patched = await core.patch_namespaced_config_map(
        "cfg",
        "patches",
        [
            {"op": "replace", "path": "/data/b", "value": "20"},
            {"op": "add", "path": "/data/d", "value": "4"},
        ],
    )
    assert patched.data == {"b": "20", "c": "3", "d": "4"}
    with pytest.raises(ApiException) as failed_test:
        await core.patch_namespaced_config_map(
            "cfg", "patches", [{"op": "test", "path": "/data/b", "value": "nope"}]
        )
    assert failed_test.value.status == 422


async def test_server_side_apply_creates_then_merges_and_detects_conflicts(
    api: client.ApiClient,
) -> None:
    await make_namespace(api, "ssa")
    apps = client.AppsV1Api(api)
    first = deployment("web", replicas=1, labels={"app": "web", "owner": "lc"})
    created = await apps.patch_namespaced_deployment(
        "web",
        "ssa",
        first,
        field_manager=FIELD_MANAGER,
        force=True,
        _content_type="application/apply-patch+yaml",
    )
    assert created.spec.replicas == 1
    managers = {(m.manager, m.operation) for m in created.metadata.managed_fields}
    assert (FIELD_MANAGER, "Apply") in managers

    # Another manager sets a label the first does not manage: apply keeps it (merge).
    await apps.patch_namespaced_deployment("web", "ssa", {"metadata": {"labels": {"team": "ml"}}})
    second = deployment("web", replicas=3, labels={"app": "web"})  # drops "owner"
    merged = await apps.patch_namespaced_deployment(
        "web",
        "ssa",
        second,
        field_manager=FIELD_MANAGER,
        force=True,
        _content_type="application/apply-patch+yaml",
    )
    assert merged.spec.replicas == 3
    assert merged.metadata.labels == {"app": "web", "team": "ml"}
    assert merged.metadata.generation == 2

    # A second applier changing replicas conflicts unless forced.
    other = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": 7},
    }
    with pytest.raises(ApiException) as conflict:
        await apps.patch_namespaced_deployment(
            "web",
            "ssa",
            other,
            field_manager="someone-else",
            force=False,
            _content_type="application/apply-patch+yaml",
        )
    assert conflict.value.status == 409
    assert "spec.replicas" in json.loads(conflict.value.body)["message"]
    forced = await apps.patch_namespaced_deployment(
        "web",
        "ssa",
        other,
        field_manager="someone-else",
        force=True,
        _content_type="application/apply-patch+yaml",
    )
    assert forced.spec.replicas == 7

    # Re-applying the same configuration is a no-op: the version does not move. The
    # simulated controllers may still be writing the scale to 7 into the status, so the
    # version is compared with the object as read just before the re-apply until one such
    # pair falls in a quiet moment; an apply that always wrote would never match.
    async def reapply_keeps_the_version() -> bool:
        current = await apps.read_namespaced_deployment("web", "ssa")
        again = await apps.patch_namespaced_deployment(
            "web",
            "ssa",
            other,
            field_manager="someone-else",
            force=True,
            _content_type="application/apply-patch+yaml",
        )
        return bool(again.metadata.resource_version == current.metadata.resource_version)

    await wait_until(reapply_keeps_the_version, timeout=20, what="a no-op re-apply")


async def test_label_selector_operators(api: client.ApiClient) -> None:
    await make_namespace(api, "sel")
    core = client.CoreV1Api(api)
    for name, labels in {
        "a": {"env": "prod", "tier": "web"},
        "b": {"env": "dev", "tier": "web"},
        "c": {"env": "test"},
        "d": {},
    }.items():
        await core.create_namespaced_config_map(
            "sel", client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels))
        )

    async def names(label_selector: str = "", field_selector: str = "") -> list[str]:
        result = await core.list_namespaced_config_map(
            "sel", label_selector=label_selector, field_selector=field_selector
        )
        return [c.metadata.name for c in result.items]

    assert await names("env=prod") == ["a"]
    assert await names("env==prod") == ["a"]
    assert await names("env!=prod") == ["b", "c", "d"]
    assert await names("env in (prod,test)") == ["a", "c"]
    assert await names("env notin (prod,test)") == ["b", "d"]
    assert await names("tier") == ["a", "b"]
    assert await names("!tier") == ["c", "d"]
    assert await names("tier,env!=dev") == ["a"]
    assert await names(field_selector="metadata.name=c") == ["c"]
    assert await names(field_selector="metadata.name!=c,metadata.namespace=sel") == ["a", "b", "d"]
    everywhere = await core.list_config_map_for_all_namespaces(
        field_selector="metadata.namespace=sel"
    )
    assert len(everywhere.items) == 4
    with pytest.raises(ApiException) as bad:
        await names("env in prod")
    assert bad.value.status == 400


async def _collect(
    api: client.ApiClient, namespace: str, rv: str, count: int, timeout: float = 5.0
) -> list[tuple[str, str, str]]:
    core = client.CoreV1Api(api)
    seen: list[tuple[str, str, str]] = []
    watch = Watch()
    async with asyncio.timeout(timeout):
        async for event in watch.stream(
            core.list_namespaced_config_map, namespace, resource_version=rv, timeout_seconds=30
        ):
            obj = event["object"]
            seen.append((event["type"], obj.metadata.name, obj.metadata.resource_version))
            if len(seen) == count:
                watch.stop()
                break
    return seen


async def test_watch_resumes_from_a_version_exactly_once(api: client.ApiClient) -> None:
    await make_namespace(api, "watch")
    core = client.CoreV1Api(api)
    listing = await core.list_namespaced_config_map("watch")
    start = listing.metadata.resource_version
    for index in range(3):
        await core.create_namespaced_config_map(
            "watch", client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"cm{index}"))
        )
    await core.patch_namespaced_config_map("cm1", "watch", {"data": {"k": "v"}})
    await core.delete_namespaced_config_map("cm2", "watch")
    events = await _collect(api, "watch", start, 5)
    assert [(t, n) for t, n, _ in events] == [
        ("ADDED", "cm0"),
        ("ADDED", "cm1"),
        ("ADDED", "cm2"),
        ("MODIFIED", "cm1"),
        ("DELETED", "cm2"),
    ]
    versions = [int(rv) for _, _, rv in events]
    assert versions == sorted(versions)
    assert len(set(versions)) == 5

    # Resume from the middle: exactly the later events, then live ones.
    resume_from = events[2][2]
    core_task = asyncio.create_task(_collect(api, "watch", resume_from, 3))
    await core.create_namespaced_config_map(
        "watch", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cm3"))
    )
    resumed = await core_task
    assert [(t, n) for t, n, _ in resumed] == [
        ("MODIFIED", "cm1"),
        ("DELETED", "cm2"),
        ("ADDED", "cm3"),
    ]


async def test_watch_with_label_selector_sees_objects_leave_and_enter(
    api: client.ApiClient,
) -> None:
    await make_namespace(api, "wsel")
    core = client.CoreV1Api(api)
    start = (await core.list_namespaced_config_map("wsel")).metadata.resource_version
    await core.create_namespaced_config_map(
        "wsel", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="x", labels={"pick": "yes"}))
    )
    await core.create_namespaced_config_map(
        "wsel", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="y", labels={"pick": "no"}))
    )
    await core.patch_namespaced_config_map("x", "wsel", {"metadata": {"labels": {"pick": "no"}}})
    await core.patch_namespaced_config_map("y", "wsel", {"metadata": {"labels": {"pick": "yes"}}})
    seen = []
    watch = Watch()
    async with asyncio.timeout(5):
        async for event in watch.stream(
            core.list_namespaced_config_map,
            "wsel",
            label_selector="pick=yes",
            resource_version=start,
            timeout_seconds=30,
        ):
            seen.append((event["type"], event["object"].metadata.name))
            if len(seen) == 3:
                break
    assert seen == [("ADDED", "x"), ("DELETED", "x"), ("ADDED", "y")]


async def test_watch_from_an_expired_version_is_410(
    cluster: ClusterSim, api: client.ApiClient
) -> None:
    await make_namespace(api, "gone")
    core = client.CoreV1Api(api)
    old = (await core.list_namespaced_config_map("gone")).metadata.resource_version
    window = cluster.store._log.maxlen or 0
    for index in range(window + 5):
        cluster.store.create(
            cluster.store.type_for(("", "configmaps")),
            "gone",
            {"metadata": {"name": f"c{index}"}},
            manager="test",
        )

    async def drain() -> None:
        async with asyncio.timeout(5):
            async for _ in Watch().stream(
                core.list_namespaced_config_map, "gone", resource_version=old, timeout_seconds=5
            ):
                pass

    with pytest.raises(ApiException) as expired:
        await drain()
    assert expired.value.status == 410


async def test_namespace_delete_cascades(api: client.ApiClient) -> None:
    await make_namespace(api, "doomed")
    await make_namespace(api, "kept")
    core = client.CoreV1Api(api)
    apps = client.AppsV1Api(api)
    for namespace in ("doomed", "kept"):
        await apps.create_namespaced_deployment(namespace, deployment("web"))
        await core.create_namespaced_config_map(
            namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cfg"))
        )
    custom = client.CustomObjectsApi(api)
    await custom.create_namespaced_custom_object(
        ENGINE_GROUP,
        ENGINE_VERSION,
        "doomed",
        MODEL_PLURAL,
        {
            "apiVersion": f"{ENGINE_GROUP}/{ENGINE_VERSION}",
            "kind": "Model",
            "metadata": {"name": "m"},
            "spec": {"modelName": "tiny-1b", "replicas": 0},
        },
    )
    await core.delete_namespace("doomed")
    assert (await apps.list_namespaced_deployment("doomed")).items == []
    assert (await core.list_namespaced_config_map("doomed")).items == []
    models = await custom.list_namespaced_custom_object(
        ENGINE_GROUP, ENGINE_VERSION, "doomed", MODEL_PLURAL
    )
    assert models["items"] == []
    assert [d.metadata.name for d in (await apps.list_namespaced_deployment("kept")).items] == [
        "web"
    ]
    with pytest.raises(ApiException) as missing:
        await core.read_namespace("doomed")
    assert missing.value.status == 404


def gadget_crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.example.test"},
        "spec": {
            "group": "example.test",
            "scope": "Namespaced",
            "names": {"kind": "Gadget", "plural": "gadgets"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object"}},
                }
            ],
        },
    }


async def test_status_subresource_is_separate(api: client.ApiClient) -> None:
    await make_namespace(api, "st")
    await client.ApiextensionsV1Api(api).create_custom_resource_definition(gadget_crd())
    custom = client.CustomObjectsApi(api)
    args = ("example.test", "v1", "st", "gadgets")
    merge = "application/merge-patch+json"
    body = {
        "apiVersion": "example.test/v1",
        "kind": "Gadget",
        "metadata": {"name": "g"},
        "spec": {"size": 1},
        "status": {"phase": "Hacked"},
    }
    created = await custom.create_namespaced_custom_object(*args, body)
    assert "status" not in created
    patched = await custom.patch_namespaced_custom_object_status(
        *args, "g", {"status": {"message": "from status"}, "spec": {"size": 9}}, _content_type=merge
    )
    assert patched["status"]["message"] == "from status"
    assert patched["spec"]["size"] == 1
    assert patched["metadata"]["generation"] == 1
    spec_write = await custom.patch_namespaced_custom_object(
        *args, "g", {"spec": {"size": 2}, "status": {"message": "ignored"}}, _content_type=merge
    )
    assert spec_write["status"]["message"] == "from status"
    assert spec_write["spec"]["size"] == 2
    assert spec_write["metadata"]["generation"] == 2


async def test_any_posted_crd_is_served(api: client.ApiClient) -> None:
    ext = client.ApiextensionsV1Api(api)
    await ext.create_custom_resource_definition(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.test"},
            "spec": {
                "group": "example.test",
                "scope": "Cluster",
                "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {"openAPIV3Schema": {"type": "object"}},
                    }
                ],
            },
        }
    )
    custom = client.CustomObjectsApi(api)
    await custom.create_cluster_custom_object(
        "example.test",
        "v1",
        "widgets",
        {
            "apiVersion": "example.test/v1",
            "kind": "Widget",
            "metadata": {"name": "w1"},
            "spec": {"size": 3},
        },
    )
    got = await custom.get_cluster_custom_object("example.test", "v1", "widgets", "w1")
    assert got["spec"]["size"] == 3
    await ext.delete_custom_resource_definition("widgets.example.test")
    with pytest.raises(ApiException) as gone:
        await custom.get_cluster_custom_object("example.test", "v1", "widgets", "w1")
    assert gone.value.status == 404


async def test_close_watches_makes_clients_resume_without_loss(
    cluster: ClusterSim, api: client.ApiClient
) -> None:
    await make_namespace(api, "drop")
    core = client.CoreV1Api(api)
    seen: list[str] = []
    ready = asyncio.Event()

    async def follow() -> None:
        watch = Watch()
        # No timeout_seconds: the client reconnects from its last version on a dropped stream.
        async for event in watch.stream(core.list_namespaced_config_map, "drop"):
            seen.append(event["object"].metadata.name)
            ready.set()
            if len(seen) == 3:
                watch.stop()
                return

    await core.create_namespaced_config_map(
        "drop", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="one"))
    )
    task = asyncio.create_task(follow())
    async with asyncio.timeout(5):
        await ready.wait()
    assert cluster.close_watches() == 1
    await core.create_namespaced_config_map(
        "drop", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="two"))
    )
    await core.create_namespaced_config_map(
        "drop", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="three"))
    )
    async with asyncio.timeout(5):
        await task
    assert seen == ["one", "two", "three"]


PROTOBUF = "application/vnd.kubernetes.protobuf"


def _protobuf_event(name: str) -> bytes:
    """A v1 Event in the protobuf envelope: a kind the simulator serves but does not decode."""
    type_meta = b"\x0a\x02v1\x12\x05Event"
    obj = b"\x0a" + bytes([len(name) + 2]) + b"\x0a" + bytes([len(name)]) + name.encode()
    return (
        b"k8s\x00"
        + b"\x0a"
        + bytes([len(type_meta)])
        + type_meta
        + b"\x12"
        + bytes([len(obj)])
        + obj
    )


async def _post_protobuf(
    session: aiohttp.ClientSession, path: str, body: bytes
) -> tuple[int, str, dict[str, Any]]:
    headers = {"Content-Type": PROTOBUF, "Accept": f"{PROTOBUF}, application/json"}
    async with session.post(path, data=body, headers=headers) as response:
        return response.status, response.content_type, await response.json()


async def test_protobuf_bodies_are_decoded_or_refused_with_a_status(
    cluster: ClusterSim, api: client.ApiClient
) -> None:
    await make_namespace(api, "demo")
    fixtures = Path(__file__).parent / "fixtures" / "kubectl_protobuf"
    config_map = bytes.fromhex((fixtures / "configmap.hex").read_text().replace("\n", ""))
    async with aiohttp.ClientSession(base_url=cluster.api.url) as session:
        code, content_type, created = await _post_protobuf(
            session, "/api/v1/namespaces/demo/configmaps", config_map
        )
        assert (code, content_type) == (201, "application/json")
        assert created["metadata"]["uid"]

        code, _, status = await _post_protobuf(
            session, "/api/v1/namespaces/demo/events", _protobuf_event("ev-1")
        )
        assert (code, status["kind"], status["reason"], status["code"]) == (
            415,
            "Status",
            "UnsupportedMediaType",
            415,
        )
        assert "Event (v1) as JSON" in status["message"]

        for malformed in (b'{"metadata": {"name": "x"}}', b"k8s\x00\x0a\x40"):
            code, _, status = await _post_protobuf(
                session, "/api/v1/namespaces/demo/configmaps", malformed
            )
            assert (code, status["kind"], status["status"], status["reason"]) == (
                400,
                "Status",
                "Failure",
                "BadRequest",
            )

    stored = await client.CoreV1Api(api).read_namespaced_config_map("c1", "demo")
    assert stored.data == {"k": "v"}
    with pytest.raises(ApiException) as missing:
        await client.CoreV1Api(api).read_namespaced_event("ev-1", "demo")
    assert missing.value.status == 404
