"""The JetStream streams the platform owns, as plain data. `lc_eventstore` provisions them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from lc_contracts.subjects import ALL_EVENTS, ALL_STATUS


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    description: str
    max_msgs_per_subject: int = -1
    duplicate_window_s: float = 600.0
    max_age_s: float = 0.0  # 0 keeps messages forever
    allow_msg_ttl: bool = False  # publishers may give one message a lifespan (`Nats-TTL`)


EVENTS_STREAM: Final = StreamSpec(
    name="LC_EVENTS",
    subjects=(ALL_EVENTS,),
    description="LiquidCompute events: the audit log and the source of truth.",
)

STATUS_STREAM: Final = StreamSpec(
    name="LC_STATUS",
    subjects=(ALL_STATUS,),
    description="Latest observed snapshot per object (compacted).",
    max_msgs_per_subject=1,
    duplicate_window_s=120.0,
    allow_msg_ttl=True,
)

UNREFRESHED_STATUS_TTL_S: Final = 3600.0
"""How long LC_STATUS keeps a snapshot that nobody will refresh: a tombstone (a GPU or a
Service that is gone) or the counters of a proxy replica, which stay only while it keeps
publishing. Long enough for every live follower to read it, short enough that a
bootstrap never reads the whole history of departed objects."""

ALL_STREAMS: Final = (EVENTS_STREAM, STATUS_STREAM)
