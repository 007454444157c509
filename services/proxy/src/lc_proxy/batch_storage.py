"""Where files, batches and per-request results live: NATS JetStream, shared by every
lc-proxy replica.

Who calls it: the Files/Batch HTTP handlers (`batch_api`) and the dispatcher
(`batch_dispatcher`); `lifespan` opens it with `open_batch_storage`.

- `LC_FILES` (object store): file contents, named by file id, chunked, so an upload of
  200 MB is streamed from a spool file and never held in memory whole.
- `LC_BATCHES` (key-value): `file.<id>` and `batch.<id>` records (JSON), updated with
  compare-and-set on their revision; `active.<batch id>` marks a batch not yet ended;
  `lease.<batch id>` says which replica dispatches a batch and until when.
- `LC_BATCH_RESULTS` (key-value): `<batch id>.<line>` holds the line a request produced.
  It is written with `create`, which only the first writer wins: if two replicas ever
  send the same line (a lease lost mid-request), one result stays and the request is
  counted once. A dispatcher that takes a batch over skips every line with a result, so
  nothing completed is sent again, and sends the others (those in flight when a replica
  died among them). Once the batch ended and its files are written, its results are
  purged (`forget_results`).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO, Final

import orjson
from nats.js import JetStreamContext, JetStreamManager
from nats.js.api import KeyValueConfig, ObjectStoreConfig, StorageType
from nats.js.errors import (
    BucketNotFoundError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
    NotFoundError,
    ObjectNotFoundError,
)
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

from lc_proxy.batch_output import LineResult
from lc_proxy.batch_records import BatchRecord, FileRecord

FILES_BUCKET: Final = "LC_FILES"
RECORDS_BUCKET: Final = "LC_BATCHES"
RESULTS_BUCKET: Final = "LC_BATCH_RESULTS"
SPOOL_IN_MEMORY: Final = 1 << 20
_CHUNK: Final = 256 * 1024


class Conflict(Exception):
    """Someone else changed the record since it was read: read it again and retry."""


@dataclass(frozen=True)
class Lease:
    holder: str
    until: float
    revision: int


def spool() -> IO[bytes]:
    """A temporary file kept in memory up to 1 MiB, on disk beyond."""
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)


class BatchStorage:
    def __init__(
        self,
        files: ObjectStore,
        records: KeyValue,
        results: KeyValue,
        manager: JetStreamManager,
    ) -> None:
        self._files = files
        self._records = records
        self._results = results
        self._manager = manager

    # -- files ------------------------------------------------------------------------

    async def save_file(self, record: FileRecord, content: IO[bytes]) -> None:
        content.seek(0)
        await self._files.put(record.id, content)  # type: ignore[arg-type]
        await self._records.put(f"file.{record.id}", orjson.dumps(record.to_json()))

    async def file(self, file_id: str) -> FileRecord | None:
        if not _valid_id(file_id):
            return None
        try:
            entry = await self._records.get(f"file.{file_id}")
        except KeyNotFoundError:
            return None
        assert entry.value is not None
        return FileRecord.from_json(orjson.loads(entry.value))

    async def files(self) -> list[FileRecord]:
        return [FileRecord.from_json(orjson.loads(v)) for v in await self._values("file.*")]

    async def delete_file(self, file_id: str) -> None:
        with contextlib.suppress(NotFoundError, ObjectNotFoundError):
            await self._files.delete(file_id)
        with contextlib.suppress(KeyNotFoundError):
            await self._records.delete(f"file.{file_id}")

    async def file_content(self, file_id: str) -> IO[bytes]:
        """The file's bytes in a spool file, positioned at 0."""
        target = spool()
        await self._files.get(file_id, writeinto=target)  # type: ignore[arg-type]
        target.seek(0)
        return target

    # -- batches ----------------------------------------------------------------------

    async def create_batch(self, batch: BatchRecord) -> None:
        await self._records.create(f"batch.{batch.id}", orjson.dumps(batch.to_json()))
        await self._records.put(f"active.{batch.id}", b"")

    async def active_batch_ids(self) -> list[str]:
        """Batches not known to have ended: what a dispatcher looks at, without reading
        every batch ever made."""
        ids: list[str] = []
        watcher = await self._records.watch("active.*", ignore_deletes=True, meta_only=True)
        try:
            async for entry in watcher:
                if entry is None:
                    break
                ids.append(entry.key.removeprefix("active."))
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]
        return ids

    async def batch_ended(self, batch_id: str) -> None:
        with contextlib.suppress(KeyNotFoundError):
            await self._records.delete(f"active.{batch_id}")

    async def batch(self, batch_id: str) -> tuple[BatchRecord, int] | None:
        if not _valid_id(batch_id):
            return None
        try:
            entry = await self._records.get(f"batch.{batch_id}")
        except KeyNotFoundError:
            return None
        assert entry.value is not None
        assert entry.revision is not None
        return BatchRecord.from_json(orjson.loads(entry.value)), entry.revision

    async def update_batch(self, batch: BatchRecord, revision: int) -> int:
        """Write `batch` if nothing changed since `revision`; else raise Conflict."""
        try:
            return await self._records.update(
                f"batch.{batch.id}", orjson.dumps(batch.to_json()), last=revision
            )
        except KeyWrongLastSequenceError:
            raise Conflict(batch.id) from None

    async def batches(self) -> list[BatchRecord]:
        return [BatchRecord.from_json(orjson.loads(v)) for v in await self._values("batch.*")]

    # -- leases -----------------------------------------------------------------------

    async def take_lease(self, batch_id: str, holder: str, ttl_s: float) -> Lease | None:
        """The batch's lease for `holder`, if free, expired or already its own."""
        key = f"lease.{batch_id}"
        now = time.time()
        value = orjson.dumps({"holder": holder, "until": now + ttl_s})
        try:
            entry = await self._records.get(key)
        except KeyNotFoundError:
            try:
                return Lease(holder, now + ttl_s, await self._records.create(key, value))
            except KeyWrongLastSequenceError:
                return None
        assert entry.value is not None
        assert entry.revision is not None
        current = orjson.loads(entry.value)
        if current["holder"] != holder and current["until"] > now:
            return None
        try:
            revision = await self._records.update(key, value, last=entry.revision)
        except KeyWrongLastSequenceError:
            return None
        return Lease(holder, now + ttl_s, revision)

    async def renew_lease(self, batch_id: str, lease: Lease, ttl_s: float) -> Lease | None:
        """The renewed lease, or None when another replica took it meanwhile."""
        until = time.time() + ttl_s
        value = orjson.dumps({"holder": lease.holder, "until": until})
        try:
            revision = await self._records.update(f"lease.{batch_id}", value, last=lease.revision)
        except (KeyWrongLastSequenceError, KeyNotFoundError):
            return None
        return Lease(lease.holder, until, revision)

    async def drop_lease(self, batch_id: str) -> None:
        with contextlib.suppress(KeyNotFoundError):
            await self._records.delete(f"lease.{batch_id}")

    # -- per-request results ----------------------------------------------------------

    async def record_result(self, batch_id: str, index: int, result: LineResult) -> bool:
        """Keep the result of line `index`; False if the line already had one."""
        try:
            await self._results.create(f"{batch_id}.{index}", result.to_bytes())
        except KeyWrongLastSequenceError:
            return False
        return True

    async def result(self, batch_id: str, index: int) -> LineResult | None:
        """The result of line `index`, if it has one."""
        try:
            entry = await self._results.get(f"{batch_id}.{index}")
        except KeyNotFoundError:
            return None
        return LineResult.from_bytes(entry.value) if entry.value else None

    async def forget_results(self, batch_id: str) -> None:
        """Remove every result of an ended batch (its files hold them now), in one purge
        of the bucket's stream rather than a delete per line."""
        await self._manager.purge_stream(
            f"KV_{RESULTS_BUCKET}", subject=f"$KV.{RESULTS_BUCKET}.{batch_id}.>"
        )

    async def results(self, batch_id: str) -> AsyncIterator[tuple[int, LineResult]]:
        """Every result of the batch, one at a time, in the order they were written."""
        async for key, value in self._entries(self._results, f"{batch_id}.*"):
            yield int(key.rsplit(".", 1)[1]), LineResult.from_bytes(value)

    # -- reading many -----------------------------------------------------------------

    async def _values(self, pattern: str) -> list[bytes]:
        return [value async for _, value in self._entries(self._records, pattern)]

    @staticmethod
    async def _entries(kv: KeyValue, pattern: str) -> AsyncIterator[tuple[str, bytes]]:
        watcher = await kv.watch(pattern, ignore_deletes=True)
        try:
            async for entry in watcher:
                if entry is None:
                    return
                if entry.value:
                    yield entry.key, entry.value
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]


