"""The OpenAI SDK's Files and Batch calls against a real `lc up`, only `base_url` changed:
a chat batch and an embeddings batch run to `completed` with one output line per
`custom_id`, the list shows both, and the batch events reach lcd's audit log."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

from lc_testing.product_docs import LLAMA, PROJECT

from .stack_process import Stack

EMBEDDER: dict[str, Any] = {
    "name": "embedder",
    "tier": "inference",
    "kind": {
        "model": {
            "modelName": "BAAI/bge-small-en-v1.5",
            "dtype": "bfloat16",
            "endpoints": ["embeddings"],
        }
    },
}


def eventually(check: Callable[[], Any], within: float = 60.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s (last: {result!r})")
        time.sleep(0.2)


def jsonl(lines: list[dict[str, Any]]) -> io.BytesIO:
    return io.BytesIO(b"".join(json.dumps(line).encode() + b"\n" for line in lines))


def run_batch(client: openai.OpenAI, endpoint: str, lines: list[dict[str, Any]]) -> Any:
    file = client.files.create(file=("in.jsonl", jsonl(lines)), purpose="batch")
    batch = client.batches.create(
        input_file_id=file.id,
        endpoint=endpoint,  # type: ignore[arg-type]
        completion_window="24h",
    )
    return eventually(
        lambda: (
            (b := client.batches.retrieve(batch.id)).status
            in ("completed", "failed", "expired", "cancelled")
            and b
        )
    )


@pytest.mark.e2e
def test_batches_through_the_openai_sdk_on_lc_up(stack: Stack) -> None:
    stack.start()
    api = httpx.Client(base_url=f"{stack.url}/api", timeout=10)
    assert api.post("/v1/projects", json=PROJECT).status_code == 201
    for spec in (LLAMA, EMBEDDER):
        answer = api.post("/v1/projects/default/services", json=spec)
        assert answer.status_code == 201, answer.text
    client = openai.OpenAI(base_url=f"{stack.url}/v1", api_key="unused")
    chat_model = "meta-llama/Llama-3.1-8B-Instruct"
    embed_model = "BAAI/bge-small-en-v1.5"
    eventually(
        lambda: {chat_model, embed_model} <= {m.id for m in client.models.list().data}, 120.0
    )

    chat = run_batch(
        client,
        "/v1/chat/completions",
        [
            {
                "custom_id": f"chat-{i}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"model": chat_model, "messages": [{"role": "user", "content": f"#{i}"}]},
            }
            for i in range(20)
        ],
    )
    assert chat.status == "completed"
    assert chat.request_counts.completed == 20
    output = client.files.content(chat.output_file_id).text.splitlines()
    assert sorted(json.loads(line)["custom_id"] for line in output) == sorted(
        f"chat-{i}" for i in range(20)
    )

    embeddings = run_batch(
        client,
        "/v1/embeddings",
        [
            {
                "custom_id": f"emb-{i}",
                "method": "POST",
                "url": "/v1/embeddings",
                "body": {"model": embed_model, "input": f"text {i}"},
            }
            for i in range(10)
        ],
    )
    assert embeddings.status == "completed"
    lines = [
        json.loads(x) for x in client.files.content(embeddings.output_file_id).text.splitlines()
    ]
    assert len(lines) == 10
    assert all(line["response"]["body"]["data"][0]["embedding"] for line in lines)

    listed = client.batches.list(limit=10)
    assert [b.id for b in listed.data] == [embeddings.id, chat.id]
    with pytest.raises(openai.ConflictError):
        client.batches.cancel(chat.id)

    def audited() -> bool:
        events = api.get("/v1/events", params={"order": "desc"}).json()
        types = {e["type"] for e in events.get("items", [])}
        return {"batch.created", "batch.in_progress", "batch.completed"} <= types

    eventually(audited, 30.0)
