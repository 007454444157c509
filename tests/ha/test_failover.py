"""Acceptance of the HA topology (`lc up --ha`): during 500 concurrent creates and a
stream of chat completions, SIGKILL the NATS node leading LC_EVENTS, one lcd, one
lc-proxy (mid-stream) and the leading reconciler. Afterwards every 2xx create is in the
log and the read models exactly once, the model is routable, every project has its one
namespace and nothing else appeared, the reconciler's Lease moved to the standby, and the
simulator's write log shows no reconciler wrote while another held the Lease.

Marked `ha` (`just test-ha`, which `.ci/run` calls): a few minutes on a loaded machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from kubernetes_asyncio import client, config

from lc_clustersim.kubeapi.write_log import RecordedWrite, single_writer_violations
from lc_contracts.engine import LABEL_MANAGED_BY, MANAGED_BY_VALUE
from lc_eventstore import connect
from lc_testing import wait_until
from tests.chaos.lc_up import LcUp
from tests.chaos.load import assert_invariants, create_projects, created_in_log

pytestmark = [pytest.mark.ha, pytest.mark.timeout(900)]

CREATES = 500
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
TOKENS = 120
TOKEN_DELAY_MS = 60  # a stream lasts ~7 s: long enough to be cut in the middle
START_DEADLINE_S = 300.0


@pytest.fixture
def ha_stack() -> Iterator[LcUp]:
    root = Path(tempfile.mkdtemp(prefix="lc-ha-"))
    stack = LcUp(root / "lc", args=["--ha"], start_deadline_s=START_DEADLINE_S)
    stack.data_dir.mkdir()
    try:
        yield stack.start()
    finally:
        stack.stop()
        print(f"kept {root}") if os.environ.get("LC_HA_KEEP") else shutil.rmtree(
            root, ignore_errors=True
        )


@pytest.fixture
async def coordination(ha_stack: LcUp) -> AsyncIterator[client.CoordinationV1Api]:
    configuration = client.Configuration()
    await config.load_kube_config(
        config_file=ha_stack.endpoints()["kubeconfig"], client_configuration=configuration
    )
    async with client.ApiClient(configuration) as api:
        yield client.CoordinationV1Api(api)


def _kill(stack: LcUp, name: str) -> None:
    os.kill(stack.pid(name), signal.SIGKILL)


@dataclass
class Stream:
    """One chat completion streamed through the gateway, retried whole if it breaks."""

    first_chunk: asyncio.Event = field(default_factory=asyncio.Event)
    broken: int = 0
    chunks: int = 0
    done: bool = False


async def _stream(http: httpx.AsyncClient, stream: Stream) -> None:
    body = {
        "model": MODEL,
        "stream": True,
        "max_tokens": TOKENS,
        "messages": [{"role": "user", "content": "Tell me about failover."}],
    }
    while not stream.done:
        chunks = 0
        try:
            async with http.stream("POST", "/v1/chat/completions", json=body) as answer:
                assert answer.status_code == 200, await answer.aread()
                async for line in answer.aiter_lines():
                    if line == "data: [DONE]":
                        stream.done = True
                    elif line.startswith("data: "):
                        json.loads(line.removeprefix("data: "))
                        chunks += 1
                        stream.first_chunk.set()
        except (httpx.RemoteProtocolError, httpx.ReadError):
            pass
        if not stream.done:
            stream.broken += 1
        stream.chunks = chunks


async def test_any_one_of_each_part_can_die(
    ha_stack: LcUp, coordination: client.CoordinationV1Api
) -> None:
    endpoints = ha_stack.endpoints()
    url = ha_stack.url
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        created = await http.post("/api/v1/projects", json={"name": "acc", "slug": "acc"})
        assert created.status_code in (201, 202), created.text
        service = await http.post(
            "/api/v1/projects/acc/services",
            json={
                "name": "llama",
                "tier": "inference",
                "kind": {"model": {"modelName": MODEL, "endpoints": ["chat_completions"]}},
            },
        )
        assert service.status_code in (201, 202), service.text

        async def routable() -> bool:
            models = await http.get("/v1/models")
            return models.status_code == 200 and MODEL in {m["id"] for m in models.json()["data"]}

        await wait_until(routable, timeout=120, interval=0.5, what="the model routable")
        faults = await http.put(
            f"{endpoints['sim_admin_url']}/upstreams/faults", json={"tokenDelayMs": TOKEN_DELAY_MS}
        )
        assert faults.status_code == 200, faults.text

        # Two streams sent back to back: the gateway puts them on different lc-proxy replicas.
        streams = [Stream(), Stream()]
        streaming = [asyncio.create_task(_stream(http, s)) for s in streams]
        await asyncio.gather(*(s.first_chunk.wait() for s in streams))
        _kill(ha_stack, "lc-proxy-1")  # mid-stream

        nc = await connect(endpoints["nats_url"], name="ha-acceptance")
        js = nc.jetstream()
        reconciler_lease = await coordination.read_namespaced_lease("lc-reconciler", "default")
        leading_reconciler = reconciler_lease.spec.holder_identity
        killed: dict[str, float] = {"lc-proxy-1": time.monotonic()}

        async def kill_one_of_each() -> None:
            cluster = (await js.stream_info("LC_EVENTS")).cluster
            assert cluster is not None, "LC_EVENTS is not clustered"
            leader = cluster.leader
            for name in (f"nats-{leader}", "lcd-1", leading_reconciler.split("_")[0]):
                _kill(ha_stack, name)
                killed[name] = time.monotonic()

        slugs = [f"ha{i}" for i in range(CREATES)]
        outcome = await create_projects(
            url,
            slugs,
            fault_after=CREATES // 5,
            fault=kill_one_of_each,
            connections=64,
            retry_refused_connections=True,
            unknown_outcome=frozenset({502}),
        )
        await asyncio.wait_for(asyncio.gather(*streaming), timeout=120)
        print(f"answers: {dict(outcome.codes)}; killed {sorted(killed)}")

        # lc-proxy-1 died mid-stream: one stream broke, its retry was served whole.
        assert sorted(s.broken for s in streams) == [0, 1]
        assert all(s.done and s.chunks >= TOKENS for s in streams)

        nats_killed = next(name for name in killed if name.startswith("nats-"))
        nodes = dict(
            zip(("nats-n1", "nats-n2", "nats-n3"), endpoints["nats_url"].split(","), strict=True)
        )
        surviving_node = next(u for name, u in nodes.items() if name != nats_killed)
        outcome.accepted.append("acc")  # the project of the model, answered 2xx above
        await assert_invariants(outcome, base_url=url, nats_url=surviving_node)
        # A leader election of the log delays writes instead of refusing them.
        assert len(outcome.accepted) > CREATES * 9 // 10

        # The reconciler's Lease moved to the standby, which applied every project.
        async def new_reconciler() -> str | None:
            lease = await coordination.read_namespaced_lease("lc-reconciler", "default")
            holder = lease.spec.holder_identity
            return holder if holder and holder != leading_reconciler else None

        successor = await wait_until(new_reconciler, timeout=60, interval=0.5, what="a new leader")
        print(f"reconciler lease: {leading_reconciler} → {successor}")
        in_log = await created_in_log(surviving_node)
        wanted = set(in_log) | {"acc"}
        core = client.CoreV1Api(coordination.api_client)  # type: ignore[attr-defined]

        async def namespaces() -> set[str] | None:
            listed = await core.list_namespace(
                label_selector=f"{LABEL_MANAGED_BY}={MANAGED_BY_VALUE}"
            )
            names = {n.metadata.name for n in listed.items if not n.metadata.deletion_timestamp}
            return names if names == wanted else None

        await wait_until(namespaces, timeout=120, interval=1, what="one namespace per project")
        assert await routable()
        answer = await http.post(
            "/v1/chat/completions",
            json={"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
        )
        assert answer.status_code == 200, answer.text
        await nc.close()

        # No reconciler wrote to the cluster while another held the Lease; both leaders wrote.
        recorded = await http.get(
            f"{endpoints['sim_admin_url']}/writes", params={"userAgentPrefix": "lc-reconciler/"}
        )
        writes = [RecordedWrite(**w) for w in recorded.json()["writes"]]
        writers = {w.user_agent for w in writes if w.status < 400 and "/leases" not in w.path}
        assert {f"lc-reconciler/{leading_reconciler}", f"lc-reconciler/{successor}"} <= writers
        violations = single_writer_violations(
            writes, agent_prefix="lc-reconciler/", lease="default/lc-reconciler"
        )
        assert violations == [], f"{len(violations)} writes by a standby, first {violations[0]}"
