"""Cross-site and DNS-rebinding requests never reach a replica; SDKs and curl still do."""

from __future__ import annotations

import httpx
import openai

CHAT = {"model": "llama-3-8b", "messages": [{"role": "user", "content": "hi"}]}


async def _ready(upstreams, start_proxy, publish_service, wait_until):  # type: ignore[no-untyped-def]
    upstream = await upstreams(models=["llama-3-8b"])
    proxy = await start_proxy()
    await publish_service("llama-3-8b", [upstream])
    await wait_until(lambda: proxy.app.table.get("llama-3-8b") is not None)
    return proxy, upstream


async def test_cross_site_requests_are_refused_before_the_replica(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until
) -> None:
    proxy, upstream = await _ready(upstreams, start_proxy, publish_service, wait_until)
    body = b'{"model": "llama-3-8b", "messages": [{"role": "user", "content": "hi"}]}'
    async with httpx.AsyncClient(base_url=proxy.url) as client:
        plain = await client.post(
            "/v1/chat/completions", content=body, headers={"Content-Type": "text/plain"}
        )
        assert plain.status_code == 415
        assert plain.json()["error"]["code"] == "unsupported_media_type"
        rebound = await client.post(
            "/v1/chat/completions", json=CHAT, headers={"Host": "attacker.example"}
        )
        assert rebound.status_code == 421
        assert rebound.json()["error"]["code"] == "misdirected_request"
        listing = await client.get("/v1/models", headers={"Host": "attacker.example"})
        assert listing.status_code == 421
        foreign = await client.post(
            "/v1/chat/completions", json=CHAT, headers={"Origin": "https://attacker.example"}
        )
        assert foreign.status_code == 403
        assert foreign.json()["error"]["code"] == "cross_origin_request"
        assert upstream.stats.requests == 0
        # The console on the proxy's own origin, and a plain JSON client, go through.
        own = await client.post("/v1/chat/completions", json=CHAT, headers={"Origin": proxy.url})
        assert own.status_code == 200
        assert (await client.post("/v1/chat/completions", json=CHAT)).status_code == 200
        # Uploads are multipart: not refused for their media type.
        upload = await client.post(
            "/v1/audio/transcriptions", data={"model": "llama-3-8b"}, files={"file": b"x"}
        )
        assert upload.status_code != 415


async def test_the_sdk_is_not_refused(  # type: ignore[no-untyped-def]
    upstreams, start_proxy, publish_service, wait_until
) -> None:
    proxy, upstream = await _ready(upstreams, start_proxy, publish_service, wait_until)
    async with openai.AsyncOpenAI(base_url=proxy.base_url, api_key="x", max_retries=0) as sdk:
        answer = await sdk.chat.completions.create(**CHAT)  # type: ignore[call-overload]
        assert answer.choices
    assert upstream.stats.requests == 1


async def test_allowed_hosts_are_answered(  # type: ignore[no-untyped-def]
    start_proxy,
) -> None:
    proxy = await start_proxy(allowed_hosts="api.acme.com")
    async with httpx.AsyncClient(base_url=proxy.url) as client:
        ok = await client.get("/v1/models", headers={"Host": "api.acme.com"})
        assert ok.status_code == 200
        other = await client.get("/v1/models", headers={"Host": "www.acme.com"})
        assert other.status_code == 421
