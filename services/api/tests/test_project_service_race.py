"""A service written while its project is deleted does not outlive the project.

The project check of a service command and the cascade of a project deletion read one
aggregate and write another. Each test forces one interleaving deterministically, by
wrapping a step of `Commands`, and checks the service ends deleted in the stream and stays
absent when a project of the same slug is created again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from nats.js import JetStreamContext

from lc_api.app.command_loop import CommandContext, CommandLoop, Written
from lc_api.app.commands import Commands
from lc_api.app.deletion_cascade import DeletionCascade
from lc_api.app.project_commands import ProjectCommands
from lc_api.domain.errors import NotFound
from lc_contracts.specs import ServiceSpec
from lc_contracts.subjects import project_subject, service_subject
from lc_eventstore import EventStore

from .conftest import DOCS_HELLO, DOCS_PROJECT

SLUG = DOCS_PROJECT["slug"]
NAME = DOCS_HELLO["name"]
PROJECT = f"/api/v1/projects/{SLUG}"
SERVICES = f"{PROJECT}/services"
PROJECT_EVENTS = project_subject(SLUG)
SERVICE_EVENTS = service_subject(SLUG, NAME)

# The whole log, once the project has been created again, when the service was written
# after ProjectDeleted (and withdrawn) and when it was written before it (and swept).
WITHDRAWN = [
    (PROJECT_EVENTS, "project.created"),
    (PROJECT_EVENTS, "project.deleted"),
    (SERVICE_EVENTS, "service.applied"),
    (SERVICE_EVENTS, "service.deleted"),
    (PROJECT_EVENTS, "project.created"),
]
SWEPT = [
    (PROJECT_EVENTS, "project.created"),
    (SERVICE_EVENTS, "service.applied"),
    (PROJECT_EVENTS, "project.deleted"),
    (SERVICE_EVENTS, "service.deleted"),
    (PROJECT_EVENTS, "project.created"),
]


async def log_of(jetstream: JetStreamContext) -> list[tuple[str, str]]:
    """(subject, event type) of every event in the stream, in order."""
    store = EventStore(jetstream)
    return [
        (message.subject, message.event().envelope.type)
        async for batch in store.read()
        for message in batch
    ]


async def assert_only_the_project_comes_back(
    client: httpx.AsyncClient, jetstream: JetStreamContext, expected_log: list[tuple[str, str]]
) -> None:
    """Create the project again: it holds no service, and the log is exactly as expected."""
    assert (await client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    listed = await client.get(SERVICES)
    assert listed.status_code == 200
    assert listed.json()["items"] == []
    assert (await client.get(f"{SERVICES}/{NAME}")).status_code == 404
    assert (await client.get(PROJECT)).json()["serviceCount"] == 0
    assert await log_of(jetstream) == expected_log


WriteService = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


async def post_service(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post(SERVICES, json=DOCS_HELLO)


async def put_service(client: httpx.AsyncClient) -> httpx.Response:
    return await client.put(f"{SERVICES}/{NAME}", json=DOCS_HELLO)


@pytest.mark.parametrize("write_service", [post_service, put_service], ids=["post", "put"])
async def test_a_service_written_after_the_project_check_is_withdrawn_when_the_project_was_deleted(
    client: httpx.AsyncClient,
    jetstream: JetStreamContext,
    monkeypatch: pytest.MonkeyPatch,
    write_service: WriteService,
) -> None:
    assert (await client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    check_project = ProjectCommands.require
    deletions: list[httpx.Response] = []

    async def check_then_delete_the_project(self: ProjectCommands, slug: str) -> None:
        await check_project(self, slug)
        if not deletions:  # the project passed the check; now it goes away
            deletions.append(await client.delete(PROJECT, params={"cascade": "true"}))

    monkeypatch.setattr(ProjectCommands, "require", check_then_delete_the_project)

    answer = await write_service(client)

    assert [d.status_code for d in deletions] == [204]
    assert answer.status_code == 404, answer.text
    assert answer.json()["type"].endswith("/not-found")
    assert "deleted while service 'hello' was being written" in answer.json()["detail"]
    monkeypatch.undo()
    await assert_only_the_project_comes_back(client, jetstream, WITHDRAWN)


async def test_a_service_missing_from_the_cascade_list_is_deleted_after_the_project(
    client: httpx.AsyncClient, jetstream: JetStreamContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    assert (await client.post(SERVICES, json=DOCS_HELLO)).status_code == 201

    async def nothing_listed_yet(self: DeletionCascade, slug: str) -> list[str]:
        return []  # the service was written after the list was taken

    monkeypatch.setattr(DeletionCascade, "live_services", nothing_listed_yet)

    deleted = await client.delete(PROJECT, params={"cascade": "true"})

    assert deleted.status_code == 204, deleted.text
    monkeypatch.undo()
    assert (await client.get(PROJECT)).status_code == 404
    assert int(deleted.headers["x-lc-seq"]) == 4  # the answer covers the sweep's deletion
    await assert_only_the_project_comes_back(client, jetstream, SWEPT)


async def test_a_retry_of_a_write_that_died_before_its_check_withdraws_the_service_once(
    client: httpx.AsyncClient, jetstream: JetStreamContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    commands = Commands(EventStore(jetstream), source="tests")
    spec = ServiceSpec.model_validate(DOCS_HELLO, by_name=False, by_alias=True)
    ctx = CommandContext(command_id="create-hello-once")
    append = CommandLoop.run

    async def delete_the_project_then_append_then_die(
        self: CommandLoop, subject: str, *args: Any
    ) -> Written:
        if subject != SERVICE_EVENTS:
            return await append(self, subject, *args)
        assert (await client.delete(PROJECT, params={"cascade": "true"})).status_code == 204
        await append(self, subject, *args)
        raise RuntimeError("lcd died between the append and the project check")

    monkeypatch.setattr(CommandLoop, "run", delete_the_project_then_append_then_die)
    with pytest.raises(RuntimeError):
        await commands.create_service(SLUG, spec, ctx)
    monkeypatch.undo()

    for _ in range(2):  # the retry withdraws the service; a second retry changes nothing
        with pytest.raises(NotFound, match="deleted while service 'hello' was being written"):
            await commands.create_service(SLUG, spec, ctx)

    await assert_only_the_project_comes_back(client, jetstream, WITHDRAWN)
