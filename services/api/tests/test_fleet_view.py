"""FleetView: folding snapshots, filtering, ordering, summaries and the cached JSON view."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lc_api.runtime.fleet_view import FleetView
from lc_contracts.engine import GpuHealth
from lc_contracts.fleet import FleetSummary, GpuSnapshot
from lc_testing.gpus import snapshot


def test_new_gpu_is_a_change_from_nothing() -> None:
    view = FleetView()
    gpu = snapshot()
    change = view.apply(gpu)
    assert change is not None
    assert (change.previous, change.current) == (None, gpu)
    assert view.get("node-a", gpu.uuid) == gpu
    assert len(view) == 1


def test_reobservation_without_change_is_not_a_change() -> None:
    view = FleetView([snapshot(at=0)])
    assert view.apply(snapshot(at=9)) is None


def test_changed_gpu_reports_previous_and_current() -> None:
    before = snapshot()
    after = snapshot(health=GpuHealth.UNHEALTHY, at=1)
    view = FleetView([before])
    change = view.apply(after)
    assert change is not None
    assert (change.previous, change.current) == (before, after)
    assert view.gpus() == [after]


def test_tombstone_removes_the_gpu_and_an_unknown_tombstone_is_ignored() -> None:
    gpu = snapshot()
    view = FleetView([gpu])
    change = view.apply(gpu.tombstone(gpu.observed_at))
    assert change is not None
    assert (change.previous, change.current) == (gpu, None)
    assert view.gpus() == []
    assert len(view) == 0
    assert view.apply(snapshot(node="elsewhere", removed=True)) is None


def test_gpu_can_come_back_after_a_tombstone() -> None:
    gpu = snapshot()
    view = FleetView([gpu, gpu.tombstone(gpu.observed_at)])
    change = view.apply(snapshot(at=3))
    assert change is not None
    assert change.previous is None
    assert [g.uuid for g in view.gpus()] == [gpu.uuid]


def test_gpus_are_ordered_by_node_then_index_whatever_the_arrival_order() -> None:
    view = FleetView(
        [
            snapshot("n2", 1),
            snapshot("n10", 0),
            snapshot("n2", 0),
            snapshot("n1", 7),
            snapshot("n1", 3),
        ]
    )
    assert [(g.node, g.index) for g in view.gpus()] == [
        ("n1", 3),
        ("n1", 7),
        ("n10", 0),
        ("n2", 0),
        ("n2", 1),
    ]


def test_updating_a_gpu_keeps_its_place() -> None:
    view = FleetView([snapshot("n1", 0), snapshot("n1", 1), snapshot("n1", 2)])
    view.apply(snapshot("n1", 1, health=GpuHealth.DEGRADED, at=1))
    assert [(g.index, g.health) for g in view.gpus()] == [
        (0, GpuHealth.HEALTHY),
        (1, GpuHealth.DEGRADED),
        (2, GpuHealth.HEALTHY),
    ]


def test_two_gpus_claiming_one_index_are_both_shown() -> None:
    view = FleetView([snapshot("n1", 0, uuid="b"), snapshot("n1", 0, uuid="a")])
    assert [g.uuid for g in view.gpus()] == ["a", "b"]


@pytest.fixture
def mixed() -> FleetView:
    return FleetView(
        [
            snapshot("n1", 0, product="H100", health=GpuHealth.HEALTHY, total=80, available=80),
            snapshot("n1", 1, product="H100", health=GpuHealth.UNHEALTHY, total=80, available=0),
            snapshot("n1x", 0, product="A100", health=GpuHealth.DEGRADED, total=40, available=10),
            snapshot("n2", 0, product="A100", health=GpuHealth.HEALTHY, total=40, available=40),
        ]
    )


def test_filter_by_node_is_exact_not_a_prefix(mixed: FleetView) -> None:
    assert [(g.node, g.index) for g in mixed.gpus(node="n1")] == [("n1", 0), ("n1", 1)]
    assert [g.node for g in mixed.gpus(node="n1x")] == ["n1x"]
    assert mixed.gpus(node="n") == []
    assert mixed.gpus(node="n3") == []


def test_filter_by_health_and_product(mixed: FleetView) -> None:
    assert [(g.node, g.index) for g in mixed.gpus(health=GpuHealth.HEALTHY)] == [
        ("n1", 0),
        ("n2", 0),
    ]
    assert [g.node for g in mixed.gpus(product="A100")] == ["n1x", "n2"]
    assert mixed.gpus(product="B200") == []


def test_filters_combine(mixed: FleetView) -> None:
    assert [g.index for g in mixed.gpus(node="n1", health=GpuHealth.UNHEALTHY)] == [1]
    assert mixed.gpus(node="n1", product="A100") == []
    assert [g.node for g in mixed.gpus(product="A100", health=GpuHealth.DEGRADED)] == ["n1x"]


def test_matches_agrees_with_gpus(mixed: FleetView) -> None:
    for gpu in mixed.gpus():
        assert mixed.matches(gpu, product="A100") == (gpu.product == "A100")
        assert mixed.matches(gpu)


def test_summary_of_the_whole_fleet(mixed: FleetView) -> None:
    summary = mixed.summary()
    assert (summary.total, summary.healthy, summary.degraded, summary.unhealthy) == (4, 2, 1, 1)
    assert (summary.memory_total_mib, summary.memory_available_mib) == (240, 130)
    assert summary.by_product == {"A100": 2, "H100": 2}
    assert list(summary.by_node) == ["n1", "n1x", "n2"]
    assert summary.by_node == {"n1": 2, "n1x": 1, "n2": 1}


def test_summary_follows_the_filters(mixed: FleetView) -> None:
    summary = mixed.summary(product="H100")
    assert (summary.total, summary.healthy, summary.unhealthy) == (2, 1, 1)
    assert list(summary.by_product) == ["H100"]
    assert mixed.summary(node="nowhere") == FleetSummary()


def test_summary_wire_names() -> None:
    wire = json.loads(FleetView([snapshot()]).summary().model_dump_json(by_alias=True))
    assert set(wire) == {
        "total",
        "healthy",
        "degraded",
        "unhealthy",
        "memoryTotalMiB",
        "memoryAvailableMiB",
        "byProduct",
        "byNode",
    }
    assert wire["byNode"] == {"node-a": 1}
    assert wire["byProduct"] == {"H100": 1}


def test_groups_that_empty_out_disappear_from_the_summary() -> None:
    gpu = snapshot("n1", product="H100")
    view = FleetView([gpu, snapshot("n2", product="A100")])
    view.apply(gpu.tombstone(gpu.observed_at))
    summary = view.summary()
    assert list(summary.by_node) == ["n2"]
    assert list(summary.by_product) == ["A100"]


def test_view_json_is_the_documented_document(mixed: FleetView) -> None:
    document = json.loads(mixed.view_json())
    assert set(document) == {"gpus", "summary"}
    assert document["gpus"] == [
        json.loads(g.model_dump_json(by_alias=True, exclude_none=True)) for g in mixed.gpus()
    ]
    assert document["summary"] == json.loads(mixed.summary().model_dump_json(by_alias=True))
    filtered = json.loads(mixed.view_json(health=GpuHealth.HEALTHY))
    assert [g["node"] for g in filtered["gpus"]] == ["n1", "n2"]
    assert filtered["summary"]["total"] == 2


def test_view_json_of_an_empty_fleet() -> None:
    document = json.loads(FleetView().view_json())
    assert document["gpus"] == []
    assert document["summary"]["total"] == 0


def test_view_json_reflects_every_change_after_being_read() -> None:
    view = FleetView([snapshot()])
    assert view.view_json() == view.view_json()
    view.apply(snapshot(available=5, at=1))
    document = json.loads(view.view_json())
    assert document["gpus"][0]["memoryAvailableMiB"] == 5
    assert document["summary"]["memoryAvailableMiB"] == 5
    gone = snapshot(available=5)
    view.apply(gone.tombstone(gone.observed_at))
    assert json.loads(view.view_json())["gpus"] == []
    view.apply(snapshot("n0"))
    assert [g["node"] for g in json.loads(view.view_json())["gpus"]] == ["n0"]


# -- model check: any sequence of snapshots gives the same answers as recomputing ------------

_nodes = st.sampled_from(["n1", "n2", "n10", "n1x"])
_health = st.sampled_from(list(GpuHealth))
_products = st.sampled_from(["H100", "A100"])


@st.composite
def _snapshots(draw: st.DrawFn) -> GpuSnapshot:
    node = draw(_nodes)
    index = draw(st.integers(0, 3))
    total = draw(st.integers(0, 100))
    return snapshot(
        node,
        index,
        uuid=f"{node}-{index}-{draw(st.integers(0, 1))}",
        product=draw(_products),
        health=draw(_health),
        total=total,
        available=draw(st.integers(0, total)),
        removed=draw(st.booleans()),
        at=draw(st.integers(0, 5)),
    )


def _expected(gpus: list[GpuSnapshot]) -> FleetSummary:
    return FleetSummary(
        total=len(gpus),
        healthy=sum(g.health is GpuHealth.HEALTHY for g in gpus),
        degraded=sum(g.health is GpuHealth.DEGRADED for g in gpus),
        unhealthy=sum(g.health is GpuHealth.UNHEALTHY for g in gpus),
        memory_total_mib=sum(g.memory_total_mib for g in gpus),
        memory_available_mib=sum(g.memory_available_mib for g in gpus),
        by_product={
            p: sum(g.product == p for g in gpus) for p in sorted({g.product for g in gpus})
        },
        by_node={n: sum(g.node == n for g in gpus) for n in sorted({g.node for g in gpus})},
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(_snapshots(), max_size=40), _nodes, _health, _products)
def test_view_equals_the_latest_snapshot_of_each_gpu(
    history: list[GpuSnapshot], node: str, health: GpuHealth, product: str
) -> None:
    view = FleetView()
    latest: dict[tuple[str, str], GpuSnapshot] = {}
    for item in history:
        change = view.apply(item)
        before = latest.get(item.key)
        if item.removed:
            latest.pop(item.key, None)
            assert (change is None) == (before is None)
        else:
            latest[item.key] = item
            assert (change is None) == item.same_state(before)
    expected = sorted(latest.values(), key=lambda g: (g.node, g.index, g.uuid))
    # Equal up to observation time: an unchanged re-observation is not applied.
    assert [g.key for g in view.gpus()] == [g.key for g in expected]
    assert all(a.same_state(b) for a, b in zip(view.gpus(), expected, strict=True))
    assert view.summary() == _expected(expected)
    for filters in (
        {"node": node},
        {"health": health},
        {"product": product},
        {"node": node, "health": health, "product": product},
    ):
        wanted = [g for g in expected if all(getattr(g, k) == v for k, v in filters.items())]
        assert [g.key for g in view.gpus(**filters)] == [g.key for g in wanted]  # type: ignore[arg-type]
        assert view.summary(**filters) == _expected(wanted)  # type: ignore[arg-type]
        document = json.loads(view.view_json(**filters))  # type: ignore[arg-type]
        assert [(g["node"], g["uuid"]) for g in document["gpus"]] == [g.key for g in wanted]
        assert document["summary"]["total"] == len(wanted)
