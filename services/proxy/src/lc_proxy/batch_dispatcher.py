"""The batch dispatcher: sends the requests of every batch, durably, across replicas.

Who calls it: `lifespan` runs one per lc-proxy replica (`BatchDispatcher.run`); the
Batch handlers call `wake` after a create or a cancel so this replica looks at once.

How it shares work (state in `batch_storage`, nothing kept only in memory):
- A replica dispatches a batch only while it holds the batch's lease (`lease.<id>`,
  renewed every third of `lease_s`). A replica that dies stops renewing; another one
  takes the lease within `lease_s` and goes on.
- Each request's result is written once (`create` of `<batch>.<line>`); a replica that
  takes a batch over skips the lines that have one and sends the rest, which includes
  whatever was in flight on the replica that died. So every `custom_id` ends up exactly
  once in the output or the error file, and nothing that completed is sent again.
- A lease that cannot be renewed (another replica took it) stops this replica's work on
  the batch at once, in-flight requests included; no request starts on a lease past its
  time, renewed late or not, so a batch taken over is sent twice only for what was in
  flight when the lease ran out.

Scheduling (`batch_admission`): per model, batch requests in flight stay within
`per_replica` per ready replica minus the interactive requests in flight for the model,
narrowed while interactive traffic is active and further while it slows (`batch_pacing`);
batches take turns round-robin. Requests go through the same `Forwarder` as interactive
ones (routing, retries on connect failures, ejection, outstanding-request accounting).
A request that no replica could take (unreachable, or the model between deployments) is
tried `ATTEMPTS` times with back-off before its error becomes the line's result.

Cancel: the holder sees `cancelling` on its next look at the record (every `tick_s`),
cancels its in-flight requests and writes the files of what completed. Expiry: past
`expires_at`, the lines without a result become `batch_expired` errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Final

from lc_contracts.specs import ENDPOINT_PATHS
from lc_proxy import batch_records as records
from lc_proxy.batch_admission import batch_budget, next_turn
from lc_proxy.batch_events import BatchEvents
from lc_proxy.batch_output import LineResult, answered, file_line, not_answered
from lc_proxy.batch_pacing import PacingByModel
from lc_proxy.batch_queue import QueuedRequest, RequestQueue
from lc_proxy.batch_records import BatchRecord, FileRecord, LineError, RequestCounts
from lc_proxy.batch_storage import BatchStorage, Conflict, Lease, spool
from lc_proxy.forwarding import Exchange, Forwarder
from lc_proxy.metrics import RequestMetrics
from lc_proxy.openai_errors import ProxyError
from lc_proxy.routing import RoutingTable

ATTEMPTS: Final = 4
SWEEP_EVERY: Final = 20
RETRY_AFTER_S: Final = (0.5, 1.0, 2.0)
# What the proxy answers itself when no replica could take the request: a model between
# two deployments, replicas unreachable. Tried again after a pause; a replica's own
# answer (any status) is the line's result.
_RETRIED: Final = frozenset({"model_not_found", "upstream_unavailable", "not_ready"})
_ENDPOINTS: Final = {path: endpoint for endpoint, path in ENDPOINT_PATHS.items()}

log = logging.getLogger("lc_proxy.batches")


def output_file_id(batch_id: str, kind: str) -> str:
    """The id of a batch's output or error file: derived from the batch id, so that a
    replica finishing a batch another one began writes the same file, not a second one."""
    return "file-" + hashlib.sha256(f"{batch_id}/{kind}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Placed:
    """Where one result's line sits in the spool the files are written from."""

    succeeded: bool
    offset: int
    length: int


@dataclass
class _Running:
    """A batch this replica holds the lease of."""

    record: BatchRecord
    revision: int
    lease: Lease
    lines: IO[bytes] = field(default_factory=spool)
    """The file line of every result known here: those found when the batch was taken
    and those this replica recorded, so the files are written without reading every
    result back."""
    placed: dict[int, Placed] = field(default_factory=dict)
    """Where each of those lines sits in `lines`, by line index."""
    elsewhere: set[int] = field(default_factory=set)
    """Lines whose result another writer recorded first (read back when finishing)."""
    queue: RequestQueue = field(default_factory=RequestQueue)
    """The batch's requests: an index here, their bodies in a spool file."""
    pending: deque[int] = field(default_factory=deque)
    in_flight: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    completed: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    stopping: bool = False
    saved: tuple[int, int] = (0, 0)


