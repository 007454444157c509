"""The pure diff of two state documents: JSON pointers, kinds of change, causes."""

from __future__ import annotations

from datetime import UTC, datetime

from lc_api.domain.state_diff import Cause, FieldChange, attribute, diff, field_changes


def project(name: str, services: dict[str, object] | None = None) -> dict[str, object]:
    return {"project": {"slug": "p", "name": name}, "services": services or {}, "domains": {}}


def test_pointers_escape_tilde_and_slash_and_lists_compare_whole() -> None:
    old = {"env": {"a/b": "1", "c~d": "2"}, "args": ["x"]}
    new = {"env": {"a/b": "9", "c~d": "2"}, "args": ["x", "y"]}
    assert list(field_changes(old, new)) == [
        FieldChange("/args", ["x"], ["x", "y"]),
        FieldChange("/env/a~1b", "1", "9"),
    ]


def test_created_deleted_and_changed_objects() -> None:
    before = {"p": project("P", {"gone": {"name": "gone"}, "kept": {"name": "kept", "n": 1}})}
    after = {
        "p": project("P2", {"kept": {"name": "kept", "n": 2}, "new": {"name": "new"}}),
        "q": project("Q"),
    }
    changes = [(c.kind, c.project, c.key, c.change) for c in diff(before, after)]
    assert changes == [
        ("project", "p", "p", "changed"),
        ("service", "p", "gone", "deleted"),
        ("service", "p", "kept", "changed"),
        ("service", "p", "new", "created"),
        ("project", "q", "q", "created"),
    ]
    assert diff(after, after) == []


def test_each_change_carries_the_events_written_to_its_subject() -> None:
    def event(seq: int, subject: str) -> Cause:
        return Cause(seq, subject, f"e{seq}", "service.applied", datetime(2026, 11, 30, tzinfo=UTC))

    before = {"p": project("P", {"a": {"n": 1}})}
    after = {"p": project("P", {"a": {"n": 2}})}
    window = [
        event(7, "lc.events.service.p.a"),
        event(8, "lc.events.service.p.b"),
        event(9, "lc.events.service.p.a"),
    ]
    [change] = attribute(diff(before, after), window)
    assert [e.seq for e in change.events] == [7, 9]
