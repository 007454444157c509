"""Aggregates the engine's GPU resources into the fleet view.

`run(settings)` watches the engine's GPU and Model objects and publishes one snapshot per
GPU on LC_STATUS (`lc.status.gpu.<node>.<uuid>`) when it changes, plus
`gpu.health_changed` events on LC_EVENTS for health transitions.
"""

from lc_fleet.main import run
from lc_fleet.settings import FleetSettings

__all__ = ["FleetSettings", "run"]
