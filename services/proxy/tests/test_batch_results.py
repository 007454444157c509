"""Per-line results of a batch: the first writer's answer is the one in the files, and an
ended batch leaves no results behind, against a real lc-proxy, nats-server and
simulated replica."""

from __future__ import annotations

import openai
from nats.js import JetStreamContext

from lc_clustersim.upstream import UpstreamFaults
from lc_proxy.batch_output import answered
from lc_proxy.batch_storage import RESULTS_BUCKET
from lc_testing.batches import MODEL, chat_lines, finished, lines_of, upload

ANSWER = b'{"usage": {"prompt_tokens": 7, "completion_tokens": 5}, "by": "the other replica"}'


async def results_left(jetstream: JetStreamContext, batch_id: str) -> int:
    info = await jetstream.stream_info(
        f"KV_{RESULTS_BUCKET}", subjects_filter=f"$KV.{RESULTS_BUCKET}.{batch_id}.>"
    )
    return sum((info.state.subjects or {}).values())


async def test_a_line_another_replica_recorded_first_keeps_its_answer_and_results_go(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until, jetstream
) -> None:
    upstream = await upstreams(models=[MODEL], faults=UpstreamFaults(latency_s=0.5))
    proxy = await start_proxy(proxy_batch_per_replica=2)
    await publish_service(MODEL, [upstream])
    await wait_until(lambda: proxy.app.table.get(MODEL) is not None)
    async with openai.AsyncOpenAI(base_url=proxy.base_url, api_key="x", max_retries=0) as client:
        file_id = await upload(client, chat_lines(6))
        batch = await client.batches.create(
            input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        # Lines 0 and 1 are at the replica; another lc-proxy replica (one that held the
        # batch before its lease ran out) records line 0 first.
        await wait_until(lambda: upstream.stats.in_flight == 2, timeout=10.0)
        results = await jetstream.key_value(RESULTS_BUCKET)
        other = answered("req-0", 200, "from-elsewhere", ANSWER)
        await results.create(f"{batch.id}.0", other.to_bytes())

        done = await finished(client, batch.id, timeout=20.0)
        assert done.status == "completed"
        assert done.request_counts is not None
        assert (done.request_counts.completed, done.request_counts.failed) == (6, 0)
        output = await lines_of(client, done.output_file_id)
        assert [line["custom_id"] for line in output] == [f"req-{i}" for i in range(6)]
        assert output[0]["response"]["request_id"] == "from-elsewhere"
        assert output[0]["response"]["body"]["by"] == "the other replica"
        assert {line["response"]["request_id"] for line in output[1:]} == {
            f"{batch.id}-{i}" for i in range(1, 6)
        }

        # Once the files are written the per-line results are no longer kept.
        await wait_until(
            lambda: _none_left(jetstream, batch.id), timeout=10.0, what="results purged"
        )
        assert len(await lines_of(client, done.output_file_id)) == 6


async def test_a_cancelled_batch_keeps_its_lines_in_its_file_and_no_results(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until, jetstream
) -> None:
    upstream = await upstreams(models=[MODEL], faults=UpstreamFaults(latency_s=0.2))
    proxy = await start_proxy(proxy_batch_per_replica=2)
    await publish_service(MODEL, [upstream])
    await wait_until(lambda: proxy.app.table.get(MODEL) is not None)
    async with openai.AsyncOpenAI(base_url=proxy.base_url, api_key="x", max_retries=0) as client:
        file_id = await upload(client, chat_lines(100))
        batch = await client.batches.create(
            input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
        )

        async def some_answered() -> bool:
            return await results_left(jetstream, batch.id) >= 4

        await wait_until(some_answered, timeout=20.0)
        await client.batches.cancel(batch.id)
        done = await finished(client, batch.id, timeout=10.0)
        assert done.status == "cancelled"
        assert done.request_counts is not None
        kept = await lines_of(client, done.output_file_id)
        assert len(kept) == done.request_counts.completed >= 4
        await wait_until(
            lambda: _none_left(jetstream, batch.id), timeout=10.0, what="results purged"
        )


async def _none_left(jetstream: JetStreamContext, batch_id: str) -> bool:
    return await results_left(jetstream, batch_id) == 0
