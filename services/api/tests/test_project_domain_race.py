"""A custom domain registered while its project is deleted does not outlive the project.

As for services (test_project_service_race.py): each test forces one interleaving by
wrapping a step, then checks the domain is gone, its FQDN is free again, and a project of
the same slug created later inherits nothing.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from nats.js import JetStreamContext

from lc_api.app.command_loop import CommandContext, CommandLoop, Written
from lc_api.app.commands import Commands
from lc_api.app.service_commands import ServiceCommands
from lc_api.db.queries import ReadModels
from lc_api.domain.errors import InvalidCommand
from lc_api.domain.service import ServiceState
from lc_contracts.specs import DomainRegistration
from lc_eventstore import EventStore

from .conftest import DOCS_DOMAIN, DOCS_LLAMA, DOCS_PROJECT

SLUG = DOCS_PROJECT["slug"]
PROJECT = f"/api/v1/projects/{SLUG}"


async def create_project_and_service(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    assert (await client.post(f"{PROJECT}/services", json=DOCS_LLAMA)).status_code == 201


async def assert_nothing_is_inherited(client: httpx.AsyncClient, domain_id: str | None) -> None:
    """A new project of the same slug holds no domain, and may claim the same FQDN."""
    await create_project_and_service(client)
    if domain_id is not None:
        assert (await client.get(f"/api/v1/domains/{domain_id}")).status_code == 404
    assert (await client.get("/api/v1/domains")).json()["items"] == []
    again = await client.post("/api/v1/domains", json=DOCS_DOMAIN)
    assert again.status_code == 201, again.text


async def test_a_domain_registered_after_the_project_check_is_withdrawn(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_project_and_service(client)
    check_service = ServiceCommands.state
    deletions: list[httpx.Response] = []

    async def check_then_delete_the_project(
        self: ServiceCommands, slug: str, name: str
    ) -> ServiceState:
        state = await check_service(self, slug, name)
        if not deletions:  # project and service passed their checks; now they go away
            deletions.append(await client.delete(PROJECT, params={"cascade": "true"}))
        return state

    monkeypatch.setattr(ServiceCommands, "state", check_then_delete_the_project)

    answer = await client.post("/api/v1/domains", json=DOCS_DOMAIN)

    assert [d.status_code for d in deletions] == [204]
    assert answer.status_code == 422, answer.text
    assert "deleted while the domain was being registered" in answer.json()["detail"]
    monkeypatch.undo()
    await assert_nothing_is_inherited(client, None)


async def test_a_domain_missing_from_the_cascade_list_is_deleted_after_the_project(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_project_and_service(client)
    registered = await client.post("/api/v1/domains", json=DOCS_DOMAIN)
    assert registered.status_code == 201
    domain_id = registered.json()["id"]
    list_domains = ReadModels.project_domain_ids
    calls = 0

    async def first_list_taken_before_the_registration(self: ReadModels, slug: str) -> list[str]:
        nonlocal calls
        calls += 1
        return [] if calls == 1 else await list_domains(self, slug)

    monkeypatch.setattr(ReadModels, "project_domain_ids", first_list_taken_before_the_registration)

    deleted = await client.delete(PROJECT, params={"cascade": "true"})

    assert deleted.status_code == 204, deleted.text
    assert calls == 2
    monkeypatch.undo()
    await assert_nothing_is_inherited(client, domain_id)


async def test_a_retry_of_a_registration_that_died_before_its_check_withdraws_the_domain(
    client: httpx.AsyncClient, jetstream: JetStreamContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_project_and_service(client)
    commands = Commands(EventStore(jetstream), source="tests")
    registration = DomainRegistration.model_validate(DOCS_DOMAIN)
    ctx = CommandContext(command_id="register-chat-once")
    run = CommandLoop.run

    async def delete_the_project_then_append_then_die(
        self: CommandLoop, subject: str, *args: Any
    ) -> Written:
        if not subject.startswith("lc.events.domain."):
            return await run(self, subject, *args)
        assert (await client.delete(PROJECT, params={"cascade": "true"})).status_code == 204
        await run(self, subject, *args)
        raise RuntimeError("lcd died between the append and the project check")

    monkeypatch.setattr(CommandLoop, "run", delete_the_project_then_append_then_die)
    with pytest.raises(RuntimeError):
        await commands.register_domain(registration, ctx)
    monkeypatch.undo()

    with pytest.raises(InvalidCommand, match="does not exist"):
        await commands.register_domain(registration, ctx)
    await assert_nothing_is_inherited(client, None)
