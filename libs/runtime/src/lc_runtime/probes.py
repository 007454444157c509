"""Liveness, readiness and Prometheus metrics of a worker, and the small HTTP server that
serves them.

Who calls it: the reconciler, the domain verifier and the fleet aggregator each make one
`Probes`, register what readiness means for them (`require`) and, when their settings
give a port, serve it (`serve`): `/healthz` answers 200 while the process runs, `/readyz`
200 only when every condition holds (503 and the conditions otherwise), `/metrics` the
Prometheus text format. `lc up`, which runs the workers in its own process, reads
`Probes.report()` directly for its `/healthz`.

A worker that folds LC_EVENTS keeps a `FoldProgress`: it is ready only once the fold
reached the stream's last sequence as it was at start; until then `behind` says how many
sequences remain.

Standard library asyncio for the server (a handful of GET routes, one request per
connection) and prometheus_client for the exposition.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from lc_runtime.leadership import Leadership

CONTENT_TYPE_METRICS: Final = "text/plain; version=0.0.4; charset=utf-8"
READ_TIMEOUT_S: Final = 5.0
MAX_REQUEST_BYTES: Final = 8192

Check = Callable[[], str | None]
"""A readiness condition: None when it holds, else why not (one short line)."""


@dataclass
class FoldProgress:
    """How far a worker's fold of the log has come, in stream sequences."""

    target: int = 0
    """The stream's last sequence when the worker started reading it."""
    position: int = 0
    """The last sequence folded (the snapshot's, until the tail moves it)."""
    folded: int = 0
    """Events folded by this process (a snapshot's are not counted)."""
    caught_up: bool = False
    """The reader has reached `target`: the state holds everything logged before start."""
    snapshot_seq: int | None = None
    """The sequence of the latest snapshot loaded or written."""
    snapshot_at: float | None = None
    """When that snapshot was written (Unix time)."""
    snapshots_written: int = 0

    def advance(self, seq: int) -> None:
        """One event at `seq` folded."""
        self.folded += 1
        self.position = max(self.position, seq)

    @property
    def behind(self) -> int:
        return 0 if self.caught_up else max(0, self.target - self.position)

    def check(self) -> str | None:
        if self.caught_up:
            return None
        return f"catching up: {self.behind} sequences behind ({self.position} of {self.target})"

    def report(self) -> dict[str, Any]:
        return {
            "caughtUp": self.caught_up,
            "position": self.position,
            "target": self.target,
            "behind": self.behind,
            "snapshotSeq": self.snapshot_seq,
        }


class Probes:
    """What one worker says about itself: alive, ready (and why not), metrics."""

    def __init__(self, worker: str, registry: CollectorRegistry | None = None) -> None:
        self.worker = worker
        self.registry = registry or CollectorRegistry()
        self.fold: FoldProgress | None = None
        self.leadership: Leadership | None = None
        self._checks: dict[str, Check] = {}
        self.registry.register(_ProbeCollector(self))

    def require(self, name: str, check: Check) -> None:
        """Readiness needs `check` to hold (None); `name` labels it in reports."""
        self._checks[name] = check

    def track_fold(self) -> FoldProgress:
        """A fold that must catch up before the worker is ready."""
        self.fold = FoldProgress()
        self.require("events", self.fold.check)
        return self.fold

    def lead(self, leadership: Leadership) -> None:
        """The worker runs under a Lease: while it stands by it is ready (it is doing what
        it should); once it leads, its own conditions decide."""
        self.leadership = leadership

    def unmet(self) -> dict[str, str]:
        """The conditions that do not hold, with why. A worker that has not yet said what
        readiness means for it (it is still connecting) is not ready."""
        if self.leadership is not None and not self.leadership.leader:
            return {}
        if not self._checks:
            return {"started": "starting"}
        out = {}
        for name, check in self._checks.items():
            reason = check()
            if reason is not None:
                out[name] = reason
        return out

    @property
    def ready(self) -> bool:
        return not self.unmet()

    def report(self) -> dict[str, Any]:
        unmet = self.unmet()
        report: dict[str, Any] = {
            "status": "ready" if not unmet else "not ready",
            "checks": {name: unmet.get(name, "ok") for name in self._checks} or unmet,
        }
        if self.fold is not None:
            report["events"] = self.fold.report()
        if self.leadership is not None:
            report["leadership"] = self.leadership.as_dict()
        return report

    @contextlib.asynccontextmanager
    async def serve(self, host: str, port: int) -> AsyncIterator[asyncio.Server]:
        """Serve /healthz, /readyz and /metrics on host:port while the block runs."""
        server = await asyncio.start_server(self._answer, host, port)
        try:
            yield server
        finally:
            server.close()
            await server.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = b""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
            status, content_type, body = self._route(head)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            status, content_type, body = 400, "text/plain", b"bad request\n"
        except ConnectionError:
            writer.close()
            return
        reason = _REASONS.get(status, "Error")
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + (b"" if head.startswith(b"HEAD ") else body)
        )
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    def _route(self, head: bytes) -> tuple[int, str, bytes]:
        try:
            method, target, _ = head.split(b"\r\n", 1)[0].decode("ascii").split(" ", 2)
        except (UnicodeDecodeError, ValueError):
            return 400, "text/plain", b"bad request\n"
        path = target.split("?", 1)[0]
        if path not in ("/healthz", "/readyz", "/metrics"):
            return 404, "text/plain", b"not found\n"
        if method not in ("GET", "HEAD"):
            return 405, "text/plain", b"method not allowed\n"
        if path == "/healthz":
            return 200, "application/json", _json({"status": "ok", "worker": self.worker})
        if path == "/readyz":
            report = {"worker": self.worker, **self.report()}
            return (200 if report["status"] == "ready" else 503), "application/json", _json(report)
        return 200, CONTENT_TYPE_METRICS, generate_latest(self.registry)


