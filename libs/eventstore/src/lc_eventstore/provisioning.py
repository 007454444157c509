"""Create the platform's streams at start, idempotently, and refuse unsafe changes.

Safe changes are made in place: a stream created before it allowed per-message TTLs is
given that switch (it can be turned on, never off, and changes nothing stored).

Replicas come from `LC_STREAM_REPLICAS` (every process's settings carry it as
`stream_replicas`): 1 on one server, 3 on a JetStream cluster. A stream that exists with
another count is refused, never rescaled behind the operator's back: scaling moves every
stored event between servers, so the error names the command that does it on purpose.

Called once by every process that talks to JetStream (`lc up`, lcd, the workers).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Annotated, Final

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from pydantic import Field

from lc_contracts.streams import ALL_STREAMS, StreamSpec
from lc_eventstore.errors import StreamConfigConflict

MAX_REPLICAS: Final = 5
"""JetStream keeps at most five copies of a stream."""

StreamReplicas = Annotated[int, Field(ge=1, le=MAX_REPLICAS)]
"""The type of every settings class's `stream_replicas` (`LC_STREAM_REPLICAS`)."""


def stream_config(spec: StreamSpec, *, replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_msgs_per_subject=spec.max_msgs_per_subject,
        max_age=spec.max_age_s,
        duplicate_window=spec.duplicate_window_s,
        num_replicas=replicas,
        allow_direct=True,
        deny_delete=spec.max_msgs_per_subject < 0,
        allow_msg_ttl=spec.allow_msg_ttl or None,
    )


def incompatibilities(existing: StreamConfig, wanted: StreamConfig) -> list[str]:
    """Differences we will not paper over: changing them could lose or hide events."""
    problems = []
    if existing.storage != wanted.storage:
        problems.append(f"storage is {existing.storage}, expected {wanted.storage}")
    if existing.retention != wanted.retention:
        problems.append(f"retention is {existing.retention}, expected {wanted.retention}")
    if sorted(existing.subjects or []) != sorted(wanted.subjects or []):
        problems.append(f"subjects are {existing.subjects}, expected {wanted.subjects}")
    if existing.max_msgs_per_subject != wanted.max_msgs_per_subject:
        problems.append(
            f"max_msgs_per_subject is {existing.max_msgs_per_subject}, "
            f"expected {wanted.max_msgs_per_subject}"
        )
    if (existing.max_age or 0) != (wanted.max_age or 0):
        problems.append(f"max_age is {existing.max_age}, expected {wanted.max_age}")
    if (existing.num_replicas or 1) != (wanted.num_replicas or 1):
        problems.append(
            f"replicas are {existing.num_replicas or 1}, LC_STREAM_REPLICAS asks for "
            f"{wanted.num_replicas}: scale it on purpose with `nats stream edit "
            f"{existing.name} --replicas {wanted.num_replicas}` (JetStream copies the data), "
            f"or set LC_STREAM_REPLICAS={existing.num_replicas or 1}"
        )
    return problems


async def provision_streams(
    js: JetStreamContext, specs: Iterable[StreamSpec] = ALL_STREAMS, *, replicas: int = 1
) -> None:
    """Create missing streams with `replicas` copies; leave matching ones; raise
    StreamConfigConflict on a mismatch (a different replica count included)."""
    for spec in specs:
        wanted = stream_config(spec, replicas=replicas)
        try:
            info = await js.stream_info(spec.name)
        except NotFoundError:
            await js.add_stream(wanted)
            continue
        problems = incompatibilities(info.config, wanted)
        if problems:
            raise StreamConfigConflict(
                f"stream {spec.name} exists with other settings ({'; '.join(problems)}); "
                "migrate it by hand or point the platform at another NATS account"
            )
        if spec.allow_msg_ttl and not info.config.allow_msg_ttl:
            await js.update_stream(replace(info.config, allow_msg_ttl=True))
