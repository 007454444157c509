"""Who wrote what, and who held which Lease at that moment: the evidence that no standby
wrote while a leader held the lease.

Every mutating request (POST, PUT, PATCH, DELETE) the API server answers is recorded
with the client's `User-Agent` (our workers send `<worker>/<lease identity>`), its
status, and the holder of every Lease when the request arrived. The HA acceptance test
reads it through the admin API (`GET /writes`); `single_writer_violations` is its check.

Callers: `KubeApiServer` (records), `ClusterSim` and the admin API (read).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

MUTATING: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LEASE_PATH: Final = "/apis/coordination.k8s.io/"
KEPT: Final = 200_000


@dataclass(frozen=True)
class RecordedWrite:
    method: str
    path: str
    user_agent: str
    status: int
    lease_holders: Mapping[str, str]
    """`<namespace>/<name>` → holder identity, for every Lease, as the request arrived."""

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "lease_holders": dict(self.lease_holders)}


class WriteLog:
    """The last `KEPT` mutating requests, oldest first."""

    def __init__(self) -> None:
        self._writes: deque[RecordedWrite] = deque(maxlen=KEPT)

    def record(self, write: RecordedWrite) -> None:
        self._writes.append(write)

    def writes(self) -> list[RecordedWrite]:
        return list(self._writes)


def single_writer_violations(
    writes: Iterable[RecordedWrite], *, agent_prefix: str, lease: str
) -> list[RecordedWrite]:
    """Successful writes by a client `<agent_prefix><identity>` while `lease`
    (`namespace/name`) was held by another identity. Pure."""
    return [
        write
        for write in writes
        if write.user_agent.startswith(agent_prefix)
        and not write.path.startswith(LEASE_PATH)
        and write.status < 400
        and write.lease_holders.get(lease) not in (None, "", write.user_agent[len(agent_prefix) :])
    ]