class BatchDispatcher:
    def __init__(
        self,
        *,
        storage: BatchStorage,
        forwarder: Forwarder,
        table: RoutingTable,
        metrics: RequestMetrics,
        events: BatchEvents,
        holder: str,
        per_replica: int,
        lease_s: float,
        interactive_started: Mapping[str, float] | None = None,
        busy_share: float = 1.0,
        pacing: PacingByModel | None = None,
        quiet_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.forwarder = forwarder
        self.table = table
        self.metrics = metrics
        self.events = events
        self.holder = holder
        self.per_replica = per_replica
        self.interactive_started = interactive_started if interactive_started is not None else {}
        """When the last interactive request for each model started (monotonic)."""
        self.busy_share = busy_share
        self.pacing = pacing
        """How interactive requests fare (lc-proxy's app reports them); None: not paced."""
        """How interactive requests fare, by model: their slow-downs narrow the share."""
        self.quiet_s = quiet_s
        self.lease_s = lease_s
        self.tick_s = min(0.25, lease_s / 8)
        self.clock = clock
        self.running: dict[str, _Running] = {}
        self.batch_in_flight: dict[str, int] = {}
        self._turn = 0
        self._scans = 0
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()

    def wake(self) -> None:
        """Look for new or cancelled batches now rather than at the next scan."""
        self._wake.set()

    # -- the loops --------------------------------------------------------------------

    async def run(self, routable: asyncio.Event | None = None) -> None:
        """Dispatch until cancelled; batches are taken once `routable` is set (the routing
        table is loaded, so validation does not fail models it has not seen yet)."""
        if routable is not None:
            await routable.wait()
        pump = asyncio.create_task(self._pump())
        try:
            last_scan = 0.0
            while True:
                now = time.monotonic()
                if self._wake.is_set() or now - last_scan >= self.lease_s / 4:
                    self._wake.clear()
                    last_scan = now
                    await self._guarded(self._scan())
                for batch_id in list(self.running):
                    await self._guarded(self._supervise(batch_id))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.tick_s)
        finally:
            pump.cancel()
            for run in self.running.values():
                for task in run.in_flight.values():
                    task.cancel()
            with contextlib.suppress(BaseException):
                await pump
            # A replica that stops on purpose hands its batches over at once rather than
            # when their leases run out.
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(
                    asyncio.gather(*(self.storage.drop_lease(b) for b in list(self.running))),
                    1.0,
                )

    async def _guarded(self, step: Awaitable[None]) -> None:
        try:
            await step
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # NATS away for a moment: the next tick tries again
            log.warning("batch dispatcher step failed", extra={"fields": {"error": repr(exc)}})

    async def _pump(self) -> None:
        """Start requests while some model has room, then wait for a change."""
        while True:
            self._changed.clear()
            while self._start_one():
                pass
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.05)

    def _room(self, model: str) -> bool:
        entry = self.table.get(model)
        if entry is None:
            return True  # sent anyway: the answer (404) is the line's result
        outstanding = sum(state.outstanding for state, _ in entry.replicas)
        mine = self.batch_in_flight.get(model, 0)
        last = self.interactive_started.get(model)
        now = time.monotonic()
        budget = batch_budget(
            replicas=len(entry.replicas),
            per_replica=self.per_replica,
            interactive_in_flight=max(0, outstanding - mine),
            interactive_active=last is not None and now - last < self.quiet_s,
            busy_share=self.busy_share,
            pacing_share=self.pacing.share(model, now) if self.pacing is not None else 1.0,
        )
        return mine < budget

    def _start_one(self) -> bool:
        # Nothing starts on a lease past its time: another replica may hold the batch now
        # and send the same lines (what was in flight then is all that can be sent twice).
        now = time.time()
        runs = [
            r for r in self.running.values() if r.pending and not r.stopping and r.lease.until > now
        ]
        if not runs:
            return False

        def can_send(run: _Running) -> bool:
            return self._room(run.queue.requests[run.pending[0]].model)

        turn = next_turn(runs, self._turn % len(runs), can_send)
        if turn is None:
            return False
        run, self._turn = turn
        index = run.pending.popleft()
        request = run.queue.requests[index]
        self.batch_in_flight[request.model] = self.batch_in_flight.get(request.model, 0) + 1
        run.in_flight[index] = asyncio.create_task(self._send(run, request))
        return True

    # -- one request ------------------------------------------------------------------

    async def _send(self, run: _Running, request: QueuedRequest) -> None:
        batch_id = run.record.id
        endpoint = _ENDPOINTS[run.record.endpoint]
        holding = True
        try:
            started = time.perf_counter()
            body = run.queue.body(request)
            result, exchange = await self._call(batch_id, request, body, run.record.endpoint)
            # The replica is done with it: its slot goes to the next request while the
            # result is written.
            holding = False
            self._free_slot(request.model)
            if not await self.storage.record_result(batch_id, request.index, result):
                run.elsewhere.add(request.index)
            else:
                _keep(run, request.index, result)
                # Counted here, once per line: a line sent again after a crash whose
                # first answer was kept is not counted twice.
                self.metrics.finished(
                    request.model,
                    endpoint.value,
                    exchange.status,
                    time.perf_counter() - started,
                    routed=True,
                    prompt_tokens=result.prompt_tokens,
                    completion_tokens=result.completion_tokens,
                )
        except asyncio.CancelledError:
            pass
        except Exception as exc:
            log.warning(
                "batch request not recorded; it will be sent again",
                extra={"fields": {"batch": batch_id, "line": request.index, "error": repr(exc)}},
            )
            if not run.stopping:
                run.pending.append(request.index)
        finally:
            run.in_flight.pop(request.index, None)
            if holding:
                self._free_slot(request.model)

    def _free_slot(self, model: str) -> None:
        self.batch_in_flight[model] -= 1
        self._changed.set()

    async def _call(
        self, batch_id: str, request: QueuedRequest, body: bytes, path: str
    ) -> tuple[LineResult, Exchange]:
        request_id = f"{batch_id}-{request.index}"
        headers = [
            ("content-type", "application/json"),
            ("x-request-id", request_id),
            ("accept-encoding", "identity"),
        ]
        for attempt in range(ATTEMPTS):
            exchange = Exchange(request_id=request_id, started=time.perf_counter())
            exchange.model = request.model
            try:
                answer = await self.forwarder.call(
                    exchange,
                    endpoint=_ENDPOINTS[path],
                    path=path,
                    headers=headers,
                    body=body,
                )
            except ProxyError as error:
                exchange.status = error.status
                if error.code in _RETRIED and attempt + 1 < ATTEMPTS:
                    await asyncio.sleep(RETRY_AFTER_S[min(attempt, len(RETRY_AFTER_S) - 1)])
                    continue
                return answered(request.custom_id, error.status, request_id, error.body()), exchange
            return answered(request.custom_id, exchange.status, request_id, answer), exchange
        raise AssertionError("unreachable")

    # -- taking batches ---------------------------------------------------------------

    async def _scan(self) -> None:
        self._scans += 1
        if self._scans % SWEEP_EVERY == 1:
            # Now and then every batch, in case one was created but not marked active.
            candidates = [b.id for b in await self.storage.batches() if _needs_work(b)]
        else:
            candidates = await self.storage.active_batch_ids()
        for batch_id in candidates:
            if batch_id in self.running:
                continue
            lease = await self.storage.take_lease(batch_id, self.holder, self.lease_s)
            if lease is None:
                continue
            found = await self.storage.batch(batch_id)
            if found is None or found[0].ended:
                await self._ended(batch_id)
                await self.storage.drop_lease(batch_id)
                continue
            record, revision = found
            run = _Running(record=record, revision=revision, lease=lease)
            log.info("batch taken", extra={"fields": {"batch": batch_id, "status": record.status}})
            try:
                keep = await self._load(run)
            except Exception:
                # Not half-taken: another scan (here or elsewhere) starts it again.
                run.lines.close()
                run.queue.close()
                await self.storage.drop_lease(batch_id)
                raise
            if keep:
                self.running[batch_id] = run
                self._changed.set()

    async def _load(self, run: _Running) -> bool:
        """Read the batch's requests and results; False when it ended while loading."""
        record = run.record
        if record.status in ("validating", "in_progress"):
            validating = record.status == "validating"
            read = await self._read_input(
                record, self._can_route(record.endpoint) if validating else _any_model
            )
            if read is None and validating:
                missing = LineError(
                    code="file_not_found", message=f"The input file {record.input_file_id} is gone."
                )
                await self._transition(run, records.failed(record, self._now(), (missing,)))
                await self._release(run)
                return False
            if not isinstance(read, RequestQueue):
                if validating:
                    assert read is not None
                    await self._transition(run, records.failed(record, self._now(), read))
                    await self._release(run)
                    return False
                read = RequestQueue()  # the input was deleted meanwhile: end with what was answered
            run.queue.close()
            run.queue = read
            if validating:
                total = len(read.requests)
                await self._transition(run, records.started(record, self._now(), total))
        # What earlier holders recorded is kept here too, so that finishing needs none of
        # it read again.
        await self._tally(run, into=run.lines, placed=run.placed)
        run.pending = deque(r.index for r in run.queue.requests if r.index not in run.placed)
        return True

    async def _read_input(
        self, record: BatchRecord, can_route: Callable[[str], bool]
    ) -> RequestQueue | tuple[LineError, ...] | None:
        """The batch's requests, why its input fails, or None if the file was deleted.

        The file is copied from the object store to a local spool as it arrives and read
        from there line by line, in a thread: a file of 50,000 lines takes the event loop
        from interactive requests for no more than a moment at a time."""
        if await self.storage.file(record.input_file_id) is None:
            return None
        content = await self.storage.file_content(record.input_file_id)
        try:
            return await asyncio.to_thread(RequestQueue.read, content, record.endpoint, can_route)
        finally:
            content.close()

    def _can_route(self, path: str) -> Callable[[str], bool]:
        endpoint = _ENDPOINTS[path]

        def can_route(model: str) -> bool:
            entry = self.table.get(model)
            return entry is not None and endpoint in entry.endpoints

        return can_route

    async def _tally(self, run: _Running, into: IO[bytes], placed: dict[int, Placed]) -> None:
        """Count every result the batch has (read from storage) and copy its line to
        `into`, noting in `placed` where each one went (so the files can be written in
        input order from disk)."""
        run.completed = run.failed = run.prompt_tokens = run.completion_tokens = 0
        placed.clear()
        async for index, result in self.storage.results(run.record.id):
            _count(run, result)
            line = file_line(result)
            into.seek(0, io.SEEK_END)
            placed[index] = Placed(result.succeeded, into.tell(), len(line))
            into.write(line)

    # -- watching a batch -------------------------------------------------------------

    async def _supervise(self, batch_id: str) -> None:
        run = self.running[batch_id]
        if run.lease.until - time.time() < self.lease_s * 2 / 3:
            lease = await self.storage.renew_lease(batch_id, run.lease, self.lease_s)
            if lease is None:
                log.warning("batch lease lost", extra={"fields": {"batch": batch_id}})
                self._abandon(run)
                return
            run.lease = lease
        found = await self.storage.batch(batch_id)
        if found is None:
            self._abandon(run)
            return
        run.record, run.revision = found
        status = run.record.status
        if status == "cancelling":
            await self._finish(run)
        elif status in ("validating", "in_progress") and self._now() >= run.record.expires_at:
            # Written together with its files by `_finish`: a client never sees an
            # expired batch without them.
            run.record = records.expiring(run.record, self._now())
            await self._finish(run)
        elif status == "in_progress" and not run.pending and not run.in_flight:
            await self._transition(run, records.finalizing(run.record, self._now()))
            await self._finish(run)
        elif status == "finalizing":
            await self._finish(run)
        elif status == "in_progress":
            await self._save_progress(run)

    async def _save_progress(self, run: _Running) -> None:
        progress = (run.completed, run.failed)
        if progress == run.saved:
            return
        counts = RequestCounts(
            total=run.record.request_counts.total, completed=run.completed, failed=run.failed
        )
        updated = records.with_progress(
            run.record, counts, run.prompt_tokens, run.completion_tokens
        )
        try:
            run.revision = await self.storage.update_batch(updated, run.revision)
        except Conflict:
            return  # changed meanwhile (a cancel): the next tick reads it again
        run.record = updated
        run.saved = progress

    async def _finish(self, run: _Running) -> None:
        """Stop sending and write the files; the batch ends completed, cancelled or expired."""
        run.stopping = True
        run.pending.clear()
        for task in list(run.in_flight.values()):
            task.cancel()
        if run.in_flight:
            await asyncio.wait(list(run.in_flight.values()), timeout=5.0)
        record = run.record
        if not run.queue.requests:
            read = await self._read_input(record, _any_model)
            if isinstance(read, RequestQueue):
                run.queue.close()
                run.queue = read
        if record.status == "expired":
            for request in run.queue.requests:
                if request.index not in run.placed:
                    result = not_answered(
                        request.custom_id,
                        "batch_expired",
                        "This request could not be executed before the completion window expired.",
                    )
                    await self.storage.record_result(record.id, request.index, result)
        if not self._all_known(run):
            # A cancel or an expiry stopped requests whose results may have been recorded
            # after all, or the batch was taken over while finalizing: every result is
            # read back from storage, the only place that has them all.
            run.lines.close()
            run.lines = spool()
            await self._tally(run, into=run.lines, placed=run.placed)
        else:
            for index in sorted(run.elsewhere - run.placed.keys()):
                found = await self.storage.result(record.id, index)
                if found is not None:
                    _keep(run, index, found)
        output_id = await self._write_file(record, "output", run.lines, run.placed, succeeded=True)
        error_id = await self._write_file(record, "error", run.lines, run.placed, succeeded=False)
        total = record.request_counts.total or len(run.queue.requests)
        done = records.ended(
            record,
            self._now(),
            output_file_id=output_id,
            error_file_id=error_id,
            counts=RequestCounts(total=total, completed=run.completed, failed=run.failed),
            prompt_tokens=run.prompt_tokens,
            completion_tokens=run.completion_tokens,
        )
        await self._transition(run, done)
        await self._release(run)

    @staticmethod
    def _all_known(run: _Running) -> bool:
        """Whether every line's result is here or known to be recorded by another writer:
        a batch whose every request was answered while this replica held it."""
        return (
            run.record.status == "finalizing"
            and bool(run.queue.requests)
            and len(run.placed.keys() | run.elsewhere) == len(run.queue.requests)
        )

    async def _write_file(
        self,
        batch: BatchRecord,
        kind: str,
        lines: IO[bytes],
        placed: dict[int, Placed],
        *,
        succeeded: bool,
    ) -> str | None:
        """The output (or error) file from the lines in `lines`, in input order."""
        chosen = sorted((i, p) for i, p in placed.items() if p.succeeded is succeeded)
        if not chosen:
            return None
        file_id = output_file_id(batch.id, kind)
        content: IO[bytes] = spool()
        size = 0
        for _, place in chosen:
            lines.seek(place.offset)
            size += content.write(lines.read(place.length))
        file = FileRecord(
            id=file_id,
            bytes=size,
            created_at=self._now(),
            filename=f"{batch.id}_{kind}.jsonl",
            purpose="batch_output",
            owner=batch.owner,
            lines=len(chosen),
        )
        try:
            await self.storage.save_file(file, content)
        finally:
            content.close()
        return file_id

    async def _transition(self, run: _Running, updated: BatchRecord) -> None:
        """Write a new status (compare-and-set) and announce it."""
        run.revision = await self.storage.update_batch(updated, run.revision)
        run.record = updated
        await self.events.announce(updated)

    async def _release(self, run: _Running) -> None:
        self.running.pop(run.record.id, None)
        run.lines.close()
        run.queue.close()
        if run.record.ended:
            await self._ended(run.record.id)
        await self.storage.drop_lease(run.record.id)

    async def _ended(self, batch_id: str) -> None:
        """The batch ended and its files are written: its per-line results are no longer
        needed. Forgotten before the batch stops being active, so a replica that stops
        in between leaves the batch for the next scan to clean up."""
        await self.storage.forget_results(batch_id)
        await self.storage.batch_ended(batch_id)

    def _abandon(self, run: _Running) -> None:
        run.stopping = True
        run.pending.clear()
        for task in run.in_flight.values():
            task.cancel()
        self.running.pop(run.record.id, None)
        run.lines.close()
        run.queue.close()

    def _now(self) -> int:
        return int(self.clock())


def _any_model(_: str) -> bool:
    """Routing is checked when a batch is validated only: a batch taken over later sends
    every line, and a model gone since is the line's answer (404)."""
    return True


def _needs_work(batch: BatchRecord) -> bool:
    return not batch.ended


def _count(run: _Running, result: LineResult) -> None:
    if result.succeeded:
        run.completed += 1
    else:
        run.failed += 1
    run.prompt_tokens += result.prompt_tokens
    run.completion_tokens += result.completion_tokens


def _keep(run: _Running, index: int, result: LineResult) -> None:
    """Count a result and append its file line to the batch's local copy."""
    _count(run, result)
    line = file_line(result)
    run.lines.seek(0, io.SEEK_END)
    run.placed[index] = Placed(result.succeeded, run.lines.tell(), len(line))
    run.lines.write(line)
