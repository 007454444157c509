"""Webhooks end to end against a real `lc up`: the example receiver (examples/
webhook_receiver.py, which verifies every delivery with the Standard Webhooks reference
library) subscribed to `service.*` gets `service.applied` and the Ready transition when the
product docs' model is deployed."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from lc_testing import free_port
from lc_testing.product_docs import LLAMA, PROJECT

from .stack_process import Stack

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


class Lines:
    """A child process's stdout, one JSON object per line, read on a thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.strip().startswith("{"):
                    self._queue.put(json.loads(line))

        threading.Thread(target=pump, daemon=True).start()

    def until(self, wanted: Any, within: float) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                item = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(item)
            if wanted(item):
                return item
        raise AssertionError(f"not received within {within}s; got {self.seen}")


def start_receiver(port: int, secret: str) -> tuple[subprocess.Popen[str], Lines]:
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "webhook_receiver.py"), "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
        env={"LC_WEBHOOK_SECRET": secret, "PATH": ""},
    )
    lines = Lines(proc)
    lines.until(lambda item: "listening" in item, within=20)
    return proc, lines


@pytest.mark.e2e
def test_a_local_receiver_gets_the_deployment_and_its_ready_transition(stack: Stack) -> None:
    stack.start()
    api = httpx.Client(base_url=f"{stack.url}/api/v1", timeout=10)
    port = free_port()
    created = api.post(
        "/webhooks", json={"url": f"http://127.0.0.1:{port}/", "eventTypes": ["service.*"]}
    )
    assert created.status_code == 201, created.text
    proc, lines = start_receiver(port, created.json()["secret"])
    try:
        assert api.post("/projects", json=PROJECT).status_code == 201
        assert api.post("/projects/default/services", json=LLAMA).status_code in (201, 202)
        applied = lines.until(lambda e: e["type"] == "service.applied", within=60)
        assert applied["data"]["data"]["spec"]["name"] == LLAMA["name"]
        ready = lines.until(
            lambda e: (
                e["type"] == "service.status_changed" and e["data"]["data"]["phase"] == "Ready"
            ),
            within=120,
        )
        assert ready["data"]["subject"].endswith(".default.llama-3-8b")
        types = [e["type"] for e in lines.seen if "type" in e]
        assert all(t.startswith("service.") for t in types)
        deliveries = api.get(f"/webhooks/{created.json()['id']}/deliveries").json()["items"]
        assert any(d["outcome"] == "delivered" and d["statusCode"] == 204 for d in deliveries)
    finally:
        proc.terminate()
        proc.wait(10)
