"""The Files and Batch APIs through the official OpenAI SDK, against real lc-proxy
replicas, a real nats-server and simulated model replicas."""

from __future__ import annotations

import io

import openai
import pytest

from lc_testing.batches import MODEL, chat_lines, embedding_lines, finished, jsonl, lines_of, upload


async def test_a_chat_batch_completes_with_one_line_per_custom_id(batch_proxy, wait_until) -> None:  # type: ignore[no-untyped-def]
    _, upstream, client = batch_proxy
    uploaded = await client.files.create(
        file=("input.jsonl", io.BytesIO(jsonl(chat_lines(25)))), purpose="batch"
    )
    assert uploaded.purpose == "batch"
    assert uploaded.filename == "input.jsonl"
    batch = await client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"team": "search"},
    )
    assert batch.status == "validating"
    assert batch.metadata == {"team": "search"}
    done = await finished(client, batch.id)
    assert done.status == "completed", done
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed) == (25, 25)
    assert done.error_file_id is None
    assert done.in_progress_at
    assert done.finalizing_at
    assert done.completed_at
    output = await lines_of(client, done.output_file_id)
    assert sorted(line["custom_id"] for line in output) == sorted(f"req-{i}" for i in range(25))
    first = output[0]
    assert first["response"]["status_code"] == 200
    assert first["response"]["body"]["choices"][0]["message"]["content"]
    assert first["error"] is None
    assert upstream.stats.by_endpoint["chat_completions"] == 25
    output_file = await client.files.retrieve(done.output_file_id)
    assert output_file.purpose == "batch_output"
    listed = await client.batches.list(limit=10)
    assert [b.id for b in listed.data] == [batch.id]


async def test_an_embeddings_batch_puts_upstream_errors_in_the_error_file_with_their_status(
    batch_proxy, wait_until
) -> None:  # type: ignore[no-untyped-def]
    _, _, client = batch_proxy
    file_id = await upload(client, embedding_lines(["a", "b", [], "d"]))
    batch = await client.batches.create(
        input_file_id=file_id, endpoint="/v1/embeddings", completion_window="24h"
    )
    done = await finished(client, batch.id)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.completed, done.request_counts.failed) == (3, 1)
    output = await lines_of(client, done.output_file_id)
    assert [line["custom_id"] for line in output] == ["emb-0", "emb-1", "emb-3"]
    assert output[0]["response"]["body"]["data"][0]["embedding"]
    (error,) = await lines_of(client, done.error_file_id)
    assert error["custom_id"] == "emb-2"
    assert error["response"]["status_code"] == 400
    assert error["response"]["body"]["error"]["code"] == "invalid_input"


