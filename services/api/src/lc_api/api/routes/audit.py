"""Audit questions answered from the log: a project or service as it was at a moment
(`/projects/{slug}/state`, `/projects/{slug}/services/{name}/state`), and what changed
between two moments and which events did it (`/audit/diff`).

Moments are stream sequences or RFC 3339 times with their zone.
The states are folded from the audit log (`lc_api.domain.project_history`); nothing here
keeps state of its own.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime, BeforeValidator, Field

from lc_api.api.deps import MAX_SEQ, NamePath, ProjectFilter, RuntimeDep, SlugPath
from lc_api.api.problems import ApiProblem, problem_responses
from lc_api.db.audit_log import AuditLog, Position
from lc_api.domain.project_history import Document, fold, service_of
from lc_api.domain.state_diff import ObjectChange, attribute, diff
from lc_api.runtime.lcd import Runtime
from lc_api.views import (
    CauseView,
    DiffView,
    FieldChangeView,
    MomentView,
    ObjectChangeView,
    ProjectStateView,
    ServiceAtMomentView,
)

router = APIRouter(tags=["audit"])

JSON = "application/json"
MOMENT = "A stream sequence, or an RFC 3339 time with its zone (Z or ±hh:mm)"
RFC3339_START = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _rfc3339(value: object) -> object:
    # pydantic would also read "-1" or "1700000000" as Unix times; the schema says date-time.
    if isinstance(value, str) and not RFC3339_START.match(value):
        raise ValueError("not an RFC 3339 time such as 2026-11-30T03:00:00Z")
    return value


# A time without a zone is refused (422) rather than guessed.
Moment = (
    Annotated[int, Field(ge=0, le=MAX_SEQ)] | Annotated[AwareDatetime, BeforeValidator(_rfc3339)]
)
At = Annotated[Moment | None, Query(description=f"{MOMENT}; the log's end when left out")]


def _moment(position: Position) -> MomentView:
    return MomentView(seq=position.seq, time=position.time)


def _when(position: Position) -> str:
    if position.time is None:
        return "before the first event"
    return f"at {position.time.isoformat()} (sequence {position.seq})"


async def _project_state(
    runtime: Runtime, slug: str, at: int | datetime | None, service: str | None = None
) -> tuple[Position, Document]:
    """The project's state at `at`; with `service`, of its services only that one."""
    log = AuditLog(runtime.engine)
    position = await log.position(at)
    if service is None:
        events = await log.project_events(slug, upto=position.seq)
    else:
        events = await log.service_events(slug, service, upto=position.seq)
    state = fold(events)
    if state is None:
        raise ApiProblem(404, "not-found", f"project '{slug}' did not exist {_when(position)}")
    return position, state


@router.get(
    "/projects/{slug}/state",
    response_model=ProjectStateView,
    responses=problem_responses(404, 422),
)
async def project_state(runtime: RuntimeDep, slug: SlugPath, at: At = None) -> Response:
    position, state = await _project_state(runtime, slug, at)
    return Response(orjson.dumps(project_state_body(position, state)), media_type=JSON)


def project_state_body(position: Position, state: Document) -> Document:
    """The `ProjectStateView` of a state document, as JSON-ready data, built once: the
    document's services and domains already have their views' wire shape, so a thousand
    services are neither validated into views nor serialized through them."""
    return {
        "asOf": _moment(position).model_dump(mode="json", by_alias=True),
        "slug": state["project"]["slug"],
        "name": state["project"]["name"],
        "services": [service for _, service in sorted(state["services"].items())],
        "domains": [domain for _, domain in sorted(state["domains"].items())],
    }


@router.get(
    "/projects/{slug}/services/{name}/state",
    response_model=ServiceAtMomentView,
    responses=problem_responses(404, 422),
)
async def service_state(
    runtime: RuntimeDep, slug: SlugPath, name: NamePath, at: At = None
) -> ServiceAtMomentView:
    position, state = await _project_state(runtime, slug, at, service=name)
    service = service_of(state, name)
    if service is None:
        raise ApiProblem(
            404,
            "not-found",
            f"service '{name}' of project '{slug}' did not exist {_when(position)}",
        )
    return ServiceAtMomentView.model_validate(
        {**service, "asOf": _moment(position), "projectSlug": slug}
    )


async def _states(log: AuditLog, project: str | None, upto: int) -> dict[str, Document]:
    """Each project's state at `upto` (or the one named), of those that existed then."""
    if project is not None:
        events = {project: await log.project_events(project, upto=upto)}
    else:
        events = await log.every_project_events(upto=upto)
    states = {slug: fold(logged) for slug, logged in events.items()}
    return {slug: state for slug, state in states.items() if state is not None}


def _change_view(change: ObjectChange) -> ObjectChangeView:
    return ObjectChangeView(
        kind=change.kind,
        project_slug=change.project,
        key=change.key,
        change=change.change,
        fields=[FieldChangeView(pointer=f.pointer, old=f.old, new=f.new) for f in change.fields],
        events=[
            CauseView(
                seq=e.seq,
                id=e.id,
                type=e.type,
                time=e.time,
                actor=e.actor,
                correlation_id=e.correlation_id,
            )
            for e in change.events
        ],
    )


@router.get("/audit/diff", response_model=DiffView, responses=problem_responses(422))
async def audit_diff(
    runtime: RuntimeDep,
    from_: Annotated[Moment, Query(alias="from", description=MOMENT)],
    to: At = None,
    project: ProjectFilter = None,
) -> DiffView:
    """The changes from the state at `from` to the state at `to`; with `to` before `from`,
    the changes that undo what happened between them."""
    log = AuditLog(runtime.engine)
    start, end = await log.position(from_), await log.position(to)
    first, last = sorted((start.seq, end.seq))
    before = await _states(log, project, start.seq)
    after = await _states(log, project, end.seq)
    window = await log.causes(after=first, upto=last, project=project)
    changes = attribute(diff(before, after), window)
    return DiffView.model_validate(
        {
            "from": _moment(start),
            "to": _moment(end),
            "changes": [_change_view(c) for c in changes],
        }
    )
