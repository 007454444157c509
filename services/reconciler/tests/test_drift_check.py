"""The drift check and the back-off (pure)."""

from __future__ import annotations

import random

from lc_reconciler.domain.backoff import Backoff
from lc_reconciler.domain.objects import contains, drifted

DESIRED = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "a", "labels": {"x": "1"}},
    "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "a", "image": "i:1"}]}}},
}


def test_server_added_fields_are_not_drift() -> None:
    live = {
        **DESIRED,
        "metadata": {"name": "a", "labels": {"x": "1", "other": "y"}, "uid": "u"},
        "spec": {**DESIRED["spec"], "strategy": {"type": "RollingUpdate"}},
        "status": {"readyReplicas": 1},
    }
    assert not drifted(DESIRED, live)


def test_edited_or_missing_fields_are_drift() -> None:
    assert drifted(DESIRED, {**DESIRED, "spec": {**DESIRED["spec"], "replicas": 3}})
    assert drifted(DESIRED, {**DESIRED, "metadata": {"name": "a", "labels": {}}})
    edited = {"replicas": 1, "template": {"spec": {"containers": [{"name": "a", "image": "evil"}]}}}
    assert drifted(DESIRED, {**DESIRED, "spec": edited})


def test_contains_distinguishes_bools_from_ints() -> None:
    assert not contains(1, True)
    assert contains([1, 2, 3], [1, 2])
    assert not contains([1], [1, 2])


def test_backoff_grows_and_is_capped_and_honours_retry_after() -> None:
    backoff = Backoff(base_s=0.1, max_s=1.0, jitter=0.0)
    assert [backoff.delay(n) for n in (1, 2, 3, 10)] == [0.1, 0.2, 0.4, 1.0]
    assert backoff.delay(1, retry_after=0.5) == 0.5
    jittered = Backoff(base_s=1.0, max_s=10.0, jitter=0.2).delay(1, rng=random.Random(1))
    assert 0.8 <= jittered <= 1.2


async def test_work_queue_hands_a_key_to_one_worker_and_reruns_it_if_added_meanwhile() -> None:
    from lc_reconciler.work_queue import WorkQueue

    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    queue.add("a")
    queue.add("b")
    assert await queue.get() == "a"
    queue.add("a")  # while "a" is being processed
    assert await queue.get() == "b"
    queue.done("b")
    assert len(queue) == 1
    queue.done("a")
    assert await queue.get() == "a"
    queue.done("a")
    await queue.wait_idle()
    assert len(queue) == 0
