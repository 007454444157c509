"""Event-store throughput, measured in one run against embedded servers.

1. Appends to JetStream awaiting each ack vs pipelined (acks collected later), under the
   default fsync policy and under `sync_interval: always`.
2. Projection rebuild (read from the stream, decode, apply in batches, checkpoint) vs a
   raw COPY of the same rows into the same table; and, to show where a rebuild's time
   goes, each of its steps alone against the same COPY: reading the events through
   nats-py, reading them with the leanest reader Python allows (a bare NATS protocol
   parser over batched direct gets), and validating them (envelope and payload).

usage: uv run python bench/eventstore.py [--events N]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import nats
import psycopg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from lc_contracts.envelope import Envelope
from lc_contracts.events import ProjectCreated, build, decode
from lc_contracts.subjects import project_subject
from lc_embedded import EmbeddedNats, EmbeddedPostgres
from lc_eventstore import EventStore, ProjectionRunner, StoredEvent, provision_streams
from lc_eventstore.projection import metadata as checkpoint_metadata

metadata = sa.MetaData()
projects = sa.Table(
    "bench_projects",
    metadata,
    sa.Column("slug", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
)


class BenchProjection:
    """A realistic read model: one row per project, inserted batch-wise."""

    name = "bench_projects"

    async def apply(self, conn: AsyncConnection, events: Sequence[StoredEvent]) -> None:
        rows = [
            {"slug": e.payload.slug, "name": e.payload.name, "seq": e.seq}
            for e in events
            if isinstance(e.payload, ProjectCreated)
        ]
        if rows:
            await conn.execute(projects.insert(), rows)

    async def reset(self, conn: AsyncConnection) -> None:
        await conn.execute(projects.delete())


def _events(n: int, prefix: str) -> list[Envelope]:
    return [
        build(
            ProjectCreated(slug=f"{prefix}{i}", name=f"Project {i}"),
            subject=project_subject(f"{prefix}{i}"),
            source="bench",
        )
        for i in range(n)
    ]


class _BareBatchReader(asyncio.Protocol):
    """The floor for reading a stream from Python: NATS's wire protocol parsed by hand,
    messages fetched with batched direct gets (no consumer, no acks, no per-message
    objects). Collects payloads; `batch_done` resolves at each batch's end-of-batch
    status. A yardstick for this benchmark only."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.payloads: list[bytes] = []
        self.batch_done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        pos, size = 0, len(buffer)
        while (end := buffer.find(b"\r\n", pos)) >= 0:
            if buffer.startswith(b"HMSG", pos):
                fields = bytes(buffer[pos + 5 : end]).split()
                header_len, total_len = int(fields[-2]), int(fields[-1])
                start = end + 2
                if start + total_len + 2 > size:
                    break
                if header_len == total_len:  # a status message: 204 ends a batch
                    if not self.batch_done.done():
                        self.batch_done.set_result(None)
                else:
                    self.payloads.append(bytes(buffer[start + header_len : start + total_len]))
                pos = start + total_len + 2
            else:
                if buffer.startswith(b"PING", pos):
                    self.transport.write(b"PONG\r\n")
                pos = end + 2
        del buffer[:pos]


async def _bare_read_rate(url: str, n: int) -> float:
    host, port = url.removeprefix("nats://").rsplit(":", 1)
    loop = asyncio.get_running_loop()
    began = time.perf_counter()
    transport, reader = await loop.create_connection(_BareBatchReader, host, int(port))
    transport.write(
        b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"protocol":1}\r\n'
        b"SUB _INBOX.bench 1\r\n"
    )
    while len(reader.payloads) < n:
        request = b'{"seq":%d,"batch":10000}' % (len(reader.payloads) + 1)
        transport.write(
            b"PUB $JS.API.DIRECT.GET.LC_EVENTS _INBOX.bench %d\r\n%s\r\n" % (len(request), request)
        )
        await reader.batch_done
        reader.batch_done = loop.create_future()
    rate = len(reader.payloads) / (time.perf_counter() - began)
    transport.close()
    return rate


