"""Where a subscription's durable JetStream consumer starts, and creating it there.

The consumer (`lc-webhook-<id>` on LC_EVENTS, explicit ack-all) is the subscription's
position: everything up to its ack floor was delivered. Every time a courier starts it
recreates the consumer from that floor (so an event left unacknowledged by a killed
worker comes first again, in order; a consumer with nothing unacknowledged is kept as it
is), or from a replay request not yet applied: the
consumer's metadata holds the sequence of the last replay it applied, and while a
replay with `until` runs, that time and the position to resume at.

Callers: the courier.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, ConsumerInfo, DeliverPolicy
from nats.js.errors import NotFoundError

from lc_contracts.streams import EVENTS_STREAM
from lc_contracts.subjects import ALL_EVENTS
from lc_eventstore import stream_position
from lc_webhooks.selection import Subscription

ACK_WAIT_S = 3600.0
REPLAY_APPLIED = "lc-replay"
RESUME_AT = "lc-resume-at"
UNTIL = "lc-until"


PREFIX = "lc-webhook-"
# The server adds its own metadata to every consumer (`_nats.ver`, `_nats.level`, ...).
SERVER_METADATA = "_nats."


def consumer_name(subscription_id: str) -> str:
    return f"{PREFIX}{subscription_id}"


@dataclass(frozen=True)
class Position:
    start: int
    replay_applied: int | None = None
    # While a replay with an end time runs: events after `until` are skipped until the
    # stream reaches `resume_at`, where the subscription was before the replay.
    until: datetime | None = None
    resume_at: int | None = None

    def skips(self, seq: int, time: datetime) -> bool:
        if self.until is None or self.resume_at is None or seq >= self.resume_at:
            return False
        return time > self.until


async def first_seq_since(js: JetStreamContext, since: datetime) -> int:
    """The sequence of the first event at or after `since` (past the end: last + 1)."""
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_TIME,
        opt_start_time=since,
        ack_policy=AckPolicy.NONE,
        inactive_threshold=10.0,
        mem_storage=True,
        num_replicas=1,
    )
    psub = await js.pull_subscribe(ALL_EVENTS, stream=EVENTS_STREAM.name, config=config)
    try:
        msgs = await psub.fetch(1, timeout=1.0)
        return stream_position(msgs[0].reply)[0]
    except (NatsTimeoutError, TimeoutError):
        info = await js.stream_info(EVENTS_STREAM.name)
        return int(info.state.last_seq) + 1
    finally:
        with contextlib.suppress(Exception):
            await psub.unsubscribe()


async def _info(js: JetStreamContext, name: str) -> ConsumerInfo | None:
    try:
        info: ConsumerInfo = await js.consumer_info(EVENTS_STREAM.name, name)
    except NotFoundError:
        return None
    return info


def _kept(info: ConsumerInfo | None, sub: Subscription) -> Position:
    """Where the existing consumer (or a new subscription) stands."""
    if info is None:
        return Position(start=sub.start_seq)
    meta = info.config.metadata or {}
    floor = info.ack_floor.stream_seq if info.ack_floor else 0
    start = max(floor + 1, info.config.opt_start_seq or 1)
    applied = int(meta[REPLAY_APPLIED]) if REPLAY_APPLIED in meta else None
    resume_at = int(meta[RESUME_AT]) if RESUME_AT in meta else None
    until = datetime.fromisoformat(meta[UNTIL]) if UNTIL in meta else None
    if resume_at is not None and start >= resume_at:
        until = resume_at = None
    return Position(start, applied, until, resume_at)


def ours(metadata: dict[str, str] | None) -> dict[str, str] | None:
    """A consumer's metadata without the keys the server adds; None when nothing is left."""
    kept = {k: v for k, v in (metadata or {}).items() if not k.startswith(SERVER_METADATA)}
    return kept or None


def _already_there(
    info: ConsumerInfo, position: Position, meta: dict[str, str] | None, batch: int
) -> bool:
    """The consumer would be recreated as it is: nothing delivered and unacknowledged (which
    only a new consumer sends again), its next event is `position.start`, same settings."""
    floor = info.ack_floor.stream_seq if info.ack_floor else 0
    delivered = info.delivered.stream_seq if info.delivered else 0
    return (
        not info.num_ack_pending
        and delivered <= floor
        and position.start == max(floor + 1, info.config.opt_start_seq or 1)
        and info.config.max_ack_pending == batch
        and ours(info.config.metadata) == meta
    )


async def place(js: JetStreamContext, sub: Subscription, batch: int) -> Position | None:
    """(Re)create the subscription's consumer where it must start; that position. None for
    a subscription deleted with its project that has no consumer left: it has ended."""
    name = consumer_name(sub.id)
    info = await _info(js, name)
    if info is None and sub.ends_at is not None:
        return None
    position = _kept(info, sub)
    replay = sub.replay
    if replay is not None and (position.replay_applied or 0) < replay.seq:
        if replay.from_sequence is not None:
            start = replay.from_sequence
        else:
            assert replay.since is not None
            start = await first_seq_since(js, replay.since)
        position = Position(
            start=start,
            replay_applied=replay.seq,
            until=replay.until,
            resume_at=position.start if replay.until is not None else None,
        )
    meta: dict[str, str] = {}
    if position.replay_applied is not None:
        meta[REPLAY_APPLIED] = str(position.replay_applied)
    if position.until is not None and position.resume_at is not None:
        meta[UNTIL] = position.until.isoformat()
        meta[RESUME_AT] = str(position.resume_at)
    if info is not None and _already_there(info, position, meta or None, batch):
        return position
    if info is not None:
        await js.delete_consumer(EVENTS_STREAM.name, name)
    await js.add_consumer(
        EVENTS_STREAM.name,
        ConsumerConfig(
            durable_name=name,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=max(1, position.start),
            ack_policy=AckPolicy.ALL,
            ack_wait=ACK_WAIT_S,
            max_ack_pending=batch,
            filter_subject=ALL_EVENTS,
            metadata=meta or None,
        ),
    )
    return position


async def forget(js: JetStreamContext, subscription_id: str) -> None:
    with contextlib.suppress(NotFoundError):
        await js.delete_consumer(EVENTS_STREAM.name, consumer_name(subscription_id))


async def forget_all_but(
    js: JetStreamContext, keep: set[str], mine: Callable[[str], bool] = lambda _: True
) -> list[str]:
    """Delete the consumers of subscriptions not in `keep` (deleted while no worker ran)
    among those `mine` says are this process's; the ids whose consumers went."""
    gone: list[str] = []
    offset = 0
    while True:
        infos = await js.consumers_info(EVENTS_STREAM.name, offset=offset)
        for info in infos:
            name = info.name or ""
            sub_id = name.removeprefix(PREFIX)
            if name.startswith(PREFIX) and sub_id not in keep and mine(sub_id):
                await forget(js, sub_id)
                gone.append(sub_id)
        if len(infos) < 256:
            return gone
        offset += len(infos)
