"""The pure routing core: table building, least-outstanding choice, ejection."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lc_contracts.specs import Endpoint
from lc_contracts.status import Replica, ServicePhase, ServiceStatus
from lc_proxy.routing import (
    EndpointNotEnabled,
    ModelNotFound,
    RoutingTable,
    is_routable,
    route,
)

ALL = [Endpoint.CHAT_COMPLETIONS, Endpoint.COMPLETIONS, Endpoint.EMBEDDINGS]
NOW = 1000.0


def status(
    service: str,
    model: str | None,
    urls: list[str],
    *,
    phase: ServicePhase = ServicePhase.READY,
    project: str = "p",
    endpoints: list[Endpoint] = ALL,
) -> ServiceStatus:
    return ServiceStatus(
        project_slug=project,
        service_name=service,
        phase=phase,
        model_name=model,
        endpoints=endpoints,
        replicas=[Replica(name=f"{service}-{i}", url=u) for i, u in enumerate(urls)],
        ready_replicas=len(urls) if phase is ServicePhase.READY else 0,
        observed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_only_ready_services_with_replicas_are_routable() -> None:
    assert is_routable(status("a", "m", ["http://r1"]))
    assert not is_routable(status("a", "m", []))
    assert not is_routable(status("a", None, ["http://r1"]))
    for phase in (
        ServicePhase.PENDING,
        ServicePhase.DEPLOYING,
        ServicePhase.FAILED,
        ServicePhase.DELETED,
    ):
        assert not is_routable(status("a", "m", ["http://r1"], phase=phase))


def test_unknown_model_and_disabled_endpoint_are_errors() -> None:
    table = RoutingTable()
    table.apply(status("a", "m", ["http://r1"], endpoints=[Endpoint.CHAT_COMPLETIONS]))
    with pytest.raises(ModelNotFound):
        route(table, "other", Endpoint.CHAT_COMPLETIONS, NOW)
    with pytest.raises(EndpointNotEnabled):
        route(table, "m", Endpoint.EMBEDDINGS, NOW)
    assert route(table, "m", None, NOW).url == "http://r1"


def test_services_with_the_same_model_pool_their_replicas_and_keep_their_endpoints() -> None:
    table = RoutingTable()
    table.apply(status("a", "m", ["http://r1"], endpoints=[Endpoint.CHAT_COMPLETIONS]))
    table.apply(status("b", "m", ["http://r2"], project="q", endpoints=[Endpoint.EMBEDDINGS]))
    entry = table.get("m")
    assert entry is not None
    assert entry.owners == ("p/a", "q/b")
    assert entry.endpoints == {Endpoint.CHAT_COMPLETIONS, Endpoint.EMBEDDINGS}
    for _ in range(5):
        chosen = route(table, "m", Endpoint.EMBEDDINGS, NOW)
        table.release(chosen)
        assert chosen.url == "http://r2"


def test_a_failed_snapshot_removes_only_that_services_replicas() -> None:
    table = RoutingTable()
    table.apply(status("a", "m", ["http://r1"]))
    table.apply(status("b", "m", ["http://r2"]))
    table.apply(status("a", "m", ["http://r1"], phase=ServicePhase.FAILED))
    entry = table.get("m")
    assert entry is not None
    assert [s.url for s, _ in entry.replicas] == ["http://r2"]
    table.apply(status("b", "m", [], phase=ServicePhase.DELETED))
    assert table.get("m") is None
    assert table.models() == []
    assert table.replica("http://r1") is None


def test_renaming_the_model_of_a_service_moves_its_replicas() -> None:
    table = RoutingTable()
    table.apply(status("a", "old", ["http://r1"]))
    table.apply(status("a", "new", ["http://r1"]))
    assert [m.model for m in table.models()] == ["new"]


def test_balancing_state_survives_a_new_snapshot_of_the_same_replica() -> None:
    table = RoutingTable()
    table.apply(status("a", "m", ["http://r1", "http://r2"]))
    busy = route(table, "m", Endpoint.CHAT_COMPLETIONS, NOW)
    table.apply(status("a", "m", ["http://r1", "http://r2"]))
    assert table.replica(busy.url) is busy
    assert busy.outstanding == 1
    other = route(table, "m", Endpoint.CHAT_COMPLETIONS, NOW)
    assert other is not busy


def test_ties_are_broken_round_robin() -> None:
    table = RoutingTable()
    table.apply(status("a", "m", ["http://r1", "http://r2", "http://r3"]))
    seen = []
    for _ in range(6):
        chosen = route(table, "m", None, NOW)
        table.release(chosen)
        seen.append(chosen.url)
    assert sorted(set(seen)) == ["http://r1", "http://r2", "http://r3"]
    assert seen[:3] == seen[3:]


def test_repeated_failures_eject_for_the_cool_down_and_success_resets() -> None:
    table = RoutingTable(eject_after=3, cooldown_s=10.0)
    table.apply(status("a", "m", ["http://r1", "http://r2"]))
    bad = table.replica("http://r1")
    good = table.replica("http://r2")
    assert bad is not None
    assert good is not None
    assert not table.record_failure(bad, NOW)
    assert not table.record_failure(bad, NOW)
    table.record_success(bad)
    assert not table.record_failure(bad, NOW)
    assert not table.record_failure(bad, NOW)
    assert table.record_failure(bad, NOW)
    for _ in range(5):
        chosen = route(table, "m", None, NOW + 1)
        assert chosen is good
    assert route(table, "m", None, NOW + 10.5) is bad  # back after the cool-down, least loaded


def test_when_every_replica_is_ejected_the_least_loaded_is_used_anyway() -> None:
    table = RoutingTable(eject_after=1, cooldown_s=10.0)
    table.apply(status("a", "m", ["http://r1", "http://r2"]))
    r1, r2 = table.replica("http://r1"), table.replica("http://r2")
    assert r1 is not None
    assert r2 is not None
    table.record_failure(r1, NOW)
    table.record_failure(r2, NOW)
    r1.outstanding = 3
    assert route(table, "m", None, NOW) is r2


def test_excluded_replicas_are_skipped_unless_nothing_else_can_serve() -> None:
    table = RoutingTable()
    table.apply(status("a", "m", ["http://r1", "http://r2"]))
    r1 = table.replica("http://r1")
    assert r1 is not None
    for _ in range(4):
        chosen = route(table, "m", None, NOW, exclude=[r1])
        table.release(chosen)
        assert chosen.url == "http://r2"
    table.apply(status("a", "m", ["http://r1"]))
    assert route(table, "m", None, NOW, exclude=[r1]) is r1


def test_release_never_goes_below_zero() -> None:
    table = RoutingTable()
    table.apply(status("a", "m", ["http://r1"]))
    chosen = route(table, "m", None, NOW)
    table.release(chosen)
    table.release(chosen)
    assert chosen.outstanding == 0


# -- properties ------------------------------------------------------------------------

URLS = [f"http://r{i}" for i in range(5)]
snapshots = st.builds(
    status,
    service=st.sampled_from(["a", "b", "c"]),
    model=st.sampled_from(["m1", "m2", None]),
    urls=st.lists(st.sampled_from(URLS), unique=True, max_size=3),
    phase=st.sampled_from(list(ServicePhase)),
    project=st.sampled_from(["p", "q"]),
    endpoints=st.lists(st.sampled_from(ALL), unique=True, min_size=1),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(snapshots, max_size=12))
def test_the_table_equals_the_latest_routable_snapshot_of_each_service(
    history: list[ServiceStatus],
) -> None:
    table = RoutingTable()
    latest: dict[tuple[str, str], ServiceStatus] = {}
    for snapshot in history:
        table.apply(snapshot)
        latest[(snapshot.project_slug, snapshot.service_name)] = snapshot
    expected: dict[str, set[str]] = {}
    for snapshot in latest.values():
        if is_routable(snapshot):
            assert snapshot.model_name is not None
            expected.setdefault(snapshot.model_name, set()).update(r.url for r in snapshot.replicas)
    assert {m.model: {s.url for s, _ in m.replicas} for m in table.models()} == expected


@settings(max_examples=300, deadline=None)
@given(
    loads=st.lists(st.integers(0, 20), min_size=1, max_size=5),
    ejected=st.lists(st.booleans(), min_size=5, max_size=5),
    turn=st.integers(0, 100),
)
def test_route_picks_a_least_loaded_healthy_replica(
    loads: list[int], ejected: list[bool], turn: int
) -> None:
    table = RoutingTable(eject_after=1, cooldown_s=5.0)
    urls = URLS[: len(loads)]
    table.apply(status("a", "m", urls))
    states = [table.replica(u) for u in urls]
    healthy = []
    for state, load, out in zip(states, loads, ejected, strict=False):
        assert state is not None
        state.outstanding = load
        if out:
            table.record_failure(state, NOW)
        else:
            healthy.append(state)
    table._turn = turn
    pool = healthy or [s for s in states if s is not None]
    before = {id(s): s.outstanding for s in pool}
    chosen = route(table, "m", Endpoint.CHAT_COMPLETIONS, NOW + 1)
    assert chosen in pool
    assert before[id(chosen)] == min(before.values())
    assert chosen.outstanding == before[id(chosen)] + 1


@settings(max_examples=100, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=60))
def test_concurrent_requests_stay_balanced(finish_first: list[bool]) -> None:
    """Whatever the order requests finish in, loads never differ by more than one."""
    table = RoutingTable()
    table.apply(status("a", "m", URLS[:3]))
    open_requests = []
    for finish in finish_first:
        if finish and open_requests:
            table.release(open_requests.pop(0))
        else:
            open_requests.append(route(table, "m", None, NOW))
        loads = [s.outstanding for s, _ in table.get("m").replicas]  # type: ignore[union-attr]
        assert max(loads) - min(loads) <= 1 or not open_requests
