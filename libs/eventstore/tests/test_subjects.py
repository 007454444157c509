"""EventStore.subjects: which aggregates under a filter exist, read from the stream itself."""

from __future__ import annotations

from lc_contracts.events import ServiceDeleted, build
from lc_contracts.subjects import project_services_filter, project_subject, service_subject
from lc_eventstore import EventStore

from .events_factory import created


async def _append_service_event(store: EventStore, slug: str, name: str) -> None:
    subject = service_subject(slug, name)
    event = build(ServiceDeleted(project_slug=slug, name=name), subject=subject, source="tests")
    await store.append(subject, [event], None)


async def test_subjects_lists_each_matching_subject_once_and_nothing_else(
    store: EventStore,
) -> None:
    await store.append(project_subject("shop"), [created("shop")], 0)
    await _append_service_event(store, "shop", "web")
    await _append_service_event(store, "shop", "api")
    await _append_service_event(store, "shop", "api")
    await _append_service_event(store, "shop-2", "web")  # another project, same name prefix

    assert await store.subjects(project_services_filter("shop")) == [
        service_subject("shop", "api"),
        service_subject("shop", "web"),
    ]
    assert await store.subjects(project_services_filter("shop-2")) == [
        service_subject("shop-2", "web")
    ]
    assert await store.subjects(project_services_filter("empty")) == []


async def test_subjects_sees_an_append_as_soon_as_it_is_acknowledged(store: EventStore) -> None:
    assert await store.subjects(project_services_filter("fresh")) == []
    await _append_service_event(store, "fresh", "worker")
    assert await store.subjects(project_services_filter("fresh")) == [
        service_subject("fresh", "worker")
    ]
