"""Events read back from the log without validation (`decode_trusted`) give what the
validated decode gives: the spec's wire JSON key for key and in the same order, whatever
order the store gave its keys back in."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lc_contracts.errors import UnknownEventType
from lc_contracts.events import (
    DomainVerificationFailed,
    ServiceApplied,
    ServiceStatusChanged,
    build,
    decode,
)
from lc_contracts.specs import ServiceSpec
from lc_contracts.status import ServicePhase
from lc_contracts.trusted import TrustedServiceApplied, decode_trusted, in_field_order

LABEL = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
QUANTITY = st.sampled_from(["500m", "2", "1.5Gi", "10Gi"])


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def specs(draw: st.DrawFn) -> ServiceSpec:
    """Specs of every tier with any of their optional fields set."""
    tier = draw(st.sampled_from(["inference", "cpu", "gpu"]))
    if tier == "inference":
        model = {
            "modelName": draw(st.sampled_from(["meta-llama/Llama-3.1-8B", "qwen:7b"])),
            "dtype": draw(maybe(st.sampled_from(["auto", "bfloat16", "int4"]))),
            "endpoints": draw(
                maybe(
                    st.lists(
                        st.sampled_from(["chat_completions", "embeddings"]),
                        min_size=1,
                        max_size=2,
                        unique=True,
                    )
                )
            ),
            "gpus": draw(maybe(st.integers(1, 16))),
            "replicas": draw(maybe(st.integers(0, 100))),
            "args": draw(maybe(st.lists(TEXT, max_size=3))),
        }
        kind: dict[str, Any] = {"model": model}
    else:
        env_names = draw(
            st.lists(st.from_regex(r"[A-Z][A-Z0-9_]{0,6}", fullmatch=True), max_size=3, unique=True)
        )
        env = [
            {"name": name, "value": draw(TEXT)}
            if draw(st.booleans())
            else {"name": name, "secretRef": draw(LABEL)}
            for name in env_names
        ]
        ports = [
            {
                "port": port,
                "name": draw(maybe(st.just(f"p{port}"))),
                "protocol": draw(maybe(st.sampled_from(["TCP", "UDP"]))),
            }
            for port in draw(st.lists(st.integers(1, 65535), max_size=3, unique=True))
        ]
        resources = {
            "cpu": draw(maybe(QUANTITY)),
            "memory": draw(maybe(QUANTITY)),
            "gpus": draw(maybe(st.integers(1, 4))) if tier == "gpu" else None,
        }
        container = {
            "image": draw(
                st.sampled_from(
                    ["nginx", "registry.example/app:3", "ghcr.io/a/b@sha256:" + "0" * 64]
                )
            ),
            "command": draw(maybe(st.lists(TEXT, max_size=3))),
            "args": draw(maybe(st.lists(TEXT, max_size=3))),
            "env": env or None,
            "ports": ports or None,
            "resources": draw(maybe(st.just(resources))),
            "replicas": draw(maybe(st.integers(0, 100))),
            "storage": draw(
                maybe(
                    st.fixed_dictionaries({"size": maybe(QUANTITY), "storageClass": maybe(LABEL)})
                )
            ),
        }
        kind = {"container": container}
    wire = {"name": draw(LABEL), "tier": tier, "kind": kind, "expose": draw(maybe(st.booleans()))}
    return ServiceSpec.model_validate(without_nulls(wire))


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def as_jsonb(value: Any) -> Any:
    """`value` with its keys in the order PostgreSQL's jsonb gives them back: shorter first,
    then bytewise."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return {k: as_jsonb(value[k]) for k in keys}
    if isinstance(value, list):
        return [as_jsonb(v) for v in value]
    return value


@settings(max_examples=300)
@given(specs(), st.integers(1, 500), maybe(st.integers(1, 499)))
def test_a_service_applied_reads_back_as_its_validated_decode(
    spec: ServiceSpec, revision: int, rollback_of: int | None
) -> None:
    payload = ServiceApplied(
        project_slug="p", revision=revision, spec=spec, rollback_of=rollback_of
    )
    envelope = build(payload, subject="lc.events.service.p.x", source="t")
    stored = as_jsonb(orjson.loads(envelope.to_bytes()))

    trusted = decode_trusted(stored["type"], stored["dataversion"], stored["data"])
    validated = decode(envelope)

    assert isinstance(trusted, TrustedServiceApplied)
    assert isinstance(validated, ServiceApplied)
    assert orjson.dumps(trusted.spec) == orjson.dumps(validated.spec.to_wire())
    assert (trusted.name, trusted.tier) == (validated.spec.name, str(validated.spec.tier))
    assert (trusted.project_slug, trusted.revision, trusted.rollback_of) == (
        validated.project_slug,
        validated.revision,
        validated.rollback_of,
    )


def test_other_types_are_validated_as_decode_does() -> None:
    for payload in (
        ServiceStatusChanged(project_slug="p", name="x", phase=ServicePhase.READY, message="up"),
        DomainVerificationFailed(id="d", reason="mismatch", attempt=3, final=True),
    ):
        envelope = build(payload, subject="s", source="t")
        assert decode_trusted(envelope.type, envelope.dataversion, envelope.data) == payload


def test_a_version_it_does_not_know_is_not_trusted() -> None:
    spec = ServiceSpec.model_validate(
        {"name": "x", "tier": "cpu", "kind": {"container": {"image": "nginx"}}}
    )
    data = ServiceApplied(project_slug="p", revision=1, spec=spec).to_wire()
    with pytest.raises(UnknownEventType, match="newer"):
        decode_trusted(ServiceApplied.TYPE, ServiceApplied.VERSION + 1, data)
    with pytest.raises(UnknownEventType, match="no upcaster"):
        decode_trusted(ServiceApplied.TYPE, 0, data)


def test_keys_the_model_does_not_know_are_kept_after_the_others() -> None:
    assert list(in_field_order(ServiceSpec, {"zz": 1, "tier": "cpu", "name": "x"})) == [
        "name",
        "tier",
        "zz",
    ]
