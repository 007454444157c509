"""Fixtures of lcd's integration tests: real nats-server, real PostgreSQL, the real app.

`client` drives the app in-process over ASGI (lifespan included); `serve` runs it on a
loopback socket with uvicorn for streaming; `lcd_process` (in `processes.py`) runs the
`lcd` entry point as a child process for crash and concurrency tests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from lc_api.server import create_app
from lc_api.settings import ApiSettings
from lc_testing import free_port, product_docs, wait_until


def pytest_configure(config: pytest.Config) -> None:
    """The simulator's fixtures (`cluster`, `cluster_config`), for the fleet route tests."""
    config.pluginmanager.import_plugin("lc_testing.cluster")


ADMIN = ("admin", "correct horse battery staple")


def make_settings(nats_url: str, database_url: str, **overrides: Any) -> ApiSettings:
    values: dict[str, Any] = {
        "nats_url": nats_url,
        "database_url": database_url,
        "platform_domain": "example.com",
        "ingress_cname_target": "ingress.example.com",
        **overrides,
    }
    return ApiSettings(**values)


@pytest.fixture
def settings(nats_url: str, database_url: str) -> ApiSettings:
    return make_settings(nats_url, database_url)


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[FastAPI]:
    async with app.router.lifespan_context(app):
        yield app


@contextlib.asynccontextmanager
async def client_for(settings: ApiSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield client


@pytest.fixture
async def client(settings: ApiSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(settings) as c:
        yield c


@pytest.fixture
def auth_settings(nats_url: str, database_url: str) -> ApiSettings:
    return make_settings(
        nats_url,
        database_url,
        auth_username=ADMIN[0],
        auth_password=ADMIN[1],
        login_max_failures=3,
        login_window_s=60.0,
    )


@pytest.fixture
async def auth_client(auth_settings: ApiSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(auth_settings) as c:
        yield c


@contextlib.asynccontextmanager
async def serve(settings: ApiSettings) -> AsyncIterator[str]:
    """Run the app with uvicorn on a loopback port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await wait_until(lambda: server.started, timeout=20)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)


# The product docs' examples, verbatim.
DOCS_PROJECT = product_docs.PROJECT
DOCS_LLAMA = product_docs.LLAMA
DOCS_HELLO = product_docs.HELLO
DOCS_DOMAIN = product_docs.DOMAIN
