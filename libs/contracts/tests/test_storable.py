"""Strings PostgreSQL cannot store are refused by every spec, in every field."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from lc_contracts.specs import DomainRegistration, ProjectSpec, ServiceSpec
from lc_contracts.storable import unstorable_reason
from lc_testing.product_docs import DOMAIN, HELLO, LLAMA

CONTAINER: dict[str, Any] = {
    "name": "box",
    "tier": "cpu",
    "kind": {
        "container": {
            "image": "busybox:1",
            "command": ["sh"],
            "args": ["-c", "echo hi"],
            "env": [{"name": "GREETING", "value": "hi"}],
            "ports": [{"port": 8080, "name": "http"}],
            "resources": {"cpu": "1"},
            "storage": {"size": "1Gi", "storageClass": "fast"},
        }
    },
}
MODEL: dict[str, Any] = copy.deepcopy(LLAMA)
MODEL["kind"]["model"]["args"] = ["--max-model-len", "4096"]

# (document, path to a string, model); a path step is a key or a list index.
FIELDS: list[tuple[dict[str, Any], tuple[str | int, ...], type[Any]]] = [
    ({"name": "Default", "slug": "default"}, ("name",), ProjectSpec),
    ({"name": "Default", "slug": "default"}, ("slug",), ProjectSpec),
    (HELLO, ("name",), ServiceSpec),
    (MODEL, ("kind", "model", "modelName"), ServiceSpec),
    (MODEL, ("kind", "model", "args", 1), ServiceSpec),
    (CONTAINER, ("kind", "container", "image"), ServiceSpec),
    (CONTAINER, ("kind", "container", "command", 0), ServiceSpec),
    (CONTAINER, ("kind", "container", "args", 1), ServiceSpec),
    (CONTAINER, ("kind", "container", "env", 0, "name"), ServiceSpec),
    (CONTAINER, ("kind", "container", "env", 0, "value"), ServiceSpec),
    (CONTAINER, ("kind", "container", "ports", 0, "name"), ServiceSpec),
    (CONTAINER, ("kind", "container", "resources", "cpu"), ServiceSpec),
    (CONTAINER, ("kind", "container", "storage", "storageClass"), ServiceSpec),
    (DOMAIN, ("fqdn",), DomainRegistration),
    (DOMAIN, ("serviceName",), DomainRegistration),
]


def _with_suffix(doc: dict[str, Any], path: tuple[str | int, ...], suffix: str) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    node: Any = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] += suffix
    return out


@pytest.mark.parametrize(
    "bad", ["\x00", chr(0xD800), chr(0xDFFF)], ids=["nul", "high-surrogate", "low-surrogate"]
)
@pytest.mark.parametrize(("doc", "path", "model"), FIELDS)
def test_an_unstorable_character_in_any_string_is_refused_at_its_field(
    doc: dict[str, Any], path: tuple[str | int, ...], model: type[Any], bad: str
) -> None:
    model.model_validate(doc)  # the document itself is fine
    with pytest.raises(ValidationError) as caught:
        model.model_validate(_with_suffix(doc, path, bad))
    # The error is reported at the field (a list's items at the list).
    field_path = tuple(p for p in path if not isinstance(p, int))
    locs = [tuple(p for p in e["loc"] if not isinstance(p, int)) for e in caught.value.errors()]
    assert field_path in locs


def test_free_text_keeps_every_other_character() -> None:
    text = "tab\there, newline\n, emoji \U0001f680, accents é, \u2028, \x7f"
    spec = ProjectSpec.model_validate({"name": text, "slug": "x"})
    assert spec.name == text
    doc = _with_suffix(CONTAINER, ("kind", "container", "env", 0, "value"), text)
    assert ServiceSpec.model_validate(doc).kind.container is not None


def test_the_reason_names_the_character() -> None:
    assert unstorable_reason("fine") is None
    assert "NUL" in (unstorable_reason("a\x00b") or "")
    assert "surrogate" in (unstorable_reason("a\udc80") or "")
    # A well-formed pair (decoded from JSON "\ud83d\ude80") is one character, not two halves.
    assert unstorable_reason("\U0001f680") is None