def _validate_rate(payloads: Sequence[bytes]) -> float:
    began = time.perf_counter()
    for raw in payloads:
        decode(Envelope.from_bytes(raw))
    return len(payloads) / (time.perf_counter() - began)


async def _append_rates(sync_always: bool, n: int) -> tuple[float, float]:
    root = Path(tempfile.mkdtemp(prefix="lc-bench-nats-"))
    server = EmbeddedNats(root, sync_always=sync_always).start()
    try:
        client = await nats.connect(server.url)
        js = client.jetstream()
        await provision_streams(js)
        store = EventStore(js)
        events = _events(n, "s")
        began = time.perf_counter()
        for event in events:
            await store.append(event.subject, [event], 0)
        sequential = n / (time.perf_counter() - began)

        events = _events(n, "p")
        began = time.perf_counter()
        seqs = await store.append_pipelined(events)
        pipelined = n / (time.perf_counter() - began)
        assert len(set(seqs)) == n
        await client.close()
        return sequential, pipelined
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


async def _rebuild_vs_copy(n: int) -> tuple[float, float, dict[str, float]]:
    root = Path(tempfile.mkdtemp(prefix="lc-bench-"))
    nats_server = EmbeddedNats(root / "nats", sync_always=False).start()
    pg = EmbeddedPostgres(root / "pg", durable=False).start()
    try:
        pg.create_database("bench")
        client = await nats.connect(nats_server.url)
        js = client.jetstream()
        await provision_streams(js)
        await EventStore(js).append_pipelined(_events(n, "r"))

        began = time.perf_counter()
        payloads: list[bytes] = []
        async for batch in EventStore(js).read(1):
            payloads.extend(message.data for message in batch)
        read_rate = len(payloads) / (time.perf_counter() - began)
        steps = {
            "reading them through nats-py": read_rate,
            "reading them with a bare protocol parser": await _bare_read_rate(nats_server.url, n),
            "validating them (envelope + payload)": _validate_rate(payloads),
        }

        engine = create_async_engine(pg.url("bench"))
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.run_sync(checkpoint_metadata.create_all)
        runner = ProjectionRunner(engine, EventStore(js), BenchProjection())
        began = time.perf_counter()
        assert await runner.rebuild() == n
        rebuild = n / (time.perf_counter() - began)
        await engine.dispose()
        await client.close()

        rows = [(f"r{i}", f"Project {i}", i + 1) for i in range(n)]
        with psycopg.connect(pg.dsn("bench"), autocommit=True) as conn:
            conn.execute("TRUNCATE bench_projects")
            began = time.perf_counter()
            with conn.cursor().copy("COPY bench_projects (slug, name, seq) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            copy_rate = n / (time.perf_counter() - began)
            assert conn.execute("SELECT count(*) FROM bench_projects").fetchone() == (n,)
        return rebuild, copy_rate, steps
    finally:
        nats_server.stop()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


async def main(n: int) -> None:
    print(f"eventstore benchmark, {n} events per row")
    for label, sync_always in (("default fsync", False), ("sync_interval: always", True)):
        sequential, pipelined = await _append_rates(sync_always, n)
        print(
            f"append [{label}]: awaiting each ack {sequential:,.0f}/s, pipelined {pipelined:,.0f}/s, "
            f"ratio {pipelined / sequential:.1f}x"
        )
    rebuild, copy_rate, steps = await _rebuild_vs_copy(n * 4)
    print(
        f"projection rebuild {rebuild:,.0f} events/s vs raw COPY {copy_rate:,.0f} rows/s, "
        f"ratio {rebuild / copy_rate:.2f}"
    )
    print("each step of a rebuild alone, same events, as a ratio to the same COPY:")
    for step, rate in steps.items():
        print(f"  {step}: {rate:,.0f}/s, ratio {rate / copy_rate:.2f}")
    print(
        f"projection rebuild vs reading the same events through nats-py: "
        f"ratio {rebuild / steps['reading them through nats-py']:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    asyncio.run(main(parser.parse_args().events))
