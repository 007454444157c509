"""/api/v1/metrics: per-model usage summed over every proxy replica (the console's Metrics page)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from lc_api.api.deps import RuntimeDep
from lc_api.api.problems import ApiProblem, problem_responses
from lc_api.domain.errors import FieldError
from lc_contracts.base import Contract
from lc_contracts.status import LATENCY_BUCKETS_MS

router = APIRouter(tags=["metrics"])

WINDOW = re.compile(r"^0*([1-9][0-9]{0,8})([smhd]?)$")
"""A positive duration: up to nine digits and an optional unit (seconds by default)."""
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class ModelUsageView(Contract):
    model: str
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    latency_buckets: list[int]
    ttft_buckets: list[int]
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None


class UsageView(Contract):
    models: list[ModelUsageView]
    replicas: int
    window_s: int | None = Field(
        default=None, description="Approximate: snapshots arrive every few seconds"
    )
    bucket_bounds_ms: list[float]
    generated_at: datetime


def quantile_ms(buckets: list[int], q: float) -> float | None:
    """Upper bound of the bucket holding the q-quantile (None without data)."""
    total = sum(buckets)
    if total <= 0:
        return None
    rank, seen = q * total, 0
    for index, count in enumerate(buckets):
        seen += count
        if seen >= rank:
            # The overflow bucket has no upper bound: report the last finite one.
            return LATENCY_BUCKETS_MS[min(index, len(LATENCY_BUCKETS_MS) - 1)]
    return None


def parse_window(value: str | None) -> int | None:
    if value is None:
        return None
    match = WINDOW.fullmatch(value)
    if not match:
        raise ApiProblem(
            422,
            "validation-error",
            "window must be a duration like 300, 5m, 1h or 1d",
            [FieldError("/window", "is not a duration")],
        )
    return int(match.group(1)) * UNITS[match.group(2)]


def earliest(now: datetime, seconds: int | None) -> datetime | None:
    """The start of the window; None (all the history) for a window longer than the calendar."""
    if seconds is None:
        return None
    try:
        return now - timedelta(seconds=seconds)
    except OverflowError:
        return None


@router.get(
    "/metrics",
    response_model=UsageView,
    response_model_exclude_none=True,
    responses=problem_responses(422),
)
async def usage(
    runtime: RuntimeDep,
    window: Annotated[
        str | None,
        Query(
            description="Only usage within this window, e.g. 5m",
            json_schema_extra={"pattern": WINDOW.pattern},
        ),
    ] = None,
) -> UsageView:
    seconds = parse_window(window)
    now = datetime.now(UTC)
    since = earliest(now, seconds)
    totals = runtime.usage_board.totals(since)
    return UsageView(
        models=[
            ModelUsageView(
                model=t.model,
                requests=t.requests,
                errors=t.errors,
                prompt_tokens=t.prompt_tokens,
                completion_tokens=t.completion_tokens,
                latency_buckets=t.latency_buckets,
                ttft_buckets=t.ttft_buckets,
                latency_p50_ms=quantile_ms(t.latency_buckets, 0.5),
                latency_p95_ms=quantile_ms(t.latency_buckets, 0.95),
            )
            for t in totals
        ],
        replicas=runtime.usage_board.replicas,
        window_s=seconds,
        bucket_bounds_ms=list(LATENCY_BUCKETS_MS),
        generated_at=now,
    )
