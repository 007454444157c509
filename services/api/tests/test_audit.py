"""Auditing with the log: a project as it was at a moment, what changed between two
moments and who did it, and the events API filtered by actor."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import orjson
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import create_async_engine

from lc_api.db.audit_log import AuditLog
from lc_api.domain.project_history import Document, LoggedEvent, evolve, fold
from lc_contracts.events import (
    DomainDeleted,
    DomainRegistered,
    DomainVerificationFailed,
    DomainVerificationLost,
    DomainVerificationRequested,
    DomainVerified,
    Payload,
    ProjectCreated,
    ProjectDeleted,
    ProjectUpdated,
    ServiceApplied,
    ServiceDeleted,
    ServiceStatusChanged,
    build,
    decode_data,
)
from lc_contracts.specs import ServiceSpec
from lc_contracts.status import ServicePhase
from lc_contracts.subjects import domain_subject, project_subject, service_subject
from lc_eventstore import EventStore

from .conftest import DOCS_DOMAIN, DOCS_HELLO, DOCS_LLAMA, DOCS_PROJECT, wait_until


async def observed(client: httpx.AsyncClient, slug: str) -> dict[str, Any]:
    """The project as the read models show it now, in the shape of a state answer."""
    project = (await client.get(f"/api/v1/projects/{slug}")).json()
    services = (await client.get(f"/api/v1/projects/{slug}/services")).json()["items"]
    domains = (await client.get("/api/v1/domains")).json()["items"]
    return {
        "name": project["name"],
        "services": {s["name"]: (s["revision"], s["spec"]) for s in services},
        "domains": {
            d["id"]: (d["fqdn"], d["serviceName"], d["status"])
            for d in domains
            if d["projectSlug"] == slug
        },
    }


def as_recorded(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": state["name"],
        "services": {s["name"]: (s["revision"], s["spec"]) for s in state["services"]},
        "domains": {d["id"]: (d["fqdn"], d["serviceName"], d["status"]) for d in state["domains"]},
    }


async def last_seq(client: httpx.AsyncClient) -> int:
    events = (await client.get("/api/v1/events", params={"limit": 1000})).json()["items"]
    return int(events[-1]["seq"])


async def verify_domain(js: JetStreamContext, domain: dict[str, Any]) -> None:
    """What the domain verifier appends once the TXT record matches."""
    verified = DomainVerified(
        id=domain["id"], fqdn=domain["fqdn"], project_slug="default", service_name="llama-3-8b"
    )
    subject = domain_subject(domain["id"])
    await EventStore(js).append(
        subject, [build(verified, subject=subject, source="lc-domain-verifier")], None
    )


async def test_a_scripted_history_reads_back_at_every_moment(
    client: httpx.AsyncClient, jetstream: JetStreamContext
) -> None:
    moments: list[tuple[int, datetime, dict[str, Any]]] = []

    async def record() -> None:
        seq = await last_seq(client)
        moments.append((seq, datetime.now(UTC), await observed(client, "default")))

    assert (await client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    await record()
    await client.post("/api/v1/projects/default/services", json=DOCS_LLAMA)
    await client.post("/api/v1/projects/default/services", json=DOCS_HELLO)
    await record()
    patch = {"kind": {"container": {"replicas": 3}}}
    assert (
        await client.patch("/api/v1/projects/default/services/hello", json=patch)
    ).status_code == 200
    await record()
    rollback = {"revision": 1}
    assert (
        await client.post("/api/v1/projects/default/services/hello/rollback", json=rollback)
    ).status_code in (200, 201)
    await record()
    domain = (await client.post("/api/v1/domains", json=DOCS_DOMAIN)).json()
    await record()
    await verify_domain(jetstream, domain)

    async def verified() -> bool:
        return bool(
            (await client.get(f"/api/v1/domains/{domain['id']}")).json()["status"] == "verified"
        )

    await wait_until(verified)
    await record()
    await client.patch("/api/v1/projects/default", json={"name": "Default!"})
    await client.delete("/api/v1/projects/default/services/hello")
    await record()

    for seq, when, expected in moments:
        by_seq = await client.get("/api/v1/projects/default/state", params={"at": str(seq)})
        assert by_seq.status_code == 200, by_seq.text
        assert as_recorded(by_seq.json()) == expected
        assert by_seq.json()["asOf"]["seq"] == seq
        # The same moment as a time, written in another zone.
        zoned = when.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
        by_time = await client.get("/api/v1/projects/default/state", params={"at": zoned})
        assert by_time.status_code == 200, by_time.text
        assert as_recorded(by_time.json()) == expected

    # One service alone, at the moment its replicas were 3.
    patched_at = moments[2][0]
    hello = await client.get(
        "/api/v1/projects/default/services/hello/state", params={"at": str(patched_at)}
    )
    assert hello.status_code == 200, hello.text
    assert hello.json()["revision"] == 2
    assert hello.json()["spec"]["kind"]["container"]["replicas"] == 3
    gone = await client.get("/api/v1/projects/default/services/hello/state")
    assert gone.status_code == 404
    assert "did not exist" in gone.json()["detail"]


async def test_before_the_project_existed_is_a_404_that_says_so(
    client: httpx.AsyncClient,
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    assert (await client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    answer = await client.get("/api/v1/projects/default/state", params={"at": before.isoformat()})
    assert answer.status_code == 404
    assert "did not exist" in answer.json()["detail"]
    assert (await client.get("/api/v1/projects/nowhere/state")).status_code == 404


async def test_moments_without_a_zone_or_unreadable_are_422(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    for bad, says in (("2026-11-30T03:00:00", "timezone"), ("yesterday", "")):
        answer = await client.get("/api/v1/projects/default/state", params={"at": bad})
        assert answer.status_code == 422, answer.text
        errors = answer.json()["errors"]
        assert all(e["pointer"].startswith("/query/at") for e in errors), errors
        assert any(says in e["detail"] for e in errors), errors
    unix = await client.get("/api/v1/projects/default/state", params={"at": "-1"})
    assert unix.status_code == 422


async def test_a_moment_inside_one_command_sees_all_of_it(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    await client.post("/api/v1/projects/default/services", json=DOCS_LLAMA)
    # Registering a domain writes two events: the FQDN's claim, then the domain.
    registered = await client.post("/api/v1/domains", json=DOCS_DOMAIN)
    assert registered.status_code == 201, registered.text
    events = (await client.get("/api/v1/events", params={"limit": 1000})).json()["items"]
    claim, domain = events[-2], events[-1]
    assert (claim["type"], domain["type"]) == ("fqdn.claimed", "domain.registered")
    assert claim["causationid"] == domain["causationid"]
    first = datetime.fromisoformat(claim["time"])
    second = datetime.fromisoformat(domain["time"])
    assert first < second
    between = first + (second - first) / 2
    state = await client.get("/api/v1/projects/default/state", params={"at": between.isoformat()})
    assert state.status_code == 200, state.text
    assert state.json()["asOf"]["seq"] == domain["seq"]
    assert [d["fqdn"] for d in state.json()["domains"]] == ["chat.acme.com"]


async def test_a_diff_lists_exactly_the_changes_with_their_causes(
    auth_client: httpx.AsyncClient,
) -> None:
    auth_client.auth = ("admin", "correct horse battery staple")
    assert (await auth_client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    await auth_client.post("/api/v1/projects/default/services", json=DOCS_HELLO)
    start = await last_seq(auth_client)
    patch = {"kind": {"container": {"replicas": 3}}}
    await auth_client.patch(
        "/api/v1/projects/default/services/hello",
        json=patch,
        headers={"X-Request-ID": "req-replicas-3"},
    )
    await auth_client.post("/api/v1/projects/default/services", json=DOCS_LLAMA)
    await auth_client.post("/api/v1/projects", json={"name": "Other", "slug": "other"})
    end = await last_seq(auth_client)
    await auth_client.patch("/api/v1/projects/default", json={"name": "Later"})  # after `to`

    answer = await auth_client.get(
        "/api/v1/audit/diff", params={"from": str(start), "to": str(end), "project": "default"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["from"]["seq"], body["to"]["seq"]) == (start, end)
    changes = {(c["kind"], c["key"]): c for c in body["changes"]}
    assert set(changes) == {("service", "hello"), ("service", "llama-3-8b")}
    hello = changes["service", "hello"]
    assert hello["change"] == "changed"
    fields = {f["pointer"]: (f["old"], f["new"]) for f in hello["fields"]}
    assert fields == {"/revision": (1, 2), "/spec/kind/container/replicas": (1, 3)}
    [cause] = hello["events"]
    assert cause["type"] == "service.applied"
    assert cause["actor"] == "admin"
    assert cause["correlationId"] == "req-replicas-3"
    assert changes["service", "llama-3-8b"]["change"] == "created"

    undone = await auth_client.get(
        "/api/v1/audit/diff", params={"from": str(end), "to": str(start), "project": "default"}
    )
    reverse = {(c["kind"], c["key"]): c["change"] for c in undone.json()["changes"]}
    assert reverse == {("service", "hello"): "changed", ("service", "llama-3-8b"): "deleted"}

    everything = await auth_client.get(
        "/api/v1/audit/diff", params={"from": str(start), "to": str(end)}
    )
    kinds = {(c["kind"], c["key"], c["change"]) for c in everything.json()["changes"]}
    assert ("project", "other", "created") in kinds


async def test_every_event_names_its_actor_and_the_events_api_filters_by_it(
    auth_client: httpx.AsyncClient, jetstream: JetStreamContext
) -> None:
    auth_client.auth = ("admin", "correct horse battery staple")
    assert (await auth_client.post("/api/v1/projects", json=DOCS_PROJECT)).status_code == 201
    await auth_client.post("/api/v1/projects/default/services", json=DOCS_LLAMA)
    domain = (await auth_client.post("/api/v1/domains", json=DOCS_DOMAIN)).json()
    await verify_domain(jetstream, domain)

    async def all_events() -> list[dict[str, Any]]:
        items = (await auth_client.get("/api/v1/events", params={"limit": 1000})).json()["items"]
        return list(items) if len(items) >= 5 else []

    events = await wait_until(all_events)
    assert all(e.get("actor") for e in events), events
    by_admin = (await auth_client.get("/api/v1/events", params={"actor": "admin"})).json()["items"]
    assert {e["type"] for e in by_admin} == {
        "project.created",
        "service.applied",
        "fqdn.claimed",
        "domain.registered",
    }
    by_verifier = (
        await auth_client.get("/api/v1/events", params={"actor": "lc-domain-verifier"})
    ).json()["items"]
    assert [e["type"] for e in by_verifier] == ["domain.verified"]
    nobody = (await auth_client.get("/api/v1/events", params={"actor": "nobody"})).json()
    assert nobody["items"] == []


async def test_the_pruned_read_folds_to_the_same_state_as_every_event(
    client: httpx.AsyncClient, jetstream: JetStreamContext, settings: Any
) -> None:
    """`AuditLog.project_events` decodes a few rows per service; at every moment of a
    random history (applies, phases, deletions, the project deleted and made again) its
    fold equals the fold of every event of the project."""
    rng = random.Random(11)
    store = EventStore(jetstream)
    project = project_subject("default")
    await store.append(
        project,
        [build(ProjectCreated(slug="default", name="D"), subject=project, source="t")],
        None,
    )
    revisions: dict[str, int] = {}
    for step in range(240):
        name = f"s{rng.randint(0, 5)}"
        subject = service_subject("default", name)
        roll = rng.random()
        if roll < 0.5:
            revisions[name] = revisions.get(name, 0) + 1
            spec = ServiceSpec.model_validate(
                {
                    **DOCS_HELLO,
                    "name": name,
                    "kind": {
                        "container": {
                            **DOCS_HELLO["kind"]["container"],
                            "replicas": rng.randint(1, 4),
                        }
                    },
                }
            )
            payload: Any = ServiceApplied(
                project_slug="default", revision=revisions[name], spec=spec
            )
        elif roll < 0.8:
            payload = ServiceStatusChanged(
                project_slug="default",
                name=name,
                phase=rng.choice(list(ServicePhase)),
                message=f"m{step}",
            )
        elif roll < 0.95:
            revisions.pop(name, None)
            payload = ServiceDeleted(project_slug="default", name=name)
        elif step % 2:
            payload = ProjectDeleted(slug="default")
            subject = project
            revisions.clear()
        else:
            payload = ProjectCreated(slug="default", name=f"D{step}")
            subject = project
        await store.append(subject, [build(payload, subject=subject, source="t")], None)
    end = await store.last_seq()

    async def projected() -> bool:
        return bool((await client.get("/api/v1/events", params={"after": end - 1})).json()["items"])

    await wait_until(projected, timeout=30)
    engine = create_async_engine(settings.database_url)
    try:
        log = AuditLog(engine)
        every = await log.events(upto=end, project="default")
        for upto in range(1, end + 1):
            full = fold(e for e in every if e.seq <= upto)
            assert fold(await log.project_events("default", upto=upto)) == full, upto
            # The same events when every project is read at once (a diff across projects).
            every_project = await log.every_project_events(upto=upto)
            assert fold(every_project.get("default", [])) == full, upto
            # One service's state (`/services/{name}/state`): the project without the
            # other services.
            for name in ("s0", "s3"):
                one = fold(await log.service_events("default", name, upto=upto))
                alone = None if full is None else only_service(full, name)
                assert one == alone, (upto, name)
    finally:
        await engine.dispose()


def only_service(state: Document, name: str) -> Document:
    """A project's state with, of its services, only `name` (if it has it)."""
    services = {key: value for key, value in state["services"].items() if key == name}
    return {**state, "services": services}


