"""A worker's probes: readiness from its conditions and its fold, served over a socket."""

from __future__ import annotations

import asyncio
import socket

from prometheus_client import generate_latest

from lc_runtime.leadership import Leadership
from lc_runtime.probes import Probes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def ask(port: int, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_ready_only_when_every_condition_holds_and_the_fold_caught_up() -> None:
    probes = Probes("worker")
    assert probes.unmet() == {"started": "starting"}
    fold = probes.track_fold()
    fold.target = 10
    fold.advance(4)
    listed = False
    probes.require("cluster", lambda: None if listed else "listing")
    assert probes.unmet() == {
        "events": "catching up: 6 sequences behind (4 of 10)",
        "cluster": "listing",
    }
    fold.caught_up = True
    listed = True
    assert probes.ready
    assert probes.report()["checks"] == {"events": "ok", "cluster": "ok"}


async def test_served_over_http() -> None:
    probes = Probes("worker")
    fold = probes.track_fold()
    fold.target, fold.snapshot_seq, fold.snapshot_at = 7, 3, 0.0
    port = free_port()
    async with probes.serve("127.0.0.1", port):
        status, body = await ask(port, b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 503
        assert b'"behind": 7' in body
        fold.advance(7)
        fold.caught_up = True
        assert (await ask(port, b"GET /readyz HTTP/1.1\r\n\r\n"))[0] == 200
        assert await ask(port, b"HEAD /healthz HTTP/1.1\r\n\r\n") == (200, b"")
        status, metrics = await ask(port, b"GET /metrics HTTP/1.1\r\n\r\n")
        assert status == 200
        for line in (
            'lc_worker_ready{worker="worker"} 1.0',
            'lc_worker_fold_position{worker="worker"} 7.0',
            'lc_worker_fold_behind{worker="worker"} 0.0',
            'lc_worker_events_folded_total{worker="worker"} 1.0',
            'lc_worker_snapshot_sequence{worker="worker"} 3.0',
        ):
            assert line.encode() in metrics, line
        assert b"lc_worker_snapshot_age_seconds" in metrics
        assert (await ask(port, b"GET /other HTTP/1.1\r\n\r\n"))[0] == 404
        assert (await ask(port, b"DELETE /healthz HTTP/1.1\r\n\r\n"))[0] == 405
        assert (await ask(port, b"\xff\xfe garbage\r\n\r\n"))[0] == 400


def test_a_standby_is_ready_and_a_leader_answers_for_its_own_fold() -> None:
    probes = Probes("reconciler")
    leadership = Leadership(identity="reconciler-1_ab12cd", lease="lc-reconciler")
    probes.lead(leadership)
    assert probes.ready, "standing by is what a standby should do"
    leadership.leader, leadership.term, leadership.takeovers = True, 3, 1
    fold = probes.track_fold()
    fold.target = 5
    assert probes.unmet() == {"events": "catching up: 5 sequences behind (0 of 5)"}
    assert probes.report()["leadership"]["term"] == 3
    metrics = generate_latest(probes.registry).decode()
    assert 'lc_worker_leader{worker="reconciler"} 1.0' in metrics
    assert 'lc_worker_lease_takeovers_total{worker="reconciler"} 1.0' in metrics
    fold.caught_up = True
    assert probes.ready
