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
)

ALL_STREAMS: Final = (EVENTS_STREAM, STATUS_STREAM)
