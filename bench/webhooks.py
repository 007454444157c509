"""Webhook delivery: append → delivered latency at a steady rate, and catch-up after an
outage as a ratio to reading the same events from the stream. One run, embedded servers.

- nats-server and PostgreSQL from their wheels; lcd's migrations create the delivery log;
- `--subs` subscriptions (to `project.*`) appended straight to LC_EVENTS, each to its own
  path on one receiver (an asyncio HTTP/1.1 server in this process, keep-alive, 204);
- the `lc-webhooks` worker as its own process (retry schedule 1 s repeated, no jitter);
- phase 1: `--rate` events/s for `--seconds`; latency = the receiver's arrival time minus
  the event's envelope time (same clock), p50/p99 over every delivery;
- phase 2: the receiver answers 503 for `--outage` seconds while the same rate goes on,
  then 204 again; catch-up = backlog events per subscription / seconds to deliver them all,
  against `EventStore.read` of the same events (decode each) in the same run.

usage: uv run python bench/webhooks.py [--rate 500] [--seconds 20] [--subs 10] [--outage 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nats

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
        self.transport = transport  # type: ignore[assignment]

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


async def wait_for(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.05)
    return False


async def main(rate: float, seconds: float, subs: int, outage: float) -> None:
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
        board = Board()
        port = free_port()
        server = await asyncio.get_running_loop().create_server(
            lambda: Receiver(board), "127.0.0.1", port
        )
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
        assert await wait_for(lambda: board.count() >= subs, 60), "the worker did not start"

        # Phase 1: steady rate.
        base = board.count()
        began = time.monotonic()
        n = await steady(store, rate, seconds, "steady")
        drained = await wait_for(lambda: board.count() >= base + n * subs, 300)
        lat = board.latencies(base)
        sustained = len(lat) / (board.last_arrival - began)
        print(
            f"steady {rate:g} events/s x {seconds:g} s to {subs} subscriptions: "
            f"{len(lat)} deliveries ({sustained:.0f}/s from the first append to the last "
            f"delivery), p50 {percentile(lat, 0.5) * 1000:.1f} ms, "
            f"p99 {percentile(lat, 0.99) * 1000:.1f} ms, max {max(lat) * 1000:.0f} ms"
            + ("" if drained else " (NOT all delivered within 300 s)")
        )

        # Phase 2: outage, then catch-up.
        board.down = True
        base = board.count()
        backlog = await steady(store, rate, outage, "outage")
        board.down = False
        back_at = time.monotonic()
        caught = await wait_for(lambda: board.count() >= base + backlog * subs, 1800)
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
        server.close()
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
    args = parser.parse_args()
    asyncio.run(main(args.rate, args.seconds, args.subs, args.outage))
