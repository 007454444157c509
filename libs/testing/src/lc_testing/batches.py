"""Batch API input lines and the few calls every batch test makes with an OpenAI SDK
client: upload, wait for the batch to end, read a file's lines. Used by lc-proxy's tests
and `bench/batch.py`."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from lc_testing.waiting import wait_until

if TYPE_CHECKING:
    import openai

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


async def finished(
    client: openai.AsyncOpenAI, batch_id: str, timeout: float = 30.0
) -> openai.types.Batch:
    """The batch once it ended (completed, failed, expired or cancelled)."""
    seen: dict[str, openai.types.Batch] = {}

    async def ended() -> bool:
        batch = await client.batches.retrieve(batch_id)
        seen["batch"] = batch
        return batch.status in ("completed", "failed", "expired", "cancelled")

    await wait_until(ended, timeout=timeout, interval=0.05, what=f"{batch_id} ended")
    return seen["batch"]


async def lines_of(client: openai.AsyncOpenAI, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    content = await client.files.content(file_id)
    return [json.loads(line) for line in content.content.splitlines()]


def embedding_lines(inputs: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "custom_id": f"emb-{i}",
            "method": "POST",
            "url": "/v1/embeddings",
            "body": {"model": MODEL, "input": value},
        }
        for i, value in enumerate(inputs)
    ]


async def upload(client: openai.AsyncOpenAI, lines: Iterable[dict[str, Any]] | bytes) -> str:
    raw = lines if isinstance(lines, bytes) else jsonl(lines)
    created = await client.files.create(file=("in.jsonl", io.BytesIO(raw)), purpose="batch")
    return created.id
