"""Consuming LC_EVENTS: the event store's reader against FastStream's JetStream subscribers.

The workers (reconciler, domain verifier) fold LC_EVENTS into state they keep in memory,
so at every start they read the stream from sequence 1, then follow it. This measures
that read, one run, same server, same events, each message JSON-decoded once:

- `EventStore.read` (nats-py, an ephemeral pull consumer without acks, batches of 1,000);
- FastStream 0.7.8 (`faststream[nats]`, with the same nats-py), three ways: a durable
  pull subscriber taking batches of 1,000, the same taking one message per call, and a
  durable push subscriber; each from the first message, explicit acks (FastStream's
  default), its per-message logging off. FastStream runs in a throwaway venv under the
  temp dir (reused across runs), never in the workspace; each variant is a fresh process
  and a fresh durable consumer, timed from the broker's start to the last message.

usage: uv run python bench/consumers.py [--events N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import nats
from throwaway_venv import throwaway_venv

from lc_contracts.events import ProjectCreated, build
from lc_contracts.subjects import project_subject
from lc_embedded import EmbeddedNats
from lc_eventstore import EventStore, provision_streams

FASTSTREAM = "faststream[nats]==0.7.8"
NATS_PY = "nats-py==2.16.0"
VARIANTS = ("pull-batch", "pull", "push")

CONSUMER = """
import asyncio, json, sys, time
from typing import Any
from faststream.nats import JStream, NatsBroker, PullSub
from nats.js.api import DeliverPolicy

url, n, variant, durable = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]


async def main() -> None:
    broker = NatsBroker(url, logger=None)
    done = asyncio.get_running_loop().create_future()
    count = 0
    stream = JStream("LC_EVENTS", declare=False)

    def seen(k: int) -> None:
        nonlocal count
        count += k
        if count >= n and not done.done():
            done.set_result(None)

    options: dict[str, Any] = dict(stream=stream, durable=durable, deliver_policy=DeliverPolicy.ALL)
    # FastStream decodes each JSON body itself and hands the handler the result.
    if variant == "pull-batch":
        @broker.subscriber("lc.events.>", pull_sub=PullSub(batch_size=1000, batch=True), **options)
        async def batch(body: list[dict[str, Any]]) -> None:
            seen(len(body))
    elif variant == "pull":
        @broker.subscriber("lc.events.>", pull_sub=PullSub(batch_size=1000), **options)
        async def one(body: dict[str, Any]) -> None:
            seen(1)
    else:
        @broker.subscriber("lc.events.>", **options)
        async def push(body: dict[str, Any]) -> None:
            seen(1)

    began = time.perf_counter()
    await broker.start()
    await asyncio.wait_for(done, 600)
    elapsed = time.perf_counter() - began
    await broker.stop()
    print(json.dumps({"rate": n / elapsed}))


asyncio.run(main())
"""


def faststream_venv(root: Path) -> tuple[Path | None, str]:
    """A venv with FastStream (reused across runs), or why not."""
    return throwaway_venv(root, "lc-bench-faststream-0.7.8", [FASTSTREAM, NATS_PY], "python")


async def read_rate(js: nats.js.JetStreamContext, n: int) -> float:
    began = time.perf_counter()
    count = 0
    async for batch in EventStore(js).read(1):
        for message in batch:
            json.loads(message.data)
        count += len(batch)
    assert count == n, count
    return n / (time.perf_counter() - began)


def faststream_rate(python: Path, script: Path, url: str, n: int, variant: str, run: int) -> float:
    answer = subprocess.run(
        [str(python), str(script), url, str(n), variant, f"bench-{variant}-{run}"],
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    return float(json.loads(answer.stdout.strip().splitlines()[-1])["rate"])


async def main(n: int, rounds: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="lc-bench-consumers-"))
    server = EmbeddedNats(root / "nats", sync_always=False).start()
    try:
        python, why = await asyncio.to_thread(faststream_venv, Path(tempfile.gettempdir()))
        script = root / "consume.py"
        script.write_text(CONSUMER)
        client = await nats.connect(server.url)
        js = client.jetstream()
        await provision_streams(js)
        events = [
            build(
                ProjectCreated(slug=f"p{i}", name=f"Project {i}"),
                subject=project_subject(f"p{i}"),
                source="bench",
            )
            for i in range(n)
        ]
        await EventStore(js).append_pipelined(events)
        print(f"reading {n:,} events of LC_EVENTS from the start, best of {rounds} rounds")
        rates: dict[str, list[float]] = {"EventStore.read": []}
        for run in range(rounds):  # interleaved, so a disturbance hits every variant alike
            rates["EventStore.read"].append(await read_rate(js, n))
            if python is None:
                continue
            for variant in VARIANTS:
                rate = await asyncio.to_thread(
                    faststream_rate, python, script, server.url, n, variant, run
                )
                rates.setdefault(f"FastStream {variant}", []).append(rate)
        await client.close()
        baseline = max(rates["EventStore.read"])
        for name, values in rates.items():
            best = max(values)
            print(f"  {name:24s} {best:9,.0f} events/s   {best / baseline:.2f} of EventStore.read")
        if python is None:
            print(f"  FastStream: not run: {why}")
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.rounds))
