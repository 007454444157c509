"""Webhook delivery: append → delivered latency at a steady rate, and catch-up after an
outage as a ratio to reading the same events from the stream. One run, embedded servers.

- nats-server and PostgreSQL from their wheels; lcd's migrations create the delivery log;
- `--subs` subscriptions (to `project.*`) appended straight to LC_EVENTS, each to its own
  path on one receiver (an asyncio HTTP/1.1 server, keep-alive, 204) in a process of its
  own: at 5,000 requests/s it takes a good part of a core, which the appender must not
  share (the bench reports its CPU);
- the `lc-webhooks` worker as its own process (retry schedule 1 s repeated, no jitter),
  with `--processes` delivery processes (default: the worker's own, from the CPUs); the
  CPU the worker and its children used in each phase is read from /proc;
- phase 1: `--rate` events/s for `--seconds`; latency = the receiver's arrival time minus
  the event's envelope time (same clock), p50/p99 over every delivery;
- phase 2: the receiver answers 503 for `--outage` seconds while the same rate goes on,
  then 204 again; catch-up = backlog events per subscription / seconds to deliver them all,
  against `EventStore.read` of the same events (decode each) in the same run.

usage: uv run python bench/webhooks.py [--rate 500] [--seconds 20] [--subs 10] [--outage 60]
                                       [--processes N]
`LC_BENCH_PROFILE=<file>` runs the worker under cProfile (with `--processes 1`: the
children of several are not profiled).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import nats
import psycopg

from lc_api.db.migrate import migrate
from lc_contracts.events import ProjectCreated, WebhookSubscribed, build
from lc_contracts.sealing import SecretKey, generate_key
from lc_contracts.subjects import project_subject, webhook_subject
from lc_contracts.webhooks import new_secret, seal_secret
from lc_embedded import EmbeddedNats, EmbeddedPostgres, free_port
from lc_eventstore import EventStore, provision_streams


class Receiver(asyncio.Protocol):
    """Minimal HTTP/1.1: reads a request (Content-Length body), records, answers."""

    board: Board

    def __init__(self, board: Board) -> None:
        self.board = board
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < head_end + 4 + length:
                return
            body = self.buffer[head_end + 4 : head_end + 4 + length]
            self.buffer = self.buffer[head_end + 4 + length :]
            path = head.split(" ", 2)[1]
            status = self.board.arrived(path, body)
            reason = b"No Content" if status == 204 else b"Service Unavailable"
            self.transport.write(  # type: ignore[attr-defined]
                b"HTTP/1.1 %d %s\r\ncontent-length: 0\r\n\r\n" % (status, reason)
            )


class Board:
    """What arrived, kept raw (arrival time, body) and decoded after each phase: the
    receiver answers in microseconds, so what is measured is the worker."""

    def __init__(self) -> None:
        self.down = False
        self.arrivals: list[tuple[float, bytes]] = []
        self.last_arrival = 0.0

    def arrived(self, path: str, body: bytes) -> int:
        if self.down:
            return 503
        self.arrivals.append((time.time(), body))
        self.last_arrival = time.monotonic()
        return 204

    def count(self) -> int:
        return len(self.arrivals)

    def latencies(self, since: int = 0) -> list[float]:
        out = []
        for arrived, body in self.arrivals[since:]:
            stamp = json.loads(body)["timestamp"].replace("Z", "+00:00")
            out.append(arrived - datetime.fromisoformat(stamp).timestamp())
        return out


async def _at_least(board: RemoteBoard, n: int) -> bool:
    return await board.count() >= n


async def round_trips(
    database_url: str, since: float, until: float, expected: int
) -> tuple[float, float]:
    """p50 and p99 of the delivered attempts' latency as the worker logged it (request
    built, sent, answer read), in ms, between two wall-clock times; waits (up to 30 s)
    for the `expected` rows the delivery log writes every 0.2 s."""

    def query() -> tuple[int, float, float]:
        url = database_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url) as db:
            row = db.execute(
                "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms),"
                " percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms)"
                " FROM webhook_deliveries WHERE outcome = 'delivered'"
                " AND attempted_at BETWEEN to_timestamp(%s) AND to_timestamp(%s)",
                (since, until),
            ).fetchone()
        assert row is not None
        return int(row[0]), float(row[1] or 0), float(row[2] or 0)

    deadline = time.monotonic() + 30
    while True:
        count, p50, p99 = await asyncio.to_thread(query)
        if count >= expected or time.monotonic() > deadline:
            return p50, p99
        await asyncio.sleep(0.2)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def steady(store: EventStore, rate: float, seconds: float, tag: str) -> int:
    n = int(rate * seconds)
    began = time.monotonic()
    for i in range(n):
        wait = began + i / rate - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        slug = f"{tag}-{i}"
        event = build(
            ProjectCreated(slug=slug, name=slug), subject=project_subject(slug), source="bench"
        )
        await store.append(project_subject(slug), [event], None)
    return n


async def wait_for(condition: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await condition():
            return True
        await asyncio.sleep(0.05)
    return False


async def answer_on(connection: Connection) -> Any:
    """The next object on `connection`, read once the event loop sees it (cancellable)."""
    loop = asyncio.get_running_loop()
    readable: asyncio.Future[None] = loop.create_future()

    def seen() -> None:
        if not readable.done():
            readable.set_result(None)

    loop.add_reader(connection.fileno(), seen)
    try:
        await readable
    finally:
        loop.remove_reader(connection.fileno())
    return connection.recv()


def receive(port: int, control: Connection) -> None:
    """The receiver's process: serve on `port`, answer the bench's commands on `control`."""

    async def serve() -> None:
        board = Board()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: Receiver(board), "127.0.0.1", port)
        control.send("ready")
        while True:
            command, arg = await answer_on(control)
            if command == "down":
                board.down = bool(arg)
                control.send(None)
            elif command == "count":
                control.send((board.count(), board.last_arrival))
            elif command == "latencies":
                control.send(board.latencies(int(arg)))
            elif command == "cpu":
                control.send(time.process_time())
            else:
                server.close()
                control.send(None)
                return

    asyncio.run(serve())


class RemoteBoard:
    """The bench's side of the receiver's process."""

    def __init__(self, port: int) -> None:
        self._control, theirs = multiprocessing.Pipe()
        spawn = multiprocessing.get_context("spawn")
        self.process = spawn.Process(target=receive, args=(port, theirs), daemon=True)
        self.process.start()
        assert self._control.poll(60), "the receiver did not start"
        assert self._control.recv() == "ready"
        self.last_arrival = 0.0

    async def ask(self, command: str, arg: object = None) -> object:
        self._control.send((command, arg))
        return await answer_on(self._control)

    async def count(self) -> int:
        answer = await self.ask("count")
        assert isinstance(answer, tuple)
        self.last_arrival = float(answer[1])
        return int(answer[0])

    async def latencies(self, since: int) -> list[float]:
        return await self.ask("latencies", since)  # type: ignore[return-value]

    async def cpu(self) -> float:
        return float(await self.ask("cpu"))  # type: ignore[arg-type]

    async def down(self, down: bool) -> None:
        await self.ask("down", down)

    async def stop(self) -> None:
        await self.ask("stop")
        self.process.join(10)


def cpu_seconds(pid: int) -> float:
    """User and system CPU of `pid` and its children (Linux /proc; 0 elsewhere)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def main(
    rate: float, seconds: float, subs: int, outage: float, processes: int | None
) -> None:
    root = Path(tempfile.mkdtemp(prefix="lc-bench-webhooks-"))
    nats_server = EmbeddedNats(root / "nats", sync_always=False).start()
    pg = EmbeddedPostgres(root / "pg", durable=False).start()
    worker: subprocess.Popen[bytes] | None = None
    try:
        database_url = pg.url()
        await asyncio.to_thread(migrate, database_url)
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        await provision_streams(js)
        store = EventStore(js)
        port = free_port()
        board = RemoteBoard(port)
        key_text = generate_key()
        key = SecretKey.parse(key_text)
        for i in range(subs):
            sub_id = f"bench-{i}"
            event = build(
                WebhookSubscribed(
                    id=sub_id,
                    url=f"http://127.0.0.1:{port}/s{i}",
                    event_types=["project.*"],
                    sealed_secret=seal_secret(key, sub_id, new_secret()),
                ),
                subject=webhook_subject(sub_id),
                source="bench",
            )
            await store.append(webhook_subject(sub_id), [event], 0)
        env = {
            **os.environ,
            "LC_NATS_URL": nats_server.url,
            "LC_DATABASE_URL": database_url,
            "LC_SECRET_KEY": key_text,
            "LC_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
            "LC_WEBHOOK_RETRY_SCHEDULE_S": json.dumps([1.0] * 1000),
            "LC_WEBHOOK_RETRY_JITTER": "0",
            "LC_LOG_LEVEL": "WARNING",
            **({"LC_WEBHOOK_PROCESSES": str(processes)} if processes else {}),
        }
        profile = os.environ.get("LC_BENCH_PROFILE")
        command = [sys.executable, "-m", "lc_webhooks.main"]
        if profile:
            command[1:1] = ["-m", "cProfile", "-o", profile]
        worker = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Warm up: one event reaches every subscription.
        await steady(store, 10, 0.1, "warm")
        started = await wait_for(lambda: _at_least(board, subs), 60)
        assert started, "the worker did not start"

        # Phase 1: steady rate.
        base = await board.count()
        cpu = cpu_seconds(worker.pid), await board.cpu()
        began = time.monotonic()
        began_wall = time.time()
        n = await steady(store, rate, seconds, "steady")
        drained = await wait_for(lambda: _at_least(board, base + n * subs), 300)
        took = board.last_arrival - began
        lat = await board.latencies(base)
        sustained = len(lat) / took
        worker_cpu = cpu_seconds(worker.pid) - cpu[0]
        receiver_cpu = await board.cpu() - cpu[1]
        ended_wall = time.time()
        trip50, trip99 = await round_trips(database_url, began_wall, ended_wall, len(lat))
        print(
            f"steady {rate:g} events/s x {seconds:g} s to {subs} subscriptions: "
            f"{len(lat)} deliveries ({sustained:.0f}/s from the first append to the last "
            f"delivery), p50 {percentile(lat, 0.5) * 1000:.1f} ms, "
            f"p99 {percentile(lat, 0.99) * 1000:.1f} ms, max {max(lat) * 1000:.0f} ms"
            + ("" if drained else " (NOT all delivered within 300 s)")
        )
        print(
            f"  CPU: the worker {worker_cpu:.1f} s ({worker_cpu / took:.2f} of a core, "
            f"{worker_cpu / max(1, len(lat)) * 1e6:.0f} µs per delivery), "
            f"the receiver {receiver_cpu:.1f} s ({receiver_cpu / took:.2f} of a core); "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        print(
            f"  one delivery's round trip as the worker logged it: p50 {trip50:.1f} ms, "
            f"p99 {trip99:.1f} ms; one at a time per subscription, so at most "
            f"{subs / (trip50 / 1000) if trip50 else 0:.0f} deliveries/s at that p50"
        )

        # Phase 2: outage, then catch-up.
        await board.down(True)
        base = await board.count()
        backlog = await steady(store, rate, outage, "outage")
        await board.down(False)
        back_at = time.monotonic()
        caught = await wait_for(lambda: _at_least(board, base + backlog * subs), 1800)
        took = board.last_arrival - back_at
        per_sub = backlog / took
        # Reading the same events from the stream, decoded, in the same run.
        info = await js.stream_info("LC_EVENTS")
        began = time.perf_counter()
        read = 0
        async for batch in store.read(1):
            for message in batch:
                message.event()
            read += len(batch)
        read_rate = read / (time.perf_counter() - began)
        print(
            f"catch-up after {outage:g} s: {backlog} events x {subs} subscriptions in "
            f"{took:.1f} s = {per_sub:.0f} events/s per subscription "
            f"({per_sub * subs:.0f} deliveries/s); EventStore.read of the log "
            f"({info.state.messages} events): {read_rate:.0f} events/s; "
            f"ratio {per_sub / read_rate:.3f} per subscription, "
            f"{per_sub * subs / read_rate:.3f} all together"
            + ("" if caught else " (NOT caught up)")
        )
        await board.stop()
        await nc.close()
    finally:
        if worker is not None:
            worker.send_signal(2)  # SIGINT: a profiled worker writes its profile
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        pg.stop()
        nats_server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--subs", type=int, default=10)
    parser.add_argument("--outage", type=float, default=60)
    parser.add_argument(
        "--processes", type=int, default=None, help="LC_WEBHOOK_PROCESSES of the worker"
    )
    args = parser.parse_args()
    asyncio.run(main(args.rate, args.seconds, args.subs, args.outage, args.processes))
