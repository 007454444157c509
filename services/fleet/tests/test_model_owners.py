"""The Model -> (project, service) index and which changes it reports."""

from __future__ import annotations

from lc_fleet.model_owners import ModelOwner, ModelOwners

from .gpu_factory import model_object


def test_owner_comes_from_labels_and_spec() -> None:
    owners = ModelOwners()
    assert owners.upsert(model_object("demo", "chat", project="demo", service="chat")) == {
        "demo/chat"
    }
    assert owners.get("demo/chat") == ModelOwner("llama-3-8b", "demo", "chat")
    assert owners.get("demo/none") is None


def test_unlabelled_model_is_known_without_owner() -> None:
    owners = ModelOwners()
    owners.upsert(model_object("ns", "m"))
    assert owners.get("ns/m") == ModelOwner("llama-3-8b", None, None)


def test_only_real_changes_are_reported() -> None:
    owners = ModelOwners()
    obj = model_object("demo", "chat", project="demo", service="chat")
    owners.upsert(obj)
    assert owners.upsert(obj) == set()
    assert owners.upsert(model_object("demo", "chat", project="demo", service="chat2")) == {
        "demo/chat"
    }
    assert owners.delete(obj) == {"demo/chat"}
    assert owners.delete(obj) == set()


def test_replace_reports_added_changed_and_removed() -> None:
    owners = ModelOwners()
    owners.replace(
        [model_object("a", "kept"), model_object("a", "changed"), model_object("a", "gone")]
    )
    changed = owners.replace(
        [
            model_object("a", "kept"),
            model_object("a", "changed", model_name="x"),
            model_object("a", "new"),
        ]
    )
    assert changed == {"a/changed", "a/gone", "a/new"}
    assert len(owners) == 3
