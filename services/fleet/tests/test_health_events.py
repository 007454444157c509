"""Health transitions: when an event is due, and its deterministic id."""

from __future__ import annotations

from lc_contracts.engine import GpuHealth
from lc_fleet.health_events import health_event_id, health_transition

from .gpu_factory import snapshot

H, D, U = GpuHealth.HEALTHY, GpuHealth.DEGRADED, GpuHealth.UNHEALTHY


def test_change_of_health_is_a_transition() -> None:
    change = health_transition(snapshot(health=H), snapshot(health=U, index=0))
    assert change is not None
    assert (change.previous, change.current) == (H, U)
    assert (change.node, change.uuid, change.index, change.product) == (
        "node-a",
        "GPU-node-a-0",
        0,
        "H100",
    )


def test_same_health_is_not_a_transition_even_if_the_rest_changed() -> None:
    assert health_transition(snapshot(health=D), snapshot(health=D, available=1)) is None


def test_first_sight_is_a_transition_only_when_not_healthy() -> None:
    assert health_transition(None, snapshot(health=H)) is None
    change = health_transition(None, snapshot(health=D))
    assert change is not None
    assert (change.previous, change.current) == (None, D)


def test_tombstones_keep_the_last_health() -> None:
    gone = snapshot(health=U).tombstone(snapshot().observed_at)
    assert health_transition(snapshot(health=U), gone) is None
    assert health_transition(gone, snapshot(health=U)) is None
    change = health_transition(gone, snapshot(health=H))
    assert change is not None
    assert (change.previous, change.current) == (U, H)


def test_event_id_is_deterministic_per_observation() -> None:
    change = health_transition(snapshot(health=H), snapshot(health=U))
    other = health_transition(snapshot(health=U), snapshot(health=H))
    assert change is not None
    assert other is not None
    assert health_event_id(change, "7") == health_event_id(change, "7")
    assert health_event_id(change, "7") != health_event_id(change, "8")
    assert health_event_id(change, "7") != health_event_id(other, "7")
