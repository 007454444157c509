"""What a reconcile may delete, and what it must leave and report. Pure.

Callers: the reconcile worker (per service) and the resync (to count what it would
delete, for the deletion guard, and to find orphans).

Knowing nothing is not a reason to delete. Only the stream's own word prunes:
- a service the stream says is gone (its `service.deleted`, or its project's
  `project.deleted`): every object of it goes, its `/workspace` PVC included;
- a live service: an object it no longer compiles goes when it is labelled with a
  revision the reconciler has read (at most the current one). An object labelled with a
  newer revision was written by a reconciler further along the stream and is left to it;
  one with no readable revision is left alone. A PVC is never pruned from a live service:
  it holds the user's data and goes only with the service;
- a service with no history (an empty or replaced stream, an event this code cannot
  read): nothing goes. Its objects are orphans, reported until an operator adopts them
  (kept, no longer reported) or asks for their deletion (then they go).
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass
from typing import Final

from lc_reconciler.domain.desired_state import DesiredState, OrphanId, ServiceKey
from lc_reconciler.domain.objects import ObjectRef

WORKSPACE_KIND: Final = "PersistentVolumeClaim"


@dataclass(frozen=True, order=True)
class LiveObject:
    """An object found with our labels: its identity, revision label and uid."""

    ref: ObjectRef
    revision: str = ""
    uid: str = ""

    @property
    def orphan_id(self) -> OrphanId:
        return (self.ref.api_version, self.ref.kind, self.ref.namespace, self.ref.name)


@dataclass(frozen=True)
class PrunePlan:
    delete: tuple[ObjectRef, ...] = ()
    orphans: tuple[LiveObject, ...] = ()


def _revision(label: str) -> int | None:
    return int(label) if label.isdigit() else None


def plan_prune(
    state: DesiredState, key: ServiceKey, wanted: Set[ObjectRef], live: Iterable[LiveObject]
) -> PrunePlan:
    """Which of `live` (the objects labelled for service `key`) go, and which are orphans.

    `wanted` is what the service compiles to now (empty unless it is live).
    """
    extra = sorted(obj for obj in live if obj.ref not in wanted)
    if state.is_gone(key):
        return PrunePlan(delete=tuple(obj.ref for obj in extra))
    if state.is_live(key):
        known = state.services[key].revision
        superseded = []
        for obj in extra:
            revision = _revision(obj.revision)
            if obj.ref.kind == WORKSPACE_KIND or revision is None or revision > known:
                continue
            superseded.append(obj.ref)
        return PrunePlan(delete=tuple(superseded))
    requested = tuple(obj.ref for obj in extra if obj.orphan_id in state.deletion_requested)
    orphans = tuple(
        obj
        for obj in extra
        if obj.orphan_id not in state.deletion_requested and obj.orphan_id not in state.adopted
    )
    return PrunePlan(delete=requested, orphans=orphans)


@dataclass(frozen=True)
class PruneGuard:
    """A resync may delete at most `share` of the managed objects (and always `floor`).

    The second line of defence: a stream that says most of the cluster is gone is more
    likely a wrong stream than a wish, so the resync stops and reports instead.
    """

    share: float = 0.5
    floor: int = 20

    def allows(self, deletions: int, managed: int) -> bool:
        return self.share >= 1 or deletions <= max(self.floor, self.share * managed)
