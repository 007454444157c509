"""Balancing and resilience rules of lc-proxy, over real sockets."""

from __future__ import annotations

import asyncio
import time

import httpx
import openai
import orjson
import pytest

from lc_clustersim.upstream import UpstreamFaults
from lc_contracts.specs import Endpoint

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def _error(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str)
    assert error["message"]
    return dict(error)


@pytest.fixture
async def http() -> httpx.AsyncClient:  # type: ignore[misc]
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client


async def test_connect_failure_is_retried_on_another_replica_then_ejected(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until, dead_url, http
) -> None:
    live = await upstreams(models=["m"])
    proxy = await start_proxy(proxy_eject_after_failures=2, proxy_eject_cooldown_s=60.0)
    await publish_service("m", [dead_url, live])
    await wait_until(lambda: proxy.app.table.get("m") is not None)

    for _ in range(10):
        response = await http.post(f"{proxy.base_url}/chat/completions", json=CHAT)
        assert response.status_code == 200
    assert live.stats.requests == 10
    dead = proxy.app.table.replica(dead_url)
    assert dead is not None
    assert dead.ejections == 1
    metrics = (await http.get(f"{proxy.url}/metrics")).text
    assert 'lc_proxy_upstream_retries_total{model="m"} 2.0' in metrics
    assert 'lc_proxy_replica_ejections_total{model="m"} 1.0' in metrics


async def test_ejected_replica_returns_after_its_cool_down(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until, dead_url, http
) -> None:
    live = await upstreams(models=["m"])
    proxy = await start_proxy(proxy_eject_after_failures=1, proxy_eject_cooldown_s=0.3)
    await publish_service("m", [dead_url, live])
    await wait_until(lambda: proxy.app.table.get("m") is not None)
    dead = proxy.app.table.replica(dead_url)
    assert dead is not None

    async def retried_after_cool_down() -> bool:
        response = await http.post(f"{proxy.base_url}/chat/completions", json=CHAT)
        assert response.status_code == 200
        return dead.ejections >= 2

    started = time.monotonic()
    await wait_until(retried_after_cool_down, timeout=5.0, interval=0.02)
    assert time.monotonic() - started >= 0.3


async def test_connect_failure_everywhere_is_a_502_after_one_retry(  # type: ignore[no-untyped-def]
    start_proxy, publish_service, wait_until, dead_url, http
) -> None:
    proxy = await start_proxy()
    await publish_service("m", [dead_url])
    await wait_until(lambda: proxy.app.table.get("m") is not None)
    response = await http.post(f"{proxy.base_url}/chat/completions", json=CHAT)
    assert response.status_code == 502
    assert _error(response)["code"] == "upstream_unavailable"
    assert response.headers["x-request-id"]
    metrics = (await http.get(f"{proxy.url}/metrics")).text
    assert 'lc_proxy_upstream_retries_total{model="m"} 1.0' in metrics


async def test_least_outstanding_sends_new_requests_to_the_idle_replica(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until, http
) -> None:
    slow = await upstreams(models=["m"], faults=UpstreamFaults(latency_s=1.0))
    fast = await upstreams(models=["m"])
    proxy = await start_proxy()
    await publish_service("m", [slow, fast])
    await wait_until(lambda: proxy.app.table.get("m") is not None)
    # Occupy the slow replica, then send more: they all go to the fast one.
    pending = [
        asyncio.create_task(http.post(f"{proxy.base_url}/chat/completions", json=CHAT))
        for _ in range(2)
    ]
    await wait_until(lambda: slow.stats.in_flight == 1 and fast.stats.requests == 1)
    for _ in range(5):
        response = await http.post(f"{proxy.base_url}/chat/completions", json=CHAT)
        assert response.status_code == 200
    assert slow.stats.requests == 1
    assert fast.stats.requests == 6
    assert all(r.status_code == 200 for r in await asyncio.gather(*pending))


async def test_upstream_timeout_is_a_504(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until, http
) -> None:
    slow = await upstreams(models=["m"], faults=UpstreamFaults(latency_s=2.0))
    proxy = await start_proxy(proxy_read_timeout_s=0.2)
    await publish_service("m", [slow])
    await wait_until(lambda: proxy.app.table.get("m") is not None)
    started = time.monotonic()
    response = await http.post(f"{proxy.base_url}/chat/completions", json=CHAT)
    assert response.status_code == 504
    assert time.monotonic() - started < 1.5
    error = _error(response)
    assert error["code"] == "upstream_timeout"
    assert error["type"] == "server_error"


