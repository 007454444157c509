"""Snapshots of a worker's folded state, kept in a NATS object store next to the log.

Who calls it: the workers that fold LC_EVENTS into memory (the reconciler, the domain
verifier). At start a worker `load`s its latest snapshot and folds only the tail after
`snapshot.seq`; while it runs, and on a clean shutdown, it `save`s a new one. The state
itself is opaque bytes here: each worker's domain package owns its pure encoding.

A snapshot names what it covers: the stream (its name and creation time), the last
sequence folded into it, and the state's format. `load` returns None, and logs why, for
anything it cannot trust, so the worker folds from sequence 1 instead:

    no snapshot yet                   (info)
    unreadable: bad header, bad digest, NATS error while reading  (warning)
    another format of the state       (warning; DESIGN §4: an old snapshot is not upcast, it is rebuilt)
    another stream: other name, other creation time (a replaced stream), or a sequence
    past the stream's end             (warning)

An object store rather than a key-value bucket: a key-value entry is one message, capped by
the server's max_payload (1 MiB by default), and a reconciler's state of many services
outgrows that; the object store chunks it and checks its SHA-256 digest on the way back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from nats.js import JetStreamContext
from nats.js.api import ObjectStoreConfig, StorageType
from nats.js.errors import BucketNotFoundError, NotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from lc_contracts.streams import EVENTS_STREAM

log = logging.getLogger("lc_eventstore.snapshots")

BUCKET: Final = "LC_SNAPSHOTS"
ENVELOPE: Final = "lc.snapshot/1"
"""Version of the layout below (header line, then the zlib-compressed state)."""


@dataclass(frozen=True)
class StreamIdentity:
    """Which stream a snapshot was folded from: a stream deleted and created again under
    the same name has another creation time, and its sequences mean other events."""

    name: str
    created: str
    """The stream's creation time as the server reports it (ISO 8601, UTC)."""


@dataclass(frozen=True)
class Snapshot:
    stream: StreamIdentity
    seq: int
    """The last stream sequence folded into `state`; the tail starts after it."""
    format: str
    """The state's format, chosen by the worker (`reconciler.desired-state/1`)."""
    state: bytes
    written_at: datetime


class SnapshotUnreadable(ValueError):
    """The bytes are not a snapshot this code can read."""


def encode_snapshot(snapshot: Snapshot) -> bytes:
    header = {
        "envelope": ENVELOPE,
        "stream": snapshot.stream.name,
        "streamCreated": snapshot.stream.created,
        "seq": snapshot.seq,
        "format": snapshot.format,
        "writtenAt": snapshot.written_at.isoformat(),
    }
    return json.dumps(header).encode() + b"\n" + zlib.compress(snapshot.state, 1)


def decode_snapshot(data: bytes) -> Snapshot:
    head, newline, body = data.partition(b"\n")
    if not newline:
        raise SnapshotUnreadable("no header line")
    try:
        header: Any = json.loads(head)
        if not isinstance(header, dict) or header.get("envelope") != ENVELOPE:
            raise SnapshotUnreadable(f"not a {ENVELOPE} snapshot")
        return Snapshot(
            stream=StreamIdentity(str(header["stream"]), str(header["streamCreated"])),
            seq=int(header["seq"]),
            format=str(header["format"]),
            state=zlib.decompress(body),
            written_at=datetime.fromisoformat(header["writtenAt"]),
        )
    except SnapshotUnreadable:
        raise
    except (ValueError, KeyError, TypeError, zlib.error) as exc:
        raise SnapshotUnreadable(f"bad snapshot: {exc!r}") from None


async def stream_identity(
    js: JetStreamContext, stream: str = EVENTS_STREAM.name
) -> tuple[StreamIdentity, int]:
    """The stream's identity and its last sequence now."""
    info = await js.stream_info(stream)
    created = info.created.astimezone(UTC).isoformat() if info.created else ""
    return StreamIdentity(stream, created), int(info.state.last_seq)


