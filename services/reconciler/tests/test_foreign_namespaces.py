"""Which namespaces lcd is told a project cannot take, and how the list is bounded."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lc_contracts.engine import ANNOTATION_CREATED_BY, FIELD_MANAGER
from lc_contracts.hostnames import DNS_LABEL_MAX
from lc_reconciler.domain.foreign_namespaces import foreign_namespaces, is_foreign
from lc_reconciler.namespace_mirror import NamespaceMirror

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def namespace(
    name: str, *, annotations: dict[str, str] | None = None, manager: str = "helm"
) -> Any:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "annotations": annotations or {},
            "managedFields": [{"manager": manager, "operation": "Update"}],
        },
    }


def test_a_namespace_is_foreign_unless_the_platform_made_it_or_every_cluster_shares_it() -> None:
    assert is_foreign(namespace("ingress-nginx"))
    assert not is_foreign(namespace("shop", annotations={ANNOTATION_CREATED_BY: "liquidcompute"}))
    assert not is_foreign(namespace("legacy", manager=FIELD_MANAGER))
    assert not is_foreign(namespace("default"))
    assert not is_foreign(namespace("kube-system"))


def test_the_snapshot_lists_the_names_a_project_could_take_sorted_once_each() -> None:
    snapshot = foreign_namespaces(["b", "a", "b", "c"], "", NOW)
    assert snapshot.namespaces == ["a", "b", "c"]
    assert snapshot.total == 3
    assert not snapshot.truncated
    prefixed = foreign_namespaces(["lc-shop", "ingress-nginx", "lc-a"], "lc-", NOW)
    assert prefixed.namespaces == ["lc-a", "lc-shop"]
    assert prefixed.namespace_of("shop") == "lc-shop"


def test_a_cluster_with_more_namespaces_than_the_cap_says_so() -> None:
    names = [f"ns-{i:05}" for i in range(12)]
    snapshot = foreign_namespaces(names, "", NOW, cap=5)
    assert snapshot.namespaces == names[:5]
    assert snapshot.total == 12
    assert snapshot.truncated


def test_the_namespace_of_a_long_slug_is_cut_as_the_reconciler_names_it() -> None:
    snapshot = foreign_namespaces([], "platform-projects-of-the-data-team-", NOW)
    name = snapshot.namespace_of("a-slug-that-is-forty-characters-long-xyz")
    assert len(name) == DNS_LABEL_MAX
    assert name.startswith("platform-projects-of-the-data-team-")


def test_the_mirror_follows_namespaces_as_they_come_change_and_go() -> None:
    changes: list[str] = []
    mirror = NamespaceMirror(lambda: changes.append("changed"))
    assert not mirror.synced
    mirror.replace([namespace("default"), namespace("ingress-nginx")])
    assert mirror.synced
    assert mirror.foreign == {"ingress-nginx"}
    mirror.upsert(namespace("monitoring"))
    assert mirror.foreign == {"ingress-nginx", "monitoring"}
    mirror.upsert(namespace("monitoring"))  # a change of no consequence: nothing to say
    assert len(changes) == 2
    mirror.upsert(namespace("ingress-nginx", annotations={ANNOTATION_CREATED_BY: "liquidcompute"}))
    assert mirror.foreign == {"monitoring"}
    mirror.delete(namespace("monitoring"))
    assert mirror.foreign == set()
    assert len(changes) == 4