async def test_oversized_body_is_a_413_whether_declared_or_streamed(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until, http
) -> None:
    upstream = await upstreams(models=["m"])
    proxy = await start_proxy(proxy_max_body_bytes=2048)
    await publish_service("m", [upstream])
    await wait_until(lambda: proxy.app.table.get("m") is not None)
    big = {"model": "m", "messages": [{"role": "user", "content": "x" * 4000}]}
    declared = await http.post(f"{proxy.base_url}/chat/completions", json=big)
    assert declared.status_code == 413
    assert _error(declared)["code"] == "request_too_large"

    async def chunked():  # type: ignore[no-untyped-def]
        payload = orjson.dumps(big)
        for i in range(0, len(payload), 1000):
            yield payload[i : i + 1000]

    streamed = await http.post(
        f"{proxy.base_url}/chat/completions",
        content=chunked(),
        headers={"Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    assert upstream.stats.requests == 0


async def test_bad_json_and_missing_model_are_400(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until, http
) -> None:
    upstream = await upstreams(models=["m"])
    proxy = await start_proxy()
    await publish_service("m", [upstream])
    await wait_until(lambda: proxy.app.table.get("m") is not None)
    for body, code in (
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "invalid_json"),
        (b'{"messages": []}', "missing_model"),
        (b'{"model": 7}', "missing_model"),
    ):
        response = await http.post(
            f"{proxy.base_url}/chat/completions",
            content=body,
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 400, body
        assert _error(response)["code"] == code
    assert upstream.stats.requests == 0


async def test_endpoint_the_model_did_not_enable_is_404(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until
) -> None:
    upstream = await upstreams(models=["chat-only"], endpoints=["chat_completions"])
    proxy = await start_proxy()
    await publish_service("chat-only", [upstream], endpoints=[Endpoint.CHAT_COMPLETIONS])
    await wait_until(lambda: proxy.app.table.get("chat-only") is not None)
    async with openai.AsyncOpenAI(base_url=proxy.base_url, api_key="x", max_retries=0) as client:
        with pytest.raises(openai.NotFoundError) as caught:
            await client.embeddings.create(model="chat-only", input="hello")
        assert caught.value.code == "endpoint_not_enabled"
        ok = await client.chat.completions.create(
            model="chat-only", messages=[{"role": "user", "content": "hi"}]
        )
        assert ok.choices
    assert upstream.stats.by_endpoint["embeddings"] == 0


async def test_pooled_services_split_endpoints_per_replica(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until, http
) -> None:
    chat = await upstreams(models=["shared"], endpoints=["chat_completions"])
    embed = await upstreams(models=["shared"], endpoints=["embeddings"])
    proxy = await start_proxy()
    await publish_service("shared", [chat], service="a", endpoints=[Endpoint.CHAT_COMPLETIONS])
    await publish_service("shared", [embed], service="b", endpoints=[Endpoint.EMBEDDINGS])

    def pooled() -> bool:
        entry = proxy.app.table.get("shared")
        return entry is not None and len(entry.replicas) == 2

    await wait_until(pooled)
    for _ in range(4):
        r = await http.post(f"{proxy.base_url}/chat/completions", json={**CHAT, "model": "shared"})
        assert r.status_code == 200
        r = await http.post(f"{proxy.base_url}/embeddings", json={"model": "shared", "input": "x"})
        assert r.status_code == 200
    assert chat.stats.requests == 4
    assert embed.stats.requests == 4
    listed = (await http.get(f"{proxy.base_url}/models")).json()["data"]
    assert [m["id"] for m in listed] == ["shared"]


async def test_same_model_in_two_services_pools_replicas(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until, http
) -> None:
    from lc_contracts.status import ServicePhase

    first = await upstreams(models=["m"])
    second = await upstreams(models=["m"])
    proxy = await start_proxy()
    await publish_service("m", [first], project="p1", service="a")
    await publish_service("m", [second], project="p2", service="b")

    def pooled() -> bool:
        entry = proxy.app.table.get("m")
        return entry is not None and len(entry.replicas) == 2

    await wait_until(pooled)
    for _ in range(10):
        assert (await http.post(f"{proxy.base_url}/chat/completions", json=CHAT)).status_code == 200
    assert first.stats.requests == 5
    assert second.stats.requests == 5
    await publish_service("m", [first], project="p1", service="a", phase=ServicePhase.DELETED)
    await wait_until(lambda: len(proxy.app.table.get("m").replicas) == 1)  # type: ignore[union-attr]
    for _ in range(4):
        assert (await http.post(f"{proxy.base_url}/chat/completions", json=CHAT)).status_code == 200
    assert first.stats.requests == 5
    assert second.stats.requests == 9


async def test_failure_mid_stream_ends_with_an_sse_error_event(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until, http
) -> None:
    upstream = await upstreams(models=["m"], faults=UpstreamFaults(kill_after_chunks=3))
    proxy = await start_proxy()
    await publish_service("m", [upstream])
    await wait_until(lambda: proxy.app.table.get("m") is not None)
    async with http.stream(
        "POST", f"{proxy.base_url}/chat/completions", json={**CHAT, "stream": True}
    ) as response:
        assert response.status_code == 200
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    events = [e for e in body.split(b"\n\n") if e]
    assert len(events) == 4
    last = orjson.loads(events[-1].removeprefix(b"data: "))
    assert last["error"]["code"] == "upstream_stream_error"
    assert b"[DONE]" not in body

    async with openai.AsyncOpenAI(base_url=proxy.base_url, api_key="x", max_retries=0) as client:
        stream = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        with pytest.raises(openai.APIError, match="failed in the middle of the stream"):
            async for _ in stream:
                pass
    snapshot = proxy.app.metrics.usage.snapshot("x", proxy.app.started_at, proxy.app.started_at)
    assert snapshot.models[0].errors == 2


async def test_stream_chunks_are_relayed_as_they_arrive(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until, http
) -> None:
    upstream = await upstreams(models=["m"], faults=UpstreamFaults(token_delay_s=0.3))
    proxy = await start_proxy()
    await publish_service("m", [upstream])
    await wait_until(lambda: proxy.app.table.get("m") is not None)
    started = time.monotonic()
    async with http.stream(
        "POST",
        f"{proxy.base_url}/chat/completions",
        json={**CHAT, "stream": True, "max_tokens": 5},
    ) as response:
        first_two: list[float] = []
        async for _ in response.aiter_raw():
            first_two.append(time.monotonic() - started)
            if len(first_two) == 2:
                break
    # The role chunk comes at once; a buffered relay would hold it until the end (~1.8 s).
    assert first_two[0] < 0.25


async def test_request_id_is_accepted_forwarded_and_returned(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until, http
) -> None:
    upstream = await upstreams(models=["m"])
    proxy = await start_proxy()
    await publish_service("m", [upstream])
    await wait_until(lambda: proxy.app.table.get("m") is not None)
    response = await http.post(
        f"{proxy.base_url}/chat/completions",
        json=CHAT,
        headers={"x-request-id": "req-123", "authorization": "Bearer secret"},
    )
    assert response.headers["x-request-id"] == "req-123"
    received = {k.lower(): v for k, v in upstream.received[-1].headers.items()}
    assert received["x-request-id"] == "req-123"
    assert "authorization" not in received
    generated = await http.post(f"{proxy.base_url}/chat/completions", json=CHAT)
    assert len(generated.headers["x-request-id"]) == 32
    received = {k.lower(): v for k, v in upstream.received[-1].headers.items()}
    assert received["x-request-id"] == generated.headers["x-request-id"]
    missing = await http.post(f"{proxy.base_url}/chat/completions", json={**CHAT, "model": "nope"})
    assert missing.status_code == 404
    assert missing.headers["x-request-id"]


async def test_other_v1_posts_naming_a_model_pass_through(  # type: ignore[no-untyped-def]
    echo_upstream, start_proxy, publish_service, wait_until, http
) -> None:
    proxy = await start_proxy()
    await publish_service("whisper", [echo_upstream])
    await wait_until(lambda: proxy.app.table.get("whisper") is not None)
    response = await http.post(
        f"{proxy.base_url}/audio/transcriptions?lang=en",
        files={"file": ("a.wav", b"RIFF....", "audio/wav")},
        data={"model": "whisper"},
    )
    assert response.status_code == 200
    echoed = response.json()
    assert echoed["path"] == "/v1/audio/transcriptions"
    assert echoed["query"] == "lang=en"
    assert echoed["content_type"].startswith("multipart/form-data; boundary=")
    assert b"RIFF...." in bytes.fromhex(echoed["body_hex"])
    json_post = await http.post(f"{proxy.base_url}/responses", json={"model": "whisper", "x": 1})
    assert json_post.json()["path"] == "/v1/responses"
    assert bytes.fromhex(json_post.json()["body_hex"]) == b'{"model":"whisper","x":1}'
    unknown = await http.post(f"{proxy.base_url}/responses", json={"model": "other"})
    assert _error(unknown)["code"] == "model_not_found"
    no_model = await http.post(
        f"{proxy.base_url}/audio/transcriptions", files={"file": ("a.wav", b"x", "audio/wav")}
    )
    assert no_model.status_code == 400
    assert _error(no_model)["code"] == "missing_model"


async def test_unknown_paths_and_methods_answer_in_openai_shape(  # type: ignore[no-untyped-def]
    start_proxy, http
) -> None:
    proxy = await start_proxy()
    missing = await http.get(f"{proxy.url}/nope")
    assert missing.status_code == 404
    assert _error(missing)["code"] == "unknown_url"
    wrong = await http.delete(f"{proxy.base_url}/models")
    assert wrong.status_code == 405
    assert _error(wrong)["code"] == "method_not_allowed"
    health = await http.get(f"{proxy.url}/healthz")
    assert health.status_code == 200


async def test_a_replica_answering_5xx_repeatedly_is_ejected(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until, http
) -> None:
    failing = await upstreams(models=["m"], faults=UpstreamFaults(error_rate=1.0))
    healthy = await upstreams(models=["m"])
    proxy = await start_proxy(proxy_eject_after_failures=2, proxy_eject_cooldown_s=60.0)
    await publish_service("m", [failing, healthy])
    await wait_until(lambda: proxy.app.table.get("m") is not None)
    statuses = [
        (await http.post(f"{proxy.base_url}/chat/completions", json=CHAT)).status_code
        for _ in range(12)
    ]
    # The replica's own 500s reach the client (it answered: nothing to retry), until
    # the second one ejects it; from then on the healthy replica takes everything.
    assert statuses.count(500) == 2
    assert statuses[-6:] == [200] * 6
    assert failing.stats.errors_injected == 2
    replica = proxy.app.table.replica(failing.url)
    assert replica is not None
    assert replica.ejections == 1
