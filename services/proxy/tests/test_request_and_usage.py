"""Pure helpers: request body inspection, usage counters, the SSE usage scanner."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lc_contracts.status import LATENCY_BUCKETS_MS
from lc_proxy.forwarding import Exchange, _UsageScanner
from lc_proxy.openai_errors import ProxyError
from lc_proxy.request_body import inspect_body, multipart_field
from lc_proxy.usage import UsageCounters, bucket_index


def test_json_body_facts() -> None:
    facts = inspect_body(
        "application/json",
        b'{"model": "m", "stream": true, "stream_options": {"include_usage": true}}',
    )
    assert (facts.model, facts.stream, facts.include_usage) == ("m", True, True)
    plain = inspect_body("", b'{"model": "m", "stream_options": {"include_usage": true}}')
    assert (plain.stream, plain.include_usage) == (False, False)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "invalid_json"),
        (b"{", "invalid_json"),
        (b'"m"', "invalid_json"),
        (b"{}", "missing_model"),
        (b'{"model": ""}', "missing_model"),
        (b'{"model": ["m"]}', "missing_model"),
    ],
)
def test_unusable_json_bodies_are_400(body: bytes, code: str) -> None:
    with pytest.raises(ProxyError) as caught:
        inspect_body("application/json", body)
    assert caught.value.status == 400
    assert caught.value.code == code


def _multipart(fields: dict[str, bytes], boundary: str = "XyZ") -> tuple[str, bytes]:
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'.encode()
            + (b'; filename="f.wav"\r\nContent-Type: audio/wav' if name == "file" else b"")
            + b"\r\n\r\n"
            + value
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return f'multipart/form-data; boundary="{boundary}"', body


def test_multipart_model_field() -> None:
    content_type, body = _multipart({"file": b"\x00model\r\n\r\nwhisper", "model": b"whisper-1"})
    assert inspect_body(content_type, body).model == "whisper-1"
    assert multipart_field(content_type, body, "language") is None
    content_type, body = _multipart({"file": b"abc"})
    with pytest.raises(ProxyError, match="model"):
        inspect_body(content_type, body)
    with pytest.raises(ProxyError, match="boundary"):
        inspect_body("multipart/form-data", body)


def test_bucket_index_counts_upper_bounds_inclusively_with_an_overflow_bucket() -> None:
    assert bucket_index(0.0) == 0
    assert bucket_index(LATENCY_BUCKETS_MS[0]) == 0
    assert bucket_index(LATENCY_BUCKETS_MS[0] + 0.001) == 1
    assert bucket_index(LATENCY_BUCKETS_MS[-1]) == len(LATENCY_BUCKETS_MS) - 1
    assert bucket_index(LATENCY_BUCKETS_MS[-1] + 1) == len(LATENCY_BUCKETS_MS)


def test_usage_counters_snapshot_is_cumulative_per_model() -> None:
    counters = UsageCounters()
    counters.record("b", error=False, latency_ms=3, ttft_ms=1, prompt_tokens=5, completion_tokens=7)
    counters.record("b", error=True, latency_ms=99_999)
    counters.record("a", error=False, latency_ms=20)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    snapshot = counters.snapshot("r", now, now)
    assert [m.model for m in snapshot.models] == ["a", "b"]
    b = snapshot.models[1]
    assert (b.requests, b.errors, b.prompt_tokens, b.completion_tokens) == (2, 1, 5, 7)
    assert b.latency_buckets[0] == 1
    assert b.latency_buckets[-1] == 1
    assert sum(b.ttft_buckets) == 1
    assert len(b.latency_buckets) == len(LATENCY_BUCKETS_MS) + 1


def _sse(usage: dict[str, int]) -> bytes:
    chunks = [
        b'data: {"choices":[{"delta":{"content":"hi"}}],"usage":null}\n\n',
        b'data: {"choices":[],"usage":' + orjson.dumps(usage) + b"}\n\n",
        b"data: [DONE]\n\n",
    ]
    return b"".join(chunks)


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(0, 200), max_size=8), prompt=st.integers(0, 10_000))
def test_usage_is_found_however_the_stream_is_split(cuts: list[int], prompt: int) -> None:
    stream = _sse({"prompt_tokens": prompt, "completion_tokens": 3, "total_tokens": prompt + 3})
    exchange = Exchange(request_id="r", started=0.0)
    scanner = _UsageScanner(exchange)
    points = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    for start, end in itertools.pairwise(points):
        scanner.feed(stream[start:end])
    assert (exchange.prompt_tokens, exchange.completion_tokens) == (prompt, 3)
