"""`wait_until` returns as soon as a condition holds and names it when it never does."""

from __future__ import annotations

import pytest

from lc_testing import wait_until


async def test_returns_the_first_truthy_value_of_a_sync_or_async_condition() -> None:
    calls: list[int] = []

    def third_time() -> int | None:
        calls.append(1)
        return len(calls) if len(calls) == 3 else None

    async def ready() -> str:
        return "ready"

    assert await wait_until(third_time, 5, 0) == 3
    assert await wait_until(ready) == "ready"


async def test_fails_naming_the_condition_after_the_deadline() -> None:
    with pytest.raises(AssertionError, match=r"the model Ready not met within 0\.05 s"):
        await wait_until(lambda: False, 0.05, what="the model Ready")
