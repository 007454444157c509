"""Batches over time: cancel, expiry, a restarted or killed lc-proxy replica, API-key
ownership, lifecycle events and usage, through the OpenAI SDK against real replicas."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import openai
import orjson
import pytest
from nats.js import JetStreamContext

from lc_clustersim.upstream import UpstreamFaults
from lc_contracts.subjects import batch_subject
from lc_testing.batches import MODEL, chat_lines, finished, lines_of, upload

KEY_A = "lc-" + "a" * 40
KEY_B = "lc-" + "b" * 40


async def created(client: openai.AsyncOpenAI, lines: list[dict[str, Any]]) -> str:
    file_id = await upload(client, lines)
    batch = await client.batches.create(
        input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    return batch.id


async def progressed(client: openai.AsyncOpenAI, batch_id: str, at_least: int) -> bool:
    batch = await client.batches.retrieve(batch_id)
    counts = batch.request_counts
    return counts is not None and counts.completed + counts.failed >= at_least


def custom_ids(lines: list[dict[str, Any]]) -> list[str]:
    return sorted(line["custom_id"] for line in lines)


async def test_cancel_stops_dispatch_and_keeps_what_completed(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until
) -> None:
    upstream = await upstreams(models=[MODEL], faults=UpstreamFaults(latency_s=0.2))
    proxy = await start_proxy(proxy_batch_per_replica=2)
    await publish_service(MODEL, [upstream])
    await wait_until(lambda: proxy.app.table.get(MODEL) is not None)
    async with openai.AsyncOpenAI(base_url=proxy.base_url, api_key="x", max_retries=0) as client:
        batch_id = await created(client, chat_lines(200))
        await wait_until(lambda: progressed(client, batch_id, 4), timeout=20.0)
        asked = time.monotonic()
        cancelling = await client.batches.cancel(batch_id)
        assert cancelling.status == "cancelling"
        assert cancelling.cancelling_at is not None
        done = await finished(client, batch_id, timeout=10.0)
        assert time.monotonic() - asked < 10.0
        assert done.status == "cancelled"
        assert done.cancelled_at is not None
        sent = upstream.stats.requests
        assert done.request_counts is not None
        assert done.request_counts.total == 200
        kept = await lines_of(client, done.output_file_id)
        assert len(kept) == done.request_counts.completed >= 4
        assert sent < 30
        # nothing more is sent once cancelled, and a second cancel is harmless
        assert (await client.batches.cancel(batch_id)).status == "cancelled"
        await asyncio.sleep(0.5)  # a window for stray sends to show up, not synchronisation
        assert upstream.stats.requests == sent


async def test_a_batch_past_its_window_expires_with_the_rest_as_batch_expired(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until
) -> None:
    upstream = await upstreams(models=[MODEL], faults=UpstreamFaults(latency_s=0.3))
    proxy = await start_proxy(proxy_batch_window_s=2.0, proxy_batch_per_replica=1)
    await publish_service(MODEL, [upstream])
    await wait_until(lambda: proxy.app.table.get(MODEL) is not None)
    async with openai.AsyncOpenAI(base_url=proxy.base_url, api_key="x", max_retries=0) as client:
        batch_id = await created(client, chat_lines(40))
        done = await finished(client, batch_id, timeout=15.0)
        assert done.status == "expired"
        assert done.expired_at is not None
        output = await lines_of(client, done.output_file_id)
        errors = await lines_of(client, done.error_file_id)
        assert 1 <= len(output) < 40
        assert {e["error"]["code"] for e in errors} == {"batch_expired"}
        assert custom_ids(output + errors) == sorted(f"req-{i}" for i in range(40))
        assert done.request_counts is not None
        assert done.request_counts.failed == len(errors)


async def test_a_batch_survives_a_restart_of_its_only_replica(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until
) -> None:
    upstream = await upstreams(models=[MODEL], faults=UpstreamFaults(latency_s=0.05))
    settings = {"proxy_batch_lease_s": 1.0, "proxy_batch_per_replica": 4}
    first = await start_proxy(**settings)
    await publish_service(MODEL, [upstream])
    await wait_until(lambda: first.app.table.get(MODEL) is not None)
    async with openai.AsyncOpenAI(base_url=first.base_url, api_key="x", max_retries=0) as client:
        batch_id = await created(client, chat_lines(120))
        await wait_until(lambda: progressed(client, batch_id, 20), timeout=20.0)
    first.server.should_exit = True
    await wait_until(lambda: first.app.batches is None, timeout=10.0)
    before = upstream.stats.requests
    assert before < 120

    second = await start_proxy(**settings)
    async with openai.AsyncOpenAI(base_url=second.base_url, api_key="x", max_retries=0) as client:
        done = await finished(client, batch_id, timeout=30.0)
        assert done.status == "completed"
        output = await lines_of(client, done.output_file_id)
    assert custom_ids(output) == sorted(f"req-{i}" for i in range(120))
    # only what was in flight when the replica stopped is sent twice
    assert upstream.stats.requests <= 120 + 4


async def test_nothing_starts_on_a_lease_past_its_time(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until, monkeypatch
) -> None:
    """A renewal held up (NATS slow, the replica busy) past the lease's end: another
    replica may hold the batch by now, so no request of it starts until the lease is
    renewed; the batch goes on once it is."""
    upstream = await upstreams(models=[MODEL], faults=UpstreamFaults(latency_s=0.05))
    proxy = await start_proxy(proxy_batch_lease_s=1.0, proxy_batch_per_replica=4)
    await publish_service(MODEL, [upstream])
    await wait_until(lambda: proxy.app.table.get(MODEL) is not None)
    dispatcher = proxy.app.batches.dispatcher
    storage = dispatcher.storage
    renew = storage.renew_lease
    renewals_resume = asyncio.Event()

    async def held_up(*args: Any, **kwargs: Any) -> Any:
        await renewals_resume.wait()
        return await renew(*args, **kwargs)

    async with openai.AsyncOpenAI(base_url=proxy.base_url, api_key="x", max_retries=0) as client:
        batch_id = await created(client, chat_lines(200))
        await wait_until(lambda: progressed(client, batch_id, 20), timeout=20.0)
        monkeypatch.setattr(storage, "renew_lease", held_up)
        lease = dispatcher.running[batch_id].lease
        await wait_until(lambda: time.time() > lease.until + 0.3, timeout=5.0)
        sent = upstream.stats.requests
        await asyncio.sleep(0.5)  # a window for requests that should not start
        assert upstream.stats.requests == sent < 200
        renewals_resume.set()
        done = await finished(client, batch_id, timeout=30.0)
        assert done.status == "completed"
        output = await lines_of(client, done.output_file_id)
    assert custom_ids(output) == sorted(f"req-{i}" for i in range(200))
    assert upstream.stats.requests == 200


async def test_two_replicas_one_killed_every_custom_id_exactly_once(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until
) -> None:
    upstream = await upstreams(models=[MODEL], faults=UpstreamFaults(latency_s=0.05))
    settings = {"proxy_batch_lease_s": 1.0, "proxy_batch_per_replica": 4}
    one = await start_proxy(**settings)
    two = await start_proxy(**settings)
    await publish_service(MODEL, [upstream])
    await wait_until(
        lambda: one.app.table.get(MODEL) is not None and two.app.table.get(MODEL) is not None
    )
    async with openai.AsyncOpenAI(base_url=one.base_url, api_key="x", max_retries=0) as client:
        batch_id = await created(client, chat_lines(150))
        await wait_until(lambda: progressed(client, batch_id, 20), timeout=20.0)

    def holder() -> Any:
        for proxy in (one, two):
            batches = proxy.app.batches
            if batches is not None and batch_id in batches.dispatcher.running:
                return proxy
        return None

    await wait_until(lambda: holder() is not None)
    victim = holder()
    survivor = two if victim is one else one
    victim.server.should_exit = True
    async with openai.AsyncOpenAI(base_url=survivor.base_url, api_key="x", max_retries=0) as client:
        done = await finished(client, batch_id, timeout=30.0)
        assert done.status == "completed"
        assert done.request_counts is not None
        assert done.request_counts.completed == 150
        output = await lines_of(client, done.output_file_id)
    assert custom_ids(output) == sorted(f"req-{i}" for i in range(150))
    assert upstream.stats.requests <= 150 + 4


async def test_a_key_sees_and_cancels_only_its_own_files_and_batches(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until
) -> None:
    upstream = await upstreams(models=[MODEL], faults=UpstreamFaults(latency_s=0.2))
    proxy = await start_proxy(proxy_api_keys=f"{KEY_A},{KEY_B}", proxy_batch_per_replica=1)
    await publish_service(MODEL, [upstream])
    await wait_until(lambda: proxy.app.table.get(MODEL) is not None)
    a = openai.AsyncOpenAI(base_url=proxy.base_url, api_key=KEY_A, max_retries=0)
    b = openai.AsyncOpenAI(base_url=proxy.base_url, api_key=KEY_B, max_retries=0)
    try:
        file_id = await upload(a, chat_lines(50))
        batch = await a.batches.create(
            input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        for call in (
            b.files.retrieve(file_id),
            b.files.content(file_id),
            b.files.delete(file_id),
            b.batches.retrieve(batch.id),
            b.batches.cancel(batch.id),
            b.batches.create(
                input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
            ),
        ):
            with pytest.raises(openai.NotFoundError):
                await call
        assert (await b.files.list()).data == []
        assert (await b.batches.list()).data == []
        assert [x.id for x in (await a.batches.list()).data] == [batch.id]
        assert (await a.batches.cancel(batch.id)).status == "cancelling"
    finally:
        await a.close()
        await b.close()


async def test_lifecycle_events_and_usage_counted_once(  # type: ignore[no-untyped-def]
    batch_proxy, jetstream: JetStreamContext, wait_until
) -> None:
    proxy, _, client = batch_proxy
    batch_id = await created(client, chat_lines(5))
    done = await finished(client, batch_id)
    assert done.status == "completed"
    sub = await jetstream.subscribe(batch_subject(batch_id), ordered_consumer=True)
    types = []
    try:
        while len(types) < 3:
            msg = await sub.next_msg(timeout=5.0)
            types.append(orjson.loads(msg.data)["type"])
    finally:
        await sub.unsubscribe()
    assert types == ["batch.created", "batch.in_progress", "batch.completed"]
    # an ended batch leaves the dispatchers' working set
    assert proxy.app.batches is not None
    assert batch_id not in await proxy.app.batches.storage.active_batch_ids()
    usage = proxy.app.metrics.usage.snapshot("x", proxy.app.started_at, proxy.app.started_at)
    (model,) = usage.models
    assert model.requests == 5
    raw = (await client.batches.with_raw_response.retrieve(batch_id)).http_response.json()
    assert raw["usage"]["output_tokens"] == model.completion_tokens > 0
    assert raw["usage"]["input_tokens"] == model.prompt_tokens


async def test_batch_requests_make_room_for_interactive_ones(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until
) -> None:
    upstream = await upstreams(
        models=[MODEL], faults=UpstreamFaults(latency_s=0.1, token_delay_s=0.05)
    )
    proxy = await start_proxy(proxy_batch_per_replica=4)
    await publish_service(MODEL, [upstream])
    await wait_until(lambda: proxy.app.table.get(MODEL) is not None)
    assert proxy.app.batches is not None
    dispatcher = proxy.app.batches.dispatcher
    async with openai.AsyncOpenAI(base_url=proxy.base_url, api_key="x", max_retries=0) as client:
        batch_id = await created(client, chat_lines(300))
        await wait_until(lambda: dispatcher.batch_in_flight.get(MODEL, 0) == 4)

        async def interactive() -> int:
            stream = await client.chat.completions.create(
                model=MODEL,
                messages=[{"role": "user", "content": "now"}],
                stream=True,
                max_tokens=60,
            )
            return len([chunk async for chunk in stream])

        talks = [asyncio.create_task(interactive()) for _ in range(4)]
        # the four interactive streams take the model's whole budget: the batch drains
        await wait_until(lambda: dispatcher.batch_in_flight.get(MODEL, 0) == 0, timeout=2.0)
        assert not any(t.done() for t in talks)
        for _ in range(10):
            assert dispatcher.batch_in_flight.get(MODEL, 0) == 0
            await asyncio.sleep(0.05)  # sampling while the streams last, not synchronisation
        assert all(n > 1 for n in await asyncio.gather(*talks))
        # and once they are done (and a quiet moment passed), the batch takes it all back
        await wait_until(lambda: dispatcher.batch_in_flight.get(MODEL, 0) == 4, timeout=5.0)
        await client.batches.cancel(batch_id)


async def test_a_small_batch_is_not_stuck_behind_a_huge_one_and_models_run_side_by_side(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until
) -> None:
    slow = UpstreamFaults(latency_s=0.05)
    one = await upstreams(models=[MODEL], faults=slow)
    other = await upstreams(models=["qwen-7b"], faults=slow)
    proxy = await start_proxy(proxy_batch_per_replica=2)
    await publish_service(MODEL, [one])
    await publish_service("qwen-7b", [other])
    await wait_until(lambda: proxy.app.table.get("qwen-7b") is not None)
    async with openai.AsyncOpenAI(base_url=proxy.base_url, api_key="x", max_retries=0) as client:
        huge = await created(client, chat_lines(400))
        await wait_until(lambda: progressed(client, huge, 2))
        small = await created(client, chat_lines(10, prefix="small"))
        elsewhere = await created(client, chat_lines(10, model="qwen-7b", prefix="q"))
        for batch_id in (small, elsewhere):
            done = await finished(client, batch_id, timeout=20.0)
            assert done.status == "completed"
        big = await client.batches.retrieve(huge)
        assert big.status == "in_progress"
        assert big.request_counts is not None
        assert big.request_counts.completed < 200
        await client.batches.cancel(huge)
