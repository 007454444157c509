"""Audit questions answered from the log: a project or service as it was at a moment
(`/projects/{slug}/state`, `/projects/{slug}/services/{name}/state`), and what changed
between two moments and which events did it (`/audit/diff`).

Moments are stream sequences or RFC 3339 times with a zone (`lc_api.domain.moments`).
The states are folded from the audit log (`lc_api.domain.project_history`); nothing here
keeps state of its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from lc_api.api.deps import NamePath, RuntimeDep, SlugPath
from lc_api.api.problems import ApiProblem, problem_responses
from lc_api.db.audit_log import AuditLog, Position
from lc_api.domain.moments import parse_moment
from lc_api.domain.project_history import Document, fold, service_of
from lc_api.domain.state_diff import ObjectChange, attribute, diff
from lc_api.runtime.lcd import Runtime
from lc_api.views import (
    CauseView,
    DiffView,
    DomainStateView,
    FieldChangeView,
    MomentView,
    ObjectChangeView,
    ProjectStateView,
    ServiceAtMomentView,
    ServiceStateView,
)

router = APIRouter(tags=["audit"])

MOMENT = "A stream sequence, or an RFC 3339 time with a zone (Z or ±hh:mm)"
At = Annotated[str | None, Query(description=f"{MOMENT}; the log's end when left out")]


async def _position(log: AuditLog, text: str | None, parameter: str) -> Position:
    return await log.position(parse_moment(text, parameter) if text is not None else None)


def _moment(position: Position) -> MomentView:
    return MomentView(seq=position.seq, time=position.time)


def _when(position: Position) -> str:
    if position.time is None:
        return "before the first event"
    return f"at {position.time.isoformat()} (sequence {position.seq})"


async def _project_state(runtime: Runtime, slug: str, at: str | None) -> tuple[Position, Document]:
    log = AuditLog(runtime.engine)
    position = await _position(log, at, "at")
    state = fold(await log.project_events(slug, upto=position.seq))
    if state is None:
        raise ApiProblem(404, "not-found", f"project '{slug}' did not exist {_when(position)}")
    return position, state


@router.get(
    "/projects/{slug}/state",
    response_model=ProjectStateView,
    responses=problem_responses(404, 422),
)
async def project_state(runtime: RuntimeDep, slug: SlugPath, at: At = None) -> ProjectStateView:
    position, state = await _project_state(runtime, slug, at)
    return ProjectStateView(
        as_of=_moment(position),
        slug=state["project"]["slug"],
        name=state["project"]["name"],
        services=[ServiceStateView.model_validate(s) for _, s in sorted(state["services"].items())],
        domains=[DomainStateView.model_validate(d) for _, d in sorted(state["domains"].items())],
    )


@router.get(
    "/projects/{slug}/services/{name}/state",
    response_model=ServiceAtMomentView,
    responses=problem_responses(404, 422),
)
async def service_state(
    runtime: RuntimeDep, slug: SlugPath, name: NamePath, at: At = None
) -> ServiceAtMomentView:
    position, state = await _project_state(runtime, slug, at)
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


async def _states(log: AuditLog, slugs: list[str], upto: int) -> dict[str, Document]:
    """Each project's state at `upto`, of those that existed then."""
    states = {slug: fold(await log.project_events(slug, upto=upto)) for slug in slugs}
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


def _earlier(moment: int | datetime, than: int | datetime) -> bool:
    """Whether `moment` comes before `than`, where both are of one kind."""
    if isinstance(moment, int) and isinstance(than, int):
        return moment < than
    if isinstance(moment, datetime) and isinstance(than, datetime):
        return moment < than
    return False


@router.get("/audit/diff", response_model=DiffView, responses=problem_responses(422))
async def audit_diff(
    runtime: RuntimeDep,
    from_: Annotated[str, Query(alias="from", description=MOMENT)],
    to: Annotated[str | None, Query(description=f"{MOMENT}; the log's end when left out")] = None,
    project: Annotated[str | None, Query(description="Only this project's objects")] = None,
) -> DiffView:
    log = AuditLog(runtime.engine)
    first = parse_moment(from_, "from")
    last = parse_moment(to, "to") if to is not None else None
    start, end = await log.position(first), await log.position(last)
    if end.seq < start.seq or (last is not None and _earlier(last, first)):
        raise ApiProblem(422, "validation-error", f"'to' ({to}) is before 'from' ({from_})")
    slugs = [project] if project is not None else await log.projects(upto=end.seq)
    before = await _states(log, slugs, start.seq)
    after = await _states(log, slugs, end.seq)
    window = await log.causes(after=start.seq, upto=end.seq, project=project)
    changes = attribute(diff(before, after), window)
    return DiffView.model_validate(
        {
            "from": _moment(start),
            "to": _moment(end),
            "changes": [_change_view(c) for c in changes],
        }
    )
