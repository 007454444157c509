"""Prometheus metrics of one proxy process, and the per-model usage counters beside them.

Who calls it: the forwarding path calls `RequestMetrics.finished` once per request (and
`retried` / `ejected` on those events); the ASGI app serves `render()` at `/metrics`.
Each app gets its own `CollectorRegistry`, so two apps in one process (tests, `lc up`)
never share or clash.

Series (label `model` is the requested model name, `unrouted` when no Ready model has
that name, so clients cannot grow the label set at will):
- `lc_proxy_requests_total{model, endpoint, status}`
- `lc_proxy_request_duration_seconds{model, endpoint}` (histogram)
- `lc_proxy_time_to_first_token_seconds{model, endpoint}` (histogram, streams only)
- `lc_proxy_tokens_total{model, kind=prompt|completion}` (from the replicas' `usage`)
- `lc_proxy_upstream_retries_total{model}`, `lc_proxy_replica_ejections_total{model}`
- `lc_proxy_requests_in_flight`
"""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from lc_contracts.status import LATENCY_BUCKETS_MS
from lc_proxy.usage import UsageCounters

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
UNROUTED: Final = "unrouted"
_BUCKETS_S: Final = tuple(ms / 1000.0 for ms in LATENCY_BUCKETS_MS)


class RequestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.usage = UsageCounters()
        self._requests = Counter(
            "lc_proxy_requests",
            "Requests answered, by model, endpoint and HTTP status.",
            ["model", "endpoint", "status"],
            registry=self.registry,
        )
        self._duration = Histogram(
            "lc_proxy_request_duration_seconds",
            "Time from the request's arrival to the last byte of the answer.",
            ["model", "endpoint"],
            buckets=_BUCKETS_S,
            registry=self.registry,
        )
        self._ttft = Histogram(
            "lc_proxy_time_to_first_token_seconds",
            "Time from a streamed request's arrival to its first chunk sent to the client.",
            ["model", "endpoint"],
            buckets=_BUCKETS_S,
            registry=self.registry,
        )
        self._tokens = Counter(
            "lc_proxy_tokens",
            "Tokens reported in the replicas' `usage`, by kind (prompt or completion).",
            ["model", "kind"],
            registry=self.registry,
        )
        self._retries = Counter(
            "lc_proxy_upstream_retries",
            "Requests sent again to another replica after a connect failure.",
            ["model"],
            registry=self.registry,
        )
        self._ejections = Counter(
            "lc_proxy_replica_ejections",
            "Replicas taken out of rotation after repeated failures.",
            ["model"],
            registry=self.registry,
        )
        # A plain int read at scrape time: no lock taken twice per request.
        self.in_flight = 0
        Gauge(
            "lc_proxy_requests_in_flight",
            "Requests being answered right now.",
            registry=self.registry,
        ).set_function(lambda: self.in_flight)
        # `.labels()` validates and locks on every call; cache the children used per request.
        self._children: dict[tuple[str, str], tuple[Histogram, Histogram]] = {}
        self._counted: dict[tuple[str, str, int], Counter] = {}
        self._token_counters: dict[tuple[str, str], Counter] = {}

    def finished(
        self,
        model: str,
        endpoint: str,
        status: int,
        duration_s: float,
        *,
        routed: bool,
        ttft_s: float | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        stream_error: bool = False,
    ) -> None:
        label = model if routed else UNROUTED
        counted = self._counted.get((label, endpoint, status))
        if counted is None:
            counted = self._counted[(label, endpoint, status)] = self._requests.labels(
                label, endpoint, str(status)
            )
        counted.inc()
        children = self._children.get((label, endpoint))
        if children is None:
            children = self._children[(label, endpoint)] = (
                self._duration.labels(label, endpoint),
                self._ttft.labels(label, endpoint),
            )
        children[0].observe(duration_s)
        if ttft_s is not None:
            children[1].observe(ttft_s)
        if prompt_tokens:
            self._token_counter(label, "prompt").inc(prompt_tokens)
        if completion_tokens:
            self._token_counter(label, "completion").inc(completion_tokens)
        if routed:
            self.usage.record(
                model,
                error=status >= 500 or stream_error,
                latency_ms=duration_s * 1000.0,
                ttft_ms=None if ttft_s is None else ttft_s * 1000.0,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
            )

    def _token_counter(self, label: str, kind: str) -> Counter:
        counter = self._token_counters.get((label, kind))
        if counter is None:
            counter = self._token_counters[(label, kind)] = self._tokens.labels(label, kind)
        return counter

    def retried(self, model: str) -> None:
        self._retries.labels(model).inc()

    def ejected(self, model: str) -> None:
        self._ejections.labels(model).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
