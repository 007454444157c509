from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from lc_contracts.specs import ProjectSpec, ServiceSpec
from lc_testing.product_docs import HELLO, LLAMA


def _with(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    import copy

    doc = copy.deepcopy(base)
    node = doc
    *parents, leaf = path.split(".")
    for key in parents:
        node = node[key]
    node[leaf] = value
    return doc


def test_the_product_docs_examples_parse_and_round_trip() -> None:
    for doc in (LLAMA, HELLO):
        spec = ServiceSpec.model_validate(doc)
        assert ServiceSpec.model_validate(spec.to_wire()) == spec
    assert ServiceSpec.model_validate(LLAMA).exposed
    hello = ServiceSpec.model_validate(HELLO)
    assert hello.exposed
    assert hello.kind.container
    assert hello.kind.container.http_port
    assert hello.gpus_per_replica() == 0
    assert ProjectSpec.model_validate({"name": "Default", "slug": "default"}).slug == "default"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (_with(LLAMA, "name", "Llama"), "lowercase"),
        (_with(LLAMA, "name", "a" * 41), "1 to 40"),
        (_with(LLAMA, "name", "-x"), "lowercase"),
        (_with(LLAMA, "tier", "tpu"), "Input should be"),
        (_with(LLAMA, "kind.model.dtype", "float64"), "Input should be"),
        (_with(LLAMA, "kind.model.endpoints", []), "at least 1"),
        (_with(LLAMA, "kind.model.endpoints", ["completions", "completions"]), "repeat"),
        (_with(LLAMA, "kind.model.endpoints", ["images"]), "Input should be"),
        (_with(LLAMA, "kind.model.replicas", 101), "less than or equal"),
        (_with(LLAMA, "kind.model.gpus", 0), "greater than or equal"),
        (_with(LLAMA, "kind.model.modelName", ""), "at least 1"),
        (_with(LLAMA, "kind.model.surprise", 1), "Extra inputs"),
        (_with(LLAMA, "revision", 3), "Extra inputs"),
        (_with(LLAMA, "status", {}), "Extra inputs"),
        (_with(LLAMA, "tier", "cpu"), "needs kind.container"),
        (_with(HELLO, "tier", "inference"), "needs kind.model"),
        (_with(HELLO, "kind.model", LLAMA["kind"]["model"]), "exactly one"),
        (_with(HELLO, "kind.container.image", "UPPER/case"), "image reference"),
        (_with(HELLO, "kind.container.image", "nginx:"), "image reference"),
        (_with(HELLO, "kind.container.ports", [{"port": 0}]), "greater than or equal"),
        (_with(HELLO, "kind.container.ports", [{"port": 65536}]), "less than or equal"),
        (_with(HELLO, "kind.container.ports", [{"port": 80}, {"port": 80}]), "unique"),
        (
            _with(
                HELLO,
                "kind.container.ports",
                [{"port": 80, "name": "a"}, {"port": 81, "name": "a"}],
            ),
            "unique",
        ),
        (_with(HELLO, "kind.container.env", [{"name": "1BAD", "value": "x"}]), "must start with"),
        (_with(HELLO, "kind.container.env", [{"name": "A"}, {"name": "A"}]), "unique"),
        (_with(HELLO, "kind.container.replicas", -1), "greater than or equal"),
        (_with(HELLO, "kind.container.resources", {"gpus": 1}), "cannot request GPUs"),
        (_with(HELLO, "kind.container.resources", {"memory": "lots"}), "pattern"),
    ],
)
def test_invalid_services_are_rejected_with_a_reason(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ServiceSpec.model_validate(doc)


@pytest.mark.parametrize(
    "slug", ["kube-system", "kube-anything", "liquidcompute-system", "Default", "a_b", ""]
)
def test_reserved_or_malformed_project_slugs_are_rejected(slug: str) -> None:
    with pytest.raises(ValidationError):
        ProjectSpec.model_validate({"name": "x", "slug": slug})


def test_images_with_registry_port_and_digest_are_accepted() -> None:
    for image in (
        "nginx",
        "registry.example.com:5000/team/app:v1.2.3",
        "ghcr.io/org/app@sha256:" + "a" * 64,
    ):
        doc = _with(HELLO, "kind.container.image", image)
        assert ServiceSpec.model_validate(doc).kind.container is not None
