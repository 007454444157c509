"""The simulated upstream speaks OpenAI's wire format, checked with the official SDK."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import openai
import pytest

from lc_clustersim.upstream import CHAT_COMPLETIONS, EMBEDDINGS, SimulatedUpstream
from lc_testing import wait_until


@pytest.fixture
async def upstream() -> AsyncIterator[SimulatedUpstream]:
    async with SimulatedUpstream(models=["sim-llama"]) as server:
        yield server


@pytest.fixture
async def client(upstream: SimulatedUpstream) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=upstream.base_url, api_key="x", max_retries=0) as c:
        yield c


async def test_models_lists_served_models(client: openai.AsyncOpenAI) -> None:
    models = await client.models.list()
    assert [m.id for m in models.data] == ["sim-llama"]
    assert (await client.models.retrieve("sim-llama")).id == "sim-llama"


async def test_chat_completion_has_content_and_usage(client: openai.AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(
        model="sim-llama", messages=[{"role": "user", "content": "Hello there, engine!"}]
    )
    assert reply.object == "chat.completion"
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.prompt_tokens > 4
    assert reply.usage.completion_tokens == 16
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + 16
    again = await client.chat.completions.create(
        model="sim-llama", messages=[{"role": "user", "content": "Hello there, engine!"}]
    )
    assert again.choices[0].message.content == reply.choices[0].message.content


async def test_chat_stream_ends_with_usage_and_done(
    client: openai.AsyncOpenAI, upstream: SimulatedUpstream
) -> None:
    stream = await client.chat.completions.create(
        model="sim-llama",
        messages=[{"role": "user", "content": "stream please"}],
        max_tokens=5,
        stream=True,
        stream_options={"include_usage": True},
    )
    text = ""
    usage = None
    finish = None
    async for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage is not None:
            usage = chunk.usage
    assert finish == "length"
    assert len(text.split()) == 5
    assert usage is not None
    assert usage.completion_tokens == 5
    # The raw stream ends with the OpenAI terminator.
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{upstream.base_url}/chat/completions",
            json={"model": "sim-llama", "messages": [], "stream": True, "max_tokens": 2},
        ) as response,
    ):
        raw = await response.read()
    assert raw.endswith(b"data: [DONE]\n\n")
    assert response.headers["Content-Type"].startswith("text/event-stream")


async def test_completions_plain_and_streaming(client: openai.AsyncOpenAI) -> None:
    reply = await client.completions.create(model="sim-llama", prompt="Once upon", max_tokens=3)
    assert reply.object == "text_completion"
    assert len(reply.choices[0].text.split()) == 3
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 3
    pieces = [
        chunk.choices[0].text
        async for chunk in await client.completions.create(
            model="sim-llama", prompt="Once upon", max_tokens=3, stream=True
        )
        if chunk.choices
    ]
    assert "".join(pieces) == reply.choices[0].text


async def test_embeddings_are_deterministic_in_float_and_base64(
    client: openai.AsyncOpenAI,
) -> None:
    as_float = await client.embeddings.create(
        model="sim-llama", input=["alpha", "beta"], encoding_format="float"
    )
    # The SDK asks for base64 by default and decodes it.
    as_base64 = await client.embeddings.create(model="sim-llama", input=["alpha", "beta"])
    assert len(as_float.data) == 2
    first = as_float.data[0].embedding
    assert len(first) == 32
    assert as_float.data[0].embedding != as_float.data[1].embedding
    assert as_base64.data[0].embedding == pytest.approx(first, abs=1e-6)
    assert as_float.usage.prompt_tokens == 2


async def test_disabled_endpoint_and_unknown_model_are_openai_errors() -> None:
    upstream = SimulatedUpstream(models=["embedder"], endpoints=[EMBEDDINGS])
    await upstream.start()
    try:
        async with openai.AsyncOpenAI(
            base_url=upstream.base_url, api_key="x", max_retries=0
        ) as client:
            with pytest.raises(openai.NotFoundError) as not_enabled:
                await client.chat.completions.create(model="embedder", messages=[])
            assert not_enabled.value.code == "endpoint_not_enabled"
            with pytest.raises(openai.NotFoundError) as unknown:
                await client.embeddings.create(model="nope", input="x")
            assert unknown.value.code == "model_not_found"
            body = unknown.value.body
            assert isinstance(body, dict)
            assert set(body) == {"message", "type", "param", "code"}
    finally:
        await upstream.stop()


async def test_error_rate_and_latency_knobs(
    client: openai.AsyncOpenAI, upstream: SimulatedUpstream
) -> None:
    upstream.set_error_rate(1.0)
    with pytest.raises(openai.InternalServerError):
        await client.chat.completions.create(model="sim-llama", messages=[])
    assert upstream.stats.errors_injected == 1
    upstream.set_error_rate(0.0)
    upstream.set_latency(0.2)
    started = time.monotonic()
    await client.chat.completions.create(model="sim-llama", messages=[])
    assert time.monotonic() - started >= 0.2


async def test_kill_mid_stream_truncates_the_stream(
    client: openai.AsyncOpenAI, upstream: SimulatedUpstream
) -> None:
    upstream.faults.token_delay_s = 0.02
    stream = await client.chat.completions.create(
        model="sim-llama", messages=[], max_tokens=200, stream=True
    )
    received = 0

    async def consume() -> None:
        nonlocal received
        async for _chunk in stream:
            received += 1
            if received == 3:
                upstream.kill_open_streams()

    with pytest.raises(openai.APIError):  # the SDK surfaces the dropped connection
        await consume()
    assert 3 <= received < 200
    assert upstream.stats.streams_killed == 1


async def test_client_going_away_counts_as_aborted(upstream: SimulatedUpstream) -> None:
    upstream.faults.token_delay_s = 0.05

    async def read_two_chunks() -> None:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{upstream.base_url}/chat/completions",
                json={"model": "sim-llama", "messages": [], "stream": True, "max_tokens": 500},
            ) as response,
        ):
            await response.content.readline()
            await response.content.readline()
        # leaving the session drops the connection mid-stream

    await read_two_chunks()
    await wait_until(lambda: upstream.stats.aborted == 1)
    await wait_until(lambda: upstream.stats.in_flight == 0)
    assert upstream.stats.by_endpoint[CHAT_COMPLETIONS] == 1


async def test_aborted_while_waiting_for_latency(upstream: SimulatedUpstream) -> None:
    upstream.set_latency(5.0)

    async def call() -> None:
        async with aiohttp.ClientSession() as session:
            await session.post(
                f"{upstream.base_url}/completions", json={"model": "sim-llama", "prompt": "x"}
            )

    task = asyncio.create_task(call())
    await wait_until(lambda: upstream.stats.in_flight == 1)
    task.cancel()
    await wait_until(lambda: upstream.stats.aborted == 1)
    assert upstream.stats.completed == 0