class SnapshotStore:
    """The snapshots of one bucket, one object per worker (`key`)."""

    def __init__(self, js: JetStreamContext, *, bucket: str = BUCKET, replicas: int = 1) -> None:
        self._js = js
        self._bucket = bucket
        self._replicas = replicas
        self._store: ObjectStore | None = None

    async def _objects(self) -> ObjectStore:
        if self._store is None:
            try:
                self._store = await self._js.object_store(self._bucket)
            except BucketNotFoundError:
                self._store = await self._js.create_object_store(
                    self._bucket,
                    ObjectStoreConfig(
                        description="Workers' folded state, so a restart folds only the tail.",
                        storage=StorageType.FILE,
                        replicas=self._replicas,
                    ),
                )
        return self._store

    async def save(self, key: str, snapshot: Snapshot) -> None:
        await (await self._objects()).put(key, encode_snapshot(snapshot))

    async def load(
        self, key: str, *, format: str, stream: StreamIdentity, last_seq: int
    ) -> Snapshot | None:
        """The latest snapshot under `key` if it can be trusted for `stream` (whose last
        sequence is `last_seq` now) and `format`; None, logged, otherwise."""
        fields = {"snapshot": key, "bucket": self._bucket}
        try:
            result = await (await self._objects()).get(key)
            snapshot = decode_snapshot(result.data or b"")
        except (ObjectNotFoundError, NotFoundError):
            log.info("no snapshot yet; folding from sequence 1", extra=fields)
            return None
        except Exception as exc:  # a bad digest, a bad header, NATS failing mid-read
            log.warning(
                "snapshot unreadable; folding from sequence 1",
                extra={**fields, "error": repr(exc)[:300]},
            )
            return None
        reason = _untrusted(snapshot, format=format, stream=stream, last_seq=last_seq)
        if reason is not None:
            log.warning(
                "snapshot ignored (%s); folding from sequence 1",
                reason,
                extra={**fields, "snapshot_seq": snapshot.seq},
            )
            return None
        return snapshot


def _untrusted(
    snapshot: Snapshot, *, format: str, stream: StreamIdentity, last_seq: int
) -> str | None:
    if snapshot.format != format:
        return f"its format is {snapshot.format!r}, this worker reads {format!r}"
    if snapshot.stream != stream:
        return (
            f"it comes from stream {snapshot.stream.name} created {snapshot.stream.created}, "
            f"not {stream.name} created {stream.created}"
        )
    if snapshot.seq > last_seq:
        return f"it covers sequence {snapshot.seq}, past the stream's last {last_seq}"
    return None


@dataclass(frozen=True)
class SnapshotPolicy:
    """When a worker writes its next snapshot: once `every` sequences were folded since the
    last one, or `interval_s` after it if anything was folded at all."""

    every: int = 10_000
    interval_s: float = 300.0

    def due(self, *, position: int, saved_seq: int, saved_at: float, now: float) -> bool:
        if position <= saved_seq:
            return False
        return position - saved_seq >= self.every or now - saved_at >= self.interval_s


CHECK_EVERY_S: Final = 1.0


class SnapshotWriter:
    """Writes one worker's snapshots: when the policy says so, and when asked (shutdown).

    `position()` is the last sequence folded; `encode()` the folded state as bytes. Both
    are called one after the other with no await between, so they agree. `on_saved` hears
    of each snapshot written (metrics).
    """

    def __init__(
        self,
        store: SnapshotStore,
        key: str,
        *,
        format: str,
        stream: StreamIdentity,
        position: Callable[[], int],
        encode: Callable[[], bytes],
        policy: SnapshotPolicy,
        saved_seq: int = 0,
        on_saved: Callable[[Snapshot], None] = lambda snapshot: None,
    ) -> None:
        self._store = store
        self._key = key
        self._format = format
        self._stream = stream
        self._position = position
        self._encode = encode
        self._policy = policy
        self._on_saved = on_saved
        self.saved_seq = saved_seq
        self._saved_at = time.monotonic()

    async def run(self) -> None:
        """Save whenever due, until cancelled. A failed save is logged and tried again."""
        while True:
            await asyncio.sleep(CHECK_EVERY_S)
            due = self._policy.due(
                position=self._position(),
                saved_seq=self.saved_seq,
                saved_at=self._saved_at,
                now=time.monotonic(),
            )
            if not due:
                continue
            try:
                await self.save()
            except Exception as exc:
                self._saved_at = time.monotonic()  # try again after the interval
                log.warning(
                    "could not write a snapshot",
                    extra={"snapshot": self._key, "error": repr(exc)[:300]},
                )

    async def save(self) -> Snapshot | None:
        """Write the state now, unless the last snapshot already covers it."""
        seq = self._position()
        if seq <= self.saved_seq:
            return None
        snapshot = Snapshot(
            stream=self._stream,
            seq=seq,
            format=self._format,
            state=self._encode(),
            written_at=datetime.now(UTC),
        )
        await self._store.save(self._key, snapshot)
        self.saved_seq = seq
        self._saved_at = time.monotonic()
        self._on_saved(snapshot)
        log.info("snapshot written", extra={"snapshot": self._key, "snapshot_seq": seq})
        return snapshot
