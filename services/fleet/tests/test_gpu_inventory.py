"""The GPU inventory marks exactly the GPUs that need a new look."""

from __future__ import annotations

from lc_fleet.gpu_inventory import GpuInventory

from .gpu_factory import gpu_object


def test_new_and_changed_objects_are_pending_once() -> None:
    inventory = GpuInventory()
    inventory.upsert(gpu_object("g0", rv=1))
    assert inventory.take_pending() == {("node-a", "GPU-g0")}
    assert inventory.take_pending() == set()
    inventory.upsert(gpu_object("g0", rv=1))
    assert not inventory.has_pending
    inventory.upsert(gpu_object("g0", rv=2, status={"health": "Unhealthy"}))
    assert inventory.take_pending() == {("node-a", "GPU-g0")}
    assert inventory.get(("node-a", "GPU-g0"))["status"] == {"health": "Unhealthy"}  # type: ignore[index]


def test_deleted_object_is_pending_and_gone() -> None:
    inventory = GpuInventory()
    obj = gpu_object("g0")
    inventory.upsert(obj)
    inventory.take_pending()
    inventory.delete(obj)
    assert inventory.take_pending() == {("node-a", "GPU-g0")}
    assert inventory.get(("node-a", "GPU-g0")) is None
    assert len(inventory) == 0


def test_relist_marks_only_differences() -> None:
    inventory = GpuInventory()
    inventory.replace([gpu_object("a", rv=1), gpu_object("b", rv=1), gpu_object("c", rv=1)])
    assert len(inventory.take_pending()) == 3
    inventory.replace([gpu_object("a", rv=1), gpu_object("b", rv=5), gpu_object("d", rv=6)])
    assert inventory.take_pending() == {
        ("node-a", "GPU-b"),
        ("node-a", "GPU-c"),
        ("node-a", "GPU-d"),
    }
    assert inventory.get(("node-a", "GPU-c")) is None
    assert len(inventory) == 3


def test_moving_an_object_to_another_identity_leaves_the_old_one_pending() -> None:
    inventory = GpuInventory()
    inventory.upsert(gpu_object("g", node="n1", uuid="U", rv=1))
    inventory.take_pending()
    inventory.upsert(gpu_object("g", node="n2", uuid="U", rv=2))
    assert inventory.take_pending() == {("n1", "U"), ("n2", "U")}
    assert inventory.get(("n1", "U")) is None


def test_invalid_object_drops_what_its_name_held() -> None:
    inventory = GpuInventory()
    inventory.upsert(gpu_object("g", rv=1))
    inventory.take_pending()
    broken = gpu_object("g", rv=2)
    broken["spec"]["node"] = ""
    inventory.upsert(broken)
    assert inventory.take_pending() == {("node-a", "GPU-g")}
    assert len(inventory) == 0


def test_owner_changes_mark_the_gpus_holding_the_model() -> None:
    inventory = GpuInventory()
    inventory.upsert(gpu_object("a", status={"allocations": ["demo/chat"]}))
    inventory.upsert(gpu_object("b", status={"allocations": [{"model": "demo/chat"}, "x/y"]}))
    inventory.upsert(gpu_object("c"))
    inventory.take_pending()
    inventory.models_changed({"demo/chat"})
    assert inventory.take_pending() == {("node-a", "GPU-a"), ("node-a", "GPU-b")}
    inventory.upsert(gpu_object("b", rv=2, status={"allocations": ["x/y"]}))
    inventory.take_pending()
    inventory.models_changed({"demo/chat"})
    assert inventory.take_pending() == {("node-a", "GPU-a")}
    inventory.models_changed({"nobody/uses"})
    assert not inventory.has_pending


def test_mark_pending_retries() -> None:
    inventory = GpuInventory()
    inventory.mark_pending([("n", "u")])
    assert inventory.take_pending() == {("n", "u")}
