"""`lc replay` against a real NATS and PostgreSQL: it rebuilds and shows its progress on
stderr (here not a terminal: plain lines)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from nats.js import JetStreamContext

from lc_contracts.events import ProjectCreated, build
from lc_contracts.subjects import project_subject
from lc_eventstore import EventStore, provision_streams
from lc_local.cli import main

EVENTS = 2_500


async def test_replay_prints_its_progress_on_stderr(
    nats_url: str,
    database_url: str,
    jetstream: JetStreamContext,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await provision_streams(jetstream)
    events = [
        build(
            ProjectCreated(slug=f"p{i}", name=f"P{i}"), subject=project_subject(f"p{i}"), source="t"
        )
        for i in range(EVENTS)
    ]
    await EventStore(jetstream).append_pipelined(events)
    monkeypatch.setenv("LC_NATS_URL", nats_url)
    monkeypatch.setenv("LC_DATABASE_URL", database_url)
    monkeypatch.setenv("LC_DATA_DIR", str(tmp_path))  # no running stack there

    assert await asyncio.to_thread(main, ["replay"]) == 0
    captured = capsys.readouterr()
    assert "lc replay: every projection rebuilt from the event stream" in captured.out
    lines = [line for line in captured.err.splitlines() if line.startswith("rebuilding ")]
    assert lines, captured.err
    assert "\r" not in captured.err  # not a terminal: lines, not redraws
    assert lines[-1].startswith(f"rebuilding lcd-read-models: {EVENTS:,} events in ")
    assert lines[-1].endswith(" events/s")
