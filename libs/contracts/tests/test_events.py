from __future__ import annotations

import dataclasses

import pytest

from lc_contracts import events
from lc_contracts.envelope import Envelope
from lc_contracts.errors import InvalidEnvelope, UnknownEventType
from lc_contracts.events import EVENT_TYPES, ProjectCreated, build, decode
from lc_contracts.subjects import fqdn_claim_subject, gpu_subject, project_subject, token


def test_every_event_type_is_an_explicit_unique_string() -> None:
    for name, definition in EVENT_TYPES.items():
        assert name == definition.model.TYPE
        assert "." in name
        assert not name.startswith("lc_contracts")


def test_an_event_survives_the_wire() -> None:
    envelope = build(
        ProjectCreated(slug="default", name="Default"),
        subject=project_subject("default"),
        source="t",
    )
    again = Envelope.from_bytes(envelope.to_bytes())
    assert again == envelope
    assert decode(again) == ProjectCreated(slug="default", name="Default")
    assert b'"dataversion":1' in envelope.to_bytes()


def test_unknown_types_newer_versions_and_garbage_are_typed_errors() -> None:
    envelope = build(ProjectCreated(slug="a", name="A"), subject="s", source="t")
    with pytest.raises(UnknownEventType):
        decode(envelope.model_copy(update={"type": "project.exploded"}))
    with pytest.raises(UnknownEventType, match="newer"):
        decode(envelope.model_copy(update={"dataversion": 2}))
    with pytest.raises(InvalidEnvelope):
        Envelope.from_bytes(b"\x00garbage")


def test_an_older_dataversion_is_upcast(monkeypatch: pytest.MonkeyPatch) -> None:
    """A v1 payload with `title` reads as today's v2 `name` through the upcaster."""

    class ProjectCreatedV2(ProjectCreated):
        VERSION = 2

    definition = dataclasses.replace(
        EVENT_TYPES["project.created"],
        model=ProjectCreatedV2,
        version=2,
        upcasters={1: lambda d: {"slug": d["slug"], "name": d.pop("title")}},
    )
    monkeypatch.setattr(events, "EVENT_TYPES", {**EVENT_TYPES, "project.created": definition})
    old = Envelope(
        id="1",
        source="t",
        type="project.created",
        subject="s",
        time="2026-01-01T00:00:00Z",
        dataversion=1,
        data={"slug": "a", "title": "Old"},
    )
    assert decode(old) == ProjectCreatedV2(slug="a", name="Old")


def test_subject_tokens_keep_dotted_names_distinct() -> None:
    assert fqdn_claim_subject("chat.acme.com") == "lc.events.fqdn.chat_acme_com"
    assert gpu_subject("node-1.zone", "GPU-1") == "lc.events.gpu.node-1_zone.GPU-1"
    for bad in ("", "a b", "a*", "a>"):
        with pytest.raises(ValueError):
            token(bad)