def _valid_id(value: str) -> bool:
    return bool(value) and len(value) <= 100 and all(c.isalnum() or c in "-_" for c in value)


async def open_batch_storage(js: JetStreamContext, *, replicas: int = 1) -> BatchStorage:
    """The buckets, created if missing with `replicas` stream replicas."""
    files = await _object_store(js, replicas)
    records = await _kv(js, RECORDS_BUCKET, "Files and batches of the Batch API.", replicas)
    results = await _kv(js, RESULTS_BUCKET, "Per-request results of batches.", replicas)
    return BatchStorage(files, records, results, js)


async def _kv(js: JetStreamContext, bucket: str, description: str, replicas: int) -> KeyValue:
    try:
        return await js.key_value(bucket)
    except BucketNotFoundError:
        return await js.create_key_value(
            KeyValueConfig(
                bucket=bucket,
                description=description,
                storage=StorageType.FILE,
                replicas=replicas,
            )
        )


async def _object_store(js: JetStreamContext, replicas: int) -> ObjectStore:
    try:
        return await js.object_store(FILES_BUCKET)
    except (BucketNotFoundError, NotFoundError):
        return await js.create_object_store(
            FILES_BUCKET,
            ObjectStoreConfig(
                bucket=FILES_BUCKET,
                description="Files of the Batch API.",
                storage=StorageType.FILE,
                replicas=replicas,
            ),
        )