def validated_fold(events: list[LoggedEvent]) -> Document | None:
    """`fold` with every payload validated again (`decode`'s path)."""
    state: Document | None = None
    for event in events:
        state = evolve(decode_data(event.type, event.dataversion, event.data), state)
    return state


async def test_the_log_read_back_unvalidated_folds_as_the_validated_events_do(
    client: httpx.AsyncClient, jetstream: JetStreamContext, settings: Any
) -> None:
    """The state at a moment decodes the log's `service.applied` without validating them
    again (`lc_contracts.trusted`); through PostgreSQL's jsonb and back, every event type a
    state shows folds, at every moment, to the same document, byte for byte (key order
    too), as when each event is validated."""
    store = EventStore(jetstream)
    project, llama, hello = (
        project_subject("default"),
        service_subject("default", "llama-3-8b"),
        service_subject("default", "hello"),
    )
    everything = {
        **DOCS_HELLO,
        "expose": False,
        "kind": {
            "container": {
                **DOCS_HELLO["kind"]["container"],
                "args": ["-v"],
                "env": [{"name": "TOKEN", "secretRef": "hf-token"}, {"name": "MODE", "value": "x"}],
                "ports": [{"port": 8080, "name": "http"}, {"port": 9000, "protocol": "UDP"}],
                "resources": {"cpu": "500m", "memory": "1Gi"},
                "replicas": 2,
                "storage": {"size": "20Gi", "storageClass": "fast"},
            }
        },
    }
    model = {
        **DOCS_LLAMA,
        "kind": {"model": {**DOCS_LLAMA["kind"]["model"], "gpus": 2, "args": ["--x"]}},
    }
    domain = {
        "id": "d1",
        "fqdn": "chat.acme.com",
        "project_slug": "default",
        "service_name": "hello",
    }
    history: list[tuple[str, Payload]] = [
        (project, ProjectCreated(slug="default", name="D")),
        (project, ProjectUpdated(slug="default", name="D2")),
        (
            llama,
            ServiceApplied(
                project_slug="default", revision=1, spec=ServiceSpec.model_validate(model)
            ),
        ),
        (
            hello,
            ServiceApplied(
                project_slug="default", revision=1, spec=ServiceSpec.model_validate(DOCS_HELLO)
            ),
        ),
        (
            hello,
            ServiceStatusChanged(
                project_slug="default", name="hello", phase=ServicePhase.READY, message="up"
            ),
        ),
        (
            hello,
            ServiceApplied(
                project_slug="default", revision=2, spec=ServiceSpec.model_validate(everything)
            ),
        ),
        (
            hello,
            ServiceApplied(
                project_slug="default",
                revision=3,
                spec=ServiceSpec.model_validate(DOCS_HELLO),
                rollback_of=1,
            ),
        ),
        (domain_subject("d1"), DomainRegistered(**domain, challenge_token="t" * 32)),
        (domain_subject("d1"), DomainVerificationRequested(id="d1")),
        (domain_subject("d1"), DomainVerificationFailed(id="d1", reason="no_record", attempt=1)),
        (domain_subject("d1"), DomainVerified(**domain)),
        (domain_subject("d1"), DomainVerificationLost(**domain, reason="mismatch")),
        (
            domain_subject("d1"),
            DomainVerificationFailed(id="d1", reason="expired", attempt=2, final=True),
        ),
        (domain_subject("d1"), DomainDeleted(**domain)),
        (llama, ServiceDeleted(project_slug="default", name="llama-3-8b")),
        (project, ProjectDeleted(slug="default")),
        (project, ProjectCreated(slug="default", name="Again")),
    ]
    for subject, payload in history:
        await store.append(subject, [build(payload, subject=subject, source="t")], None)
    end = await store.last_seq()

    async def projected() -> bool:
        return bool((await client.get("/api/v1/events", params={"after": end - 1})).json()["items"])

    await wait_until(projected, timeout=30)
    engine = create_async_engine(settings.database_url)
    try:
        every = await AuditLog(engine).events(upto=end, project="default")
    finally:
        await engine.dispose()
    assert {e.type for e in every} == {payload.TYPE for _, payload in history}
    for upto in range(1, len(every) + 1):
        trusted, validated = fold(every[:upto]), validated_fold(every[:upto])
        assert orjson.dumps(trusted) == orjson.dumps(validated), every[upto - 1].type
