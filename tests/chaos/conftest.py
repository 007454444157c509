"""Fixtures of the fault tests: `lc up` as a user runs it, or lcd on servers of the
test's own (which the test may kill and start again)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lc_embedded import EmbeddedNats, EmbeddedPostgres

from .lc_up import LcUp


def pytest_configure(config: pytest.Config) -> None:
    """The simulator's fixtures (`cluster`), for the reconciler's fault."""
    config.pluginmanager.import_plugin("lc_testing.cluster")


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A throwaway directory PostgreSQL's unprivileged user can reach (not tmp_path)."""
    path = Path(tempfile.mkdtemp(prefix="lc-chaos-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def lc_up(scratch: Path) -> Iterator[LcUp]:
    """A running `lc up` on a free port with its own data directory."""
    stack = LcUp(scratch / "lc")
    stack.data_dir.mkdir()
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.fixture
def durable_nats(scratch: Path) -> Iterator[EmbeddedNats]:
    """A nats-server of the test's own with `sync_interval: always`, as `lc up` runs it."""
    server = EmbeddedNats(scratch / "nats", sync_always=True).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_postgres(scratch: Path) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of the test's own, which it may stop and start, with lcd's database."""
    server = EmbeddedPostgres(scratch / "pg", durable=False).start()
    try:
        server.create_database("lcd")
        yield server
    finally:
        server.stop()
