"""The state at a moment is answered as JSON built once from the state document; it is
byte for byte what its view (`ProjectStateView`, the published schema) serializes to."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from lc_api.api.routes.audit import project_state_body
from lc_api.db.audit_log import Position
from lc_api.domain.project_history import LoggedEvent, fold
from lc_api.views import DomainStateView, MomentView, ProjectStateView, ServiceStateView
from lc_contracts.events import (
    DomainRegistered,
    DomainVerificationFailed,
    Payload,
    ProjectCreated,
    ServiceApplied,
    ServiceStatusChanged,
)
from lc_contracts.specs import ServiceSpec
from lc_contracts.status import ServicePhase
from lc_testing.product_docs import HELLO, LLAMA


def logged(payloads: list[Payload]) -> list[LoggedEvent]:
    return [
        LoggedEvent(seq, p.TYPE, p.VERSION, orjson.loads(orjson.dumps(p.to_wire())), "default")
        for seq, p in enumerate(payloads, start=1)
    ]


def test_the_state_answer_is_its_view_byte_for_byte() -> None:
    domain: dict[str, Any] = {
        "id": "d1",
        "fqdn": "chat.acme.com",
        "project_slug": "default",
        "service_name": "hello",
    }
    state = fold(
        logged(
            [
                ProjectCreated(slug="default", name="Défaut"),
                ServiceApplied(
                    project_slug="default", revision=1, spec=ServiceSpec.model_validate(LLAMA)
                ),
                ServiceApplied(
                    project_slug="default", revision=4, spec=ServiceSpec.model_validate(HELLO)
                ),
                ServiceStatusChanged(
                    project_slug="default", name="hello", phase=ServicePhase.READY, message="up"
                ),
                DomainRegistered(**domain, challenge_token="t" * 32),
                DomainVerificationFailed(id="d1", reason="no_record", attempt=1),
            ]
        )
    )
    assert state is not None
    position = Position(6, datetime(2026, 12, 1, 3, 0, 0, 250_000, tzinfo=UTC))

    body = orjson.dumps(project_state_body(position, state))

    view = ProjectStateView(
        as_of=MomentView(seq=position.seq, time=position.time),
        slug=state["project"]["slug"],
        name=state["project"]["name"],
        services=[ServiceStateView.model_validate(s) for _, s in sorted(state["services"].items())],
        domains=[DomainStateView.model_validate(d) for _, d in sorted(state["domains"].items())],
    )
    assert body == orjson.dumps(view.model_dump(mode="json", by_alias=True))
    assert [s["name"] for s in orjson.loads(body)["services"]] == ["hello", "llama-3-8b"]