async def test_a_replica_answering_500_lands_in_the_error_file(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until
) -> None:
    from lc_clustersim.upstream import UpstreamFaults

    upstream = await upstreams(models=["broken"], faults=UpstreamFaults(error_rate=1.0))
    proxy = await start_proxy()
    await publish_service("broken", [upstream])
    await wait_until(lambda: proxy.app.table.get("broken") is not None)
    async with openai.AsyncOpenAI(base_url=proxy.base_url, api_key="x", max_retries=0) as client:
        file_id = await upload(client, chat_lines(3, model="broken"))
        batch = await client.batches.create(
            input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        done = await finished(client, batch.id)
        assert done.status == "completed"
        assert done.output_file_id is None
        errors = await lines_of(client, done.error_file_id)
        assert sorted(e["custom_id"] for e in errors) == ["req-0", "req-1", "req-2"]
        assert {e["response"]["status_code"] for e in errors} == {500}


async def test_every_invalid_line_fails_the_batch_with_code_line_and_param(
    batch_proxy, wait_until
) -> None:  # type: ignore[no-untyped-def]
    _, upstream, client = batch_proxy
    good = chat_lines(1)[0]
    lines = [
        b"{not json",
        jsonl([good]).strip(),
        jsonl([good]).strip(),
        jsonl([{**good, "custom_id": "u", "url": "/v1/embeddings"}]).strip(),
        jsonl([{**good, "custom_id": "m", "body": {"messages": []}}]).strip(),
        jsonl([{**good, "custom_id": "x", "body": {"model": "no-such-model"}}]).strip(),
        jsonl([{**good, "custom_id": "s", "body": {"model": MODEL, "stream": True}}]).strip(),
    ]
    file_id = await upload(client, b"\n".join(lines) + b"\n")
    batch = await client.batches.create(
        input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    done = await finished(client, batch.id)
    assert done.status == "failed"
    assert done.failed_at is not None
    assert done.errors is not None
    assert [(e.code, e.line, e.param) for e in done.errors.data or []] == [
        ("invalid_json_line", 1, None),
        ("duplicate_custom_id", 3, "custom_id"),
        ("mismatched_url", 4, "url"),
        ("missing_required_parameter", 5, "body.model"),
        ("model_not_found", 6, "body.model"),
        ("invalid_value", 7, "body.stream"),
    ]
    assert upstream.stats.requests == 0


async def test_bad_requests_get_openai_errors_with_their_status(batch_proxy) -> None:  # type: ignore[no-untyped-def]
    _, _, client = batch_proxy
    with pytest.raises(openai.NotFoundError) as unknown_file:
        await client.batches.create(
            input_file_id="file-0123", endpoint="/v1/chat/completions", completion_window="24h"
        )
    assert unknown_file.value.code == "file_not_found"
    with pytest.raises(openai.NotFoundError):
        await client.files.retrieve("file-nope")
    with pytest.raises(openai.NotFoundError):
        await client.files.content("file-nope")
    with pytest.raises(openai.NotFoundError) as unknown_batch:
        await client.batches.retrieve("batch_nope")
    assert unknown_batch.value.code == "batch_not_found"
    with pytest.raises(openai.NotFoundError):
        await client.batches.cancel("batch_nope")
    with pytest.raises(openai.BadRequestError) as purpose:
        await client.files.create(file=("a.jsonl", io.BytesIO(b"{}\n")), purpose="fine-tune")
    assert purpose.value.param == "purpose"
    file_id = await upload(client, chat_lines(1))
    for wrong in (
        {"endpoint": "/v1/audio/speech", "completion_window": "24h"},
        {"endpoint": "/v1/chat/completions", "completion_window": "1h"},
        {
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
            "metadata": {f"k{i}": "v" for i in range(17)},
        },
    ):
        with pytest.raises(openai.BadRequestError) as bad:
            await client.batches.create(input_file_id=file_id, **wrong)  # type: ignore[arg-type]
        assert bad.value.code == "invalid_value"
    for limit in (0, 101):
        with pytest.raises(openai.BadRequestError):
            await client.batches.list(limit=limit)
    too_many = b"".join(b"{}\n" for _ in range(50_001))
    with pytest.raises(openai.APIStatusError) as large:
        await client.files.create(file=("big.jsonl", io.BytesIO(too_many)), purpose="batch")
    assert large.value.status_code == 413


async def test_an_output_file_cannot_be_a_batch_input_and_files_can_be_deleted(
    batch_proxy, wait_until
) -> None:  # type: ignore[no-untyped-def]
    _, _, client = batch_proxy
    file_id = await upload(client, chat_lines(2))
    batch = await client.batches.create(
        input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    done = await finished(client, batch.id)
    assert done.output_file_id is not None
    with pytest.raises(openai.BadRequestError) as wrong_purpose:
        await client.batches.create(
            input_file_id=done.output_file_id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
        )
    assert wrong_purpose.value.code == "invalid_file_purpose"
    listed = await client.files.list(purpose="batch")
    assert [f.id for f in listed.data] == [file_id]
    deleted = await client.files.delete(file_id)
    assert deleted.deleted
    with pytest.raises(openai.NotFoundError):
        await client.files.retrieve(file_id)
    assert [f.id for f in (await client.files.list()).data] == [done.output_file_id]
