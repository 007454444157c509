"""Several delivery processes (`LC_WEBHOOK_PROCESSES`): the subscriptions shared between
real child processes, each event to each subscription once and in order; a killed child
started again without losing an event; no child left behind by a killed worker."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from nats.js import JetStreamContext

from lc_runtime.cancellation import cancel_until_done
from lc_runtime.probes import Probes
from lc_testing import free_port, wait_until
from lc_webhooks.delivery_processes import DeliveryProcesses
from lc_webhooks.main import run
from lc_webhooks.settings import WebhookSettings
from lc_webhooks.shares import owner

from .receiver import Answer, Receiver
from .test_delivery import HOOKS, projects, slugs_of, subscribe, verified, worker_process

WITHIN = 60.0  # seconds: child processes start slowly on a shared machine


@contextlib.asynccontextmanager
async def receivers(n: int) -> AsyncIterator[list[Receiver]]:
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(Receiver().serving()) for _ in range(n)]


async def readers_of(jetstream: JetStreamContext, sub_id: str) -> int:
    """The pull requests waiting on the subscription's consumer: one per courier reading it
    (each courier waits on one pull for up to a second at a time)."""
    info = await jetstream.consumer_info("LC_EVENTS", f"lc-webhook-{sub_id}")
    return int(info.num_waiting or 0)


async def test_two_processes_share_the_subscriptions_each_event_once_in_order(
    lcd: httpx.AsyncClient,
    worker_settings: Callable[..., WebhookSettings],
    jetstream: JetStreamContext,
) -> None:
    probes = Probes("webhooks")
    task = asyncio.create_task(run(worker_settings(webhook_processes=2), probes))
    try:
        async with receivers(6) as rs:
            subs = [await subscribe(lcd, r.url, ["project.*"]) for r in rs[:-1]]
            # The last one in the share the others left empty, should they all be in one.
            for _ in range(40):
                last = await subscribe(lcd, rs[-1].url, ["project.*"])
                if {owner(sub_id, 2) for sub_id, _ in [*subs, last]} == {0, 1}:
                    break
                assert (await lcd.delete(f"{HOOKS}/{last[0]}")).status_code == 204
            subs.append(last)
            assert {owner(sub_id, 2) for sub_id, _ in subs} == {0, 1}
            ready = await wait_until(
                lambda: not probes.unmet(), timeout=WITHIN, what="both processes ready"
            )
            assert ready
            slugs = [f"s{i}" for i in range(8)]
            await projects(lcd, *slugs)
            for r in rs:
                await wait_until(lambda r=r: len(r.received) >= 8, timeout=WITHIN, what="all 8")
            # Nothing more comes: no subscription is read by two processes.
            await projects(lcd, "last")
            for r in rs:
                await wait_until(lambda r=r: len(r.received) >= 9, timeout=WITHIN, what="last")
            for r, (_, secret) in zip(rs, subs, strict=True):
                assert slugs_of(r.received) == [*slugs, "last"]
                for got in r.received:
                    verified(secret, got)
            # One courier of one process reads each consumer: watched over two seconds,
            # longer than a pull waits. Two readers would keep two pulls waiting nearly
            # all the time; one courier's next pull can overlap its last for a moment
            # (the server expires a pull as the client gives up on it), so the typical
            # count is what tells.
            seen: dict[str, list[int]] = {sub_id: [] for sub_id, _ in subs}
            until = asyncio.get_running_loop().time() + 2.0
            while asyncio.get_running_loop().time() < until:
                for sub_id, _ in subs:
                    seen[sub_id].append(await readers_of(jetstream, sub_id))
            for sub_id, counts in seen.items():
                assert sorted(counts)[len(counts) // 2] <= 1, (sub_id, counts)
    finally:
        await cancel_until_done(task)
    assert "delivery processes" in probes.report()["checks"]


async def test_a_killed_delivery_process_is_started_again_and_loses_nothing(
    lcd: httpx.AsyncClient,
    worker_settings: Callable[..., WebhookSettings],
    receiver: Receiver,
) -> None:
    processes = DeliveryProcesses(worker_settings(webhook_processes=2), Probes("webhooks"))
    task = asyncio.create_task(processes.run())
    try:
        sub_id, _ = await subscribe(lcd, receiver.url, ["project.*"])
        share = owner(sub_id, 2)
        receiver.script = [Answer(200), Answer(200, delay_s=8.0)]
        await projects(lcd, "k1", "k2", "k3")
        await wait_until(lambda: len(receiver.received) >= 2, timeout=WITHIN, what="k2 sent")
        killed = processes.pids[share]
        os.kill(killed, signal.SIGKILL)  # mid-delivery: k2's answer never arrives
        await wait_until(
            lambda: processes.pids[share] != killed, timeout=WITHIN, what="a new process"
        )
        await wait_until(lambda: len(receiver.received) >= 4, timeout=WITHIN, what="k2, k3")
    finally:
        await cancel_until_done(task)
    assert slugs_of(receiver.received) == ["k1", "k2", "k2", "k3"]
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert ids[1] == ids[2]
    assert processes.starts == 3  # two, and the one started again


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(stat.parent.name))
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state != "Z":
                alive.add(pid)
    return alive


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
async def test_a_killed_worker_leaves_no_delivery_process(
    lcd: httpx.AsyncClient, worker_settings: Callable[..., WebhookSettings]
) -> None:
    port = free_port()
    parent = worker_process(worker_settings(webhook_processes=2, probe_port=port))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as probe:

            async def ready() -> bool:
                with contextlib.suppress(httpx.HTTPError):
                    return (await probe.get("/readyz")).status_code == 200
                return False

            await wait_until(ready, timeout=WITHIN, what="the worker ready")
        children = _children(parent.pid)
        assert len(children) == 2
    finally:
        parent.kill()  # SIGKILL: the parent cleans nothing up
        parent.wait(10)
    await wait_until(lambda: not _alive(children), timeout=10, what="the children gone")
