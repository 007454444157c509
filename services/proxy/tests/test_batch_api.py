"""The Files and Batch APIs through the official OpenAI SDK, against real lc-proxy
replicas, a real nats-server and simulated model replicas."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any

import openai
import pytest

MODEL = "llama-3-8b"


def jsonl(lines: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def chat_lines(n: int, model: str = MODEL, prefix: str = "req") -> list[dict[str, Any]]:
    return [
        {
            "custom_id": f"{prefix}-{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": model,
                "messages": [{"role": "user", "content": f"question {i}"}],
                "max_tokens": 4,
            },
        }
        for i in range(n)
    ]


@pytest.fixture
async def served(upstreams, start_proxy, publish_service, wait_until):  # type: ignore[no-untyped-def]
    upstream = await upstreams(models=[MODEL])
    proxy = await start_proxy()
    await publish_service(MODEL, [upstream])
    await wait_until(lambda: proxy.app.table.get(MODEL) is not None)
    client = openai.AsyncOpenAI(base_url=proxy.base_url, api_key="unused", max_retries=0)
    yield proxy, upstream, client
    await client.close()


async def finished(client: openai.AsyncOpenAI, batch_id: str, wait_until, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    seen: dict[str, Any] = {}

    async def ended() -> bool:
        batch = await client.batches.retrieve(batch_id)
        seen["batch"] = batch
        return batch.status in ("completed", "failed", "expired", "cancelled")

    await wait_until(ended, timeout=timeout)
    return seen["batch"]


async def lines_of(client: openai.AsyncOpenAI, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    content = await client.files.content(file_id)
    return [json.loads(line) for line in content.content.splitlines()]


async def test_a_chat_batch_completes_with_one_line_per_custom_id(served, wait_until) -> None:  # type: ignore[no-untyped-def]
    _, upstream, client = served
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
    done = await finished(client, batch.id, wait_until)
    assert done.status == "completed", done
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed) == (25, 25)
    assert done.error_file_id is None
    assert done.in_progress_at and done.finalizing_at and done.completed_at
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
