"""Small builders of real events for the event-store tests."""

from __future__ import annotations

from lc_contracts.envelope import Envelope
from lc_contracts.events import ProjectCreated, ProjectUpdated, build
from lc_contracts.subjects import project_subject


def created(slug: str, name: str | None = None, event_id: str | None = None) -> Envelope:
    return build(
        ProjectCreated(slug=slug, name=name or slug.title()),
        subject=project_subject(slug),
        source="tests",
        event_id=event_id,
    )


def renamed(slug: str, name: str) -> Envelope:
    return build(
        ProjectUpdated(slug=slug, name=name), subject=project_subject(slug), source="tests"
    )
