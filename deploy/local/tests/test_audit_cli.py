"""`lc state` and `lc diff` against a real lcd (NATS, PostgreSQL): text and JSON."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from lc_api.server import create_app
from lc_api.settings import ApiSettings
from lc_embedded import free_port
from lc_local.cli import main
from lc_testing import product_docs


@contextlib.asynccontextmanager
async def lcd(nats_url: str, database_url: str) -> AsyncIterator[str]:
    settings = ApiSettings(nats_url=nats_url, database_url=database_url)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(600):  # up to 30 s
            if server.started:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("lcd did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_state_and_diff_print_what_lcd_answers(
    nats_url: str, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with lcd(nats_url, database_url) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.post("/api/v1/projects", json=product_docs.PROJECT)).status_code == 201
        created = await client.post("/api/v1/projects/default/services", json=product_docs.HELLO)
        start = created.headers["x-lc-seq"]
        renamed = await client.patch("/api/v1/projects/default", json={"name": "Renamed"})
        assert renamed.status_code == 200

        assert await asyncio.to_thread(main, ["state", "default", "--at", start, "--api", url]) == 0
        text = capsys.readouterr().out
        assert 'project default "Default"' in text
        assert "hello" in text
        assert "revision 1" in text

        assert await asyncio.to_thread(main, ["diff", "--from", start, "--api", url]) == 0
        text = capsys.readouterr().out
        assert "changed  project default" in text
        assert '/name: "Default" → "Renamed"' in text
        assert "project.updated" in text

        assert await asyncio.to_thread(main, ["diff", "--from", start, "--api", url, "--json"]) == 0
        answer = json.loads(capsys.readouterr().out)
        assert [c["key"] for c in answer["changes"]] == ["default"]

        with pytest.raises(SystemExit, match="did not exist"):
            await asyncio.to_thread(main, ["state", "nowhere", "--api", url])
