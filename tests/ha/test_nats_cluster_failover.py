"""The event store on a three-node NATS JetStream cluster: LC_EVENTS keeps three copies,
and SIGKILLing the node that leads it (the one our client is connected to) loses no
acknowledged write; the client moves to another node on its own and appends go on."""

from __future__ import annotations

import asyncio
import contextlib
import time

from nats.aio.client import Client as NatsClient
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext

from lc_contracts.events import ProjectCreated, build
from lc_contracts.streams import EVENTS_STREAM
from lc_contracts.subjects import project_subject
from lc_embedded import EmbeddedNatsCluster
from lc_eventstore import EventStore, EventStoreUnavailable, connect, provision_streams
from lc_testing import wait_until

STREAM = EVENTS_STREAM.name


async def _leader(js: JetStreamContext) -> str | None:
    with contextlib.suppress(Exception):
        info = await js.stream_info(STREAM)
        if info.cluster is not None:
            return info.cluster.leader
    return None


def _connected_node(nc: NatsClient) -> str:
    return str(nc._server_info.get("server_name", ""))


async def _lead_from(nc: NatsClient, js: JetStreamContext, node: str) -> None:
    """Step the stream's leader down until `node` leads it (each stepdown picks another)."""

    async def leads() -> bool:
        leader = await _leader(js)
        if leader == node:
            return True
        if leader is not None:
            with contextlib.suppress(Exception):
                await nc.request(f"$JS.API.STREAM.LEADER.STEPDOWN.{STREAM}", b"", timeout=2)
        return False

    await wait_until(leads, timeout=30, interval=0.5, what=f"{node} leading {STREAM}")


async def test_a_killed_stream_leader_loses_no_acknowledged_write(
    nats_cluster: EmbeddedNatsCluster,
) -> None:
    nc = await connect(nats_cluster.url, name="ha-test")
    try:
        js = nc.jetstream()
        await provision_streams(js, replicas=3)
        info = await js.stream_info(STREAM)
        assert info.config.num_replicas == 3
        assert info.cluster is not None
        assert len(info.cluster.replicas or []) == 2
        store = EventStore(js)
        victim = _connected_node(nc)
        await _lead_from(nc, js, victim)

        acked: dict[str, int] = {}
        failed_attempts = 0
        stop = asyncio.Event()

        async def write() -> None:
            nonlocal failed_attempts
            i = 0
            while not stop.is_set():
                slug = f"p{i}"
                event = build(
                    ProjectCreated(slug=slug, name=slug), subject=project_subject(slug), source="ha"
                )
                while True:  # the caller's retry of the same event (same id) until answered
                    try:
                        (seq,) = await store.append(event.subject, [event], 0)
                        break
                    except EventStoreUnavailable:
                        failed_attempts += 1
                        await asyncio.sleep(0.05)
                acked[event.id] = seq
                i += 1

        writer = asyncio.create_task(write())
        await wait_until(lambda: len(acked) >= 50, timeout=30, what="50 writes before the kill")
        before = len(acked)
        killed_at = time.monotonic()
        nats_cluster.kill(victim)
        await wait_until(
            lambda: len(acked) >= before + 100, timeout=60, what="100 writes after the kill"
        )
        recovered_s = time.monotonic() - killed_at
        stop.set()
        await writer

        assert nc.is_connected
        assert _connected_node(nc) != victim
        new_leader = await _leader(js)
        assert new_leader is not None
        assert new_leader != victim

        async def read_all() -> dict[str, list[int]] | None:
            # Right after a leader change, creating the reading consumer can time out
            # once; a reader (lcd's projector) tries again, and so does this.
            found: dict[str, list[int]] = {}
            try:
                async for batch in store.read(1):
                    for message in batch:
                        found.setdefault(message.envelope().id, []).append(message.seq)
            except NatsTimeoutError:
                return None
            return found

        stored = await wait_until(read_all, timeout=30, interval=0.5, what="the stream read")
        lost = {i for i in acked if i not in stored}
        assert not lost, f"{len(lost)} acknowledged writes are not in {STREAM}"
        assert all(stored[i] == [seq] for i, seq in acked.items()), "a write landed twice"
        print(f"kill → 100 more writes in {recovered_s:.2f}s; {failed_attempts} refused tries")

        # The killed node rejoins as the same member and catches up.
        nats_cluster.restart(victim)
        last = await store.last_seq()

        async def caught_up() -> bool:
            jsz = nats_cluster.jetstream_info(victim)
            return int(str(jsz.get("messages", 0) or 0)) >= last

        await wait_until(caught_up, timeout=30, interval=0.2, what=f"{victim} caught up")
    finally:
        await nc.close()
