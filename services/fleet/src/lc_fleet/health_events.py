"""Decide when a GPU's health changed, and name the event that records it.

Who calls it: `status_publisher` for every snapshot it is about to publish. Pure.

A transition is a change of health between the last published snapshot of a GPU and the
new one. A GPU seen for the first time is a transition only when it is not Healthy (a
fleet that starts up healthy says nothing). A tombstone keeps the GPU's last health, so
a GPU that comes back as it left is not a transition either.
"""

from __future__ import annotations

import uuid
from typing import Final

from lc_contracts.engine import GpuHealth
from lc_contracts.events import GpuHealthChanged
from lc_contracts.fleet import GpuSnapshot

# Event ids are uuid5 in this namespace, so the same observation always yields the same id
# (and JetStream drops a re-send of it as a duplicate).
HEALTH_EVENT_NAMESPACE: Final = uuid.UUID("8d0f6f0e-4b8e-5c3a-9a57-6c1f2b0e7d41")


def health_transition(
    previous: GpuSnapshot | None, current: GpuSnapshot
) -> GpuHealthChanged | None:
    """The `gpu.health_changed` payload if `current` changes the GPU's health, else None."""
    before = previous.health if previous is not None else None
    if current.removed or before == current.health:
        return None
    if before is None and current.health is GpuHealth.HEALTHY:
        return None
    return GpuHealthChanged(
        node=current.node,
        uuid=current.uuid,
        index=current.index,
        product=current.product,
        previous=before,
        current=current.health,
    )


def health_event_id(change: GpuHealthChanged, resource_version: str) -> str:
    """Deterministic id of the event recording `change` as seen at `resource_version`."""
    name = f"{change.node}/{change.uuid}/{resource_version}/{change.current.value}"
    return str(uuid.uuid5(HEALTH_EVENT_NAMESPACE, name))