_REASONS: Final = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}


def _json(value: Any) -> bytes:
    return json.dumps(value).encode() + b"\n"


class _ProbeCollector(Collector):
    """The worker's readiness and fold progress, read at each scrape."""

    def __init__(self, probes: Probes) -> None:
        self._probes = probes

    def collect(self) -> Iterator[Metric]:
        labels = [self._probes.worker]
        yield _gauge("lc_worker_ready", "1 when the worker is ready", labels, self._probes.ready)
        leadership = self._probes.leadership
        if leadership is not None:
            yield _gauge(
                "lc_worker_leader",
                "1 while this replica holds the Lease",
                labels,
                leadership.leader,
            )
            yield _gauge(
                "lc_worker_lease_term",
                "The Lease's term (its leader transitions)",
                labels,
                leadership.term,
            )
            takeovers = CounterMetricFamily(
                "lc_worker_lease_takeovers",
                "Leases this replica took from another holder",
                labels=["worker"],
            )
            takeovers.add_metric(labels, leadership.takeovers)
            yield takeovers
        fold = self._probes.fold
        if fold is None:
            return
        yield _gauge(
            "lc_worker_fold_position", "Last LC_EVENTS sequence folded", labels, fold.position
        )
        yield _gauge(
            "lc_worker_fold_target",
            "LC_EVENTS' last sequence when the worker started reading",
            labels,
            fold.target,
        )
        yield _gauge(
            "lc_worker_fold_behind",
            "Sequences left to fold before the worker has caught up (0 once it has)",
            labels,
            fold.behind,
        )
        folded = CounterMetricFamily(
            "lc_worker_events_folded", "Events folded by this process", labels=["worker"]
        )
        folded.add_metric(labels, fold.folded)
        yield folded
        written = CounterMetricFamily(
            "lc_worker_snapshots_written", "Snapshots written by this process", labels=["worker"]
        )
        written.add_metric(labels, fold.snapshots_written)
        yield written
        if fold.snapshot_seq is not None:
            yield _gauge(
                "lc_worker_snapshot_sequence",
                "Sequence covered by the latest snapshot loaded or written",
                labels,
                fold.snapshot_seq,
            )
        if fold.snapshot_at is not None:
            yield _gauge(
                "lc_worker_snapshot_age_seconds",
                "Seconds since the latest snapshot was written",
                labels,
                max(0.0, time.time() - fold.snapshot_at),
            )


def _gauge(name: str, doc: str, labels: list[str], value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=["worker"])
    family.add_metric(labels, float(value))
    return family
