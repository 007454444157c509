"""The OpenAI Python SDK against lc-proxy, in front of simulated replicas."""

from __future__ import annotations

import base64
import struct

import openai
import pytest

from lc_contracts.status import ServicePhase


@pytest.fixture
async def served(upstreams, start_proxy, publish_service, wait_until):  # type: ignore[no-untyped-def]
    upstream = await upstreams(models=["llama-3-8b"])
    proxy = await start_proxy()
    await publish_service("llama-3-8b", [upstream])
    await wait_until(lambda: proxy.app.table.get("llama-3-8b") is not None)
    client = openai.AsyncOpenAI(base_url=proxy.base_url, api_key="unused", max_retries=0)
    yield proxy, upstream, client
    await client.close()


async def test_lists_ready_models_and_gets_one(served) -> None:  # type: ignore[no-untyped-def]
    _, _, client = served
    models = await client.models.list()
    assert [m.id for m in models.data] == ["llama-3-8b"]
    model = await client.models.retrieve("llama-3-8b")
    assert model.id == "llama-3-8b"
    assert model.owned_by == "default"


async def test_chat_completion(served) -> None:  # type: ignore[no-untyped-def]
    _, upstream, client = served
    answer = await client.chat.completions.create(
        model="llama-3-8b", messages=[{"role": "user", "content": "hello there"}]
    )
    assert answer.choices[0].message.content
    assert answer.usage is not None
    assert answer.usage.completion_tokens > 0
    assert upstream.stats.by_endpoint["chat_completions"] == 1


async def test_streamed_chat_completion_with_usage(served) -> None:  # type: ignore[no-untyped-def]
    proxy, _, client = served
    stream = await client.chat.completions.create(
        model="llama-3-8b",
        messages=[{"role": "user", "content": "stream please"}],
        stream=True,
        stream_options={"include_usage": True},
        max_tokens=12,
    )
    text = []
    usage = None
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text.append(chunk.choices[0].delta.content)
        if chunk.usage is not None:
            usage = chunk.usage
    assert len(text) == 12
    assert usage is not None
    assert usage.completion_tokens == 12
    counters = proxy.app.metrics.usage.snapshot("x", proxy.app.started_at, proxy.app.started_at)
    (model,) = counters.models
    assert model.completion_tokens == 12
    assert model.prompt_tokens == usage.prompt_tokens
    assert sum(model.ttft_buckets) == 1


async def test_completion_plain_and_streamed(served) -> None:  # type: ignore[no-untyped-def]
    _, _, client = served
    answer = await client.completions.create(model="llama-3-8b", prompt="Once upon", max_tokens=5)
    assert answer.choices[0].text
    stream = await client.completions.create(
        model="llama-3-8b", prompt="Once upon", max_tokens=5, stream=True
    )
    pieces = [c.choices[0].text async for c in stream if c.choices]
    assert "".join(pieces).strip() == answer.choices[0].text.strip()


async def test_embeddings_float_and_base64(served) -> None:  # type: ignore[no-untyped-def]
    _, _, client = served
    as_float = await client.embeddings.create(
        model="llama-3-8b", input=["a", "b"], encoding_format="float"
    )
    assert [e.index for e in as_float.data] == [0, 1]
    as_b64 = await client.embeddings.with_raw_response.create(
        model="llama-3-8b", input=["a", "b"], encoding_format="base64"
    )
    raw = as_b64.http_response.json()["data"][0]["embedding"]
    decoded = struct.unpack(f"<{len(base64.b64decode(raw)) // 4}f", base64.b64decode(raw))
    assert decoded == pytest.approx(as_float.data[0].embedding, abs=1e-6)


async def test_unknown_model_is_not_found(served) -> None:  # type: ignore[no-untyped-def]
    _, _, client = served
    with pytest.raises(openai.NotFoundError) as caught:
        await client.chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.code == "model_not_found"
    assert caught.value.param == "model"
    with pytest.raises(openai.NotFoundError):
        await client.models.retrieve("no-such-model")


async def test_model_appears_when_ready_and_disappears_when_failed(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until
) -> None:
    upstream = await upstreams(models=["qwen-7b"])
    proxy = await start_proxy()
    client = openai.AsyncOpenAI(base_url=proxy.base_url, api_key="unused", max_retries=0)
    try:
        assert (await client.models.list()).data == []
        await publish_service("qwen-7b", [upstream], phase=ServicePhase.DEPLOYING)
        await publish_service("qwen-7b", [upstream], phase=ServicePhase.READY)

        async def listed() -> bool:
            return [m.id for m in (await client.models.list()).data] == ["qwen-7b"]

        await wait_until(listed, timeout=2.0)
        answer = await client.chat.completions.create(
            model="qwen-7b", messages=[{"role": "user", "content": "hi"}]
        )
        assert answer.model == "qwen-7b"

        await publish_service("qwen-7b", [upstream], phase=ServicePhase.FAILED)

        async def gone() -> bool:
            return (await client.models.list()).data == []

        await wait_until(gone, timeout=2.0)
        with pytest.raises(openai.NotFoundError):
            await client.chat.completions.create(
                model="qwen-7b", messages=[{"role": "user", "content": "hi"}]
            )
    finally:
        await client.close()
