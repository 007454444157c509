"""API keys: off loopback every model is behind a key, checked the way OpenAI SDKs send it."""

from __future__ import annotations

import httpx
import openai
import pytest
from pydantic import ValidationError

from lc_proxy.api_keys import ApiKeys, parse_keys
from lc_proxy.settings import ProxySettings

KEY = "lc-" + "k" * 40
OTHER_KEY = "lc-" + "o" * 40


def test_a_key_is_recognised_only_as_a_bearer_token() -> None:
    keys = ApiKeys([KEY, OTHER_KEY])
    assert keys.required
    assert keys.allows(f"Bearer {KEY}".encode())
    assert keys.allows(f"bearer  {OTHER_KEY} ".encode())
    for header in (None, b"", b"Bearer", f"Basic {KEY}".encode(), f"Bearer {KEY}x".encode()):
        assert not keys.allows(header), header
    assert ApiKeys([]).allows(None)
    assert not ApiKeys([]).required


def test_keys_must_look_secret() -> None:
    assert parse_keys(f" {KEY} ,{OTHER_KEY},") == [KEY, OTHER_KEY]
    for raw in ("", " , ", "short", f"{KEY},with space in it at all"):
        with pytest.raises(ValueError):
            parse_keys(raw)


def test_anything_but_loopback_needs_keys_or_an_explicit_anonymous() -> None:
    assert ProxySettings(proxy_host="127.0.0.1").api_keys().required is False
    with pytest.raises(ValidationError, match="LC_PROXY_API_KEYS"):
        ProxySettings(proxy_host="0.0.0.0")
    assert ProxySettings(proxy_host="0.0.0.0", proxy_api_keys=KEY).api_keys().required
    assert not ProxySettings(proxy_host="::", proxy_allow_anonymous=True).api_keys().required
    with pytest.raises(ValidationError, match="20 characters"):
        ProxySettings(proxy_host="0.0.0.0", proxy_api_keys="guessable")
    assert KEY not in repr(ProxySettings(proxy_api_keys=KEY))


@pytest.fixture
async def keyed(upstreams, start_proxy, publish_service, wait_until):  # type: ignore[no-untyped-def]
    upstream = await upstreams(models=["llama-3-8b"])
    proxy = await start_proxy(proxy_api_keys=f"{KEY},{OTHER_KEY}")
    await publish_service("llama-3-8b", [upstream])
    await wait_until(lambda: proxy.app.table.get("llama-3-8b") is not None)
    return proxy, upstream


async def test_the_sdk_needs_a_configured_key(keyed) -> None:  # type: ignore[no-untyped-def]
    proxy, upstream = keyed
    chat = {"model": "llama-3-8b", "messages": [{"role": "user", "content": "hi"}]}
    async with openai.AsyncOpenAI(
        base_url=proxy.base_url, api_key="sk-wrong", max_retries=0
    ) as bad:
        with pytest.raises(openai.AuthenticationError) as caught:
            await bad.chat.completions.create(**chat)  # type: ignore[call-overload]
        assert caught.value.code == "invalid_api_key"
        with pytest.raises(openai.AuthenticationError):
            await bad.models.list()
    assert upstream.stats.requests == 0  # refused before anything was forwarded
    for key in (KEY, OTHER_KEY):
        async with openai.AsyncOpenAI(base_url=proxy.base_url, api_key=key, max_retries=0) as sdk:
            answer = await sdk.chat.completions.create(**chat)  # type: ignore[call-overload]
            assert answer.choices[0].message.content
            assert [m.id async for m in sdk.models.list()] == ["llama-3-8b"]
    # The key is the platform's: replicas never see it.
    assert upstream.received
    assert all("authorization" not in {h.lower() for h in r.headers} for r in upstream.received)


async def test_metrics_need_a_key_and_health_does_not(keyed) -> None:  # type: ignore[no-untyped-def]
    proxy, _ = keyed
    async with httpx.AsyncClient(base_url=proxy.url) as http:
        refused = await http.get("/metrics")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_api_key"
        assert refused.headers["x-request-id"]
        assert (await http.get("/metrics", headers={"Authorization": f"Bearer {KEY}"})).is_success
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.post("/v1/embeddings", json={"model": "llama-3-8b"})).status_code == 401
