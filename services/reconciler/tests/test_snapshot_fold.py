"""A desired state encoded into a snapshot, decoded and folded on with the tail equals the
state folded from sequence 1 (pure; generated histories)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lc_contracts.events import (
    DomainDeleted,
    DomainVerificationLost,
    DomainVerified,
    OrphanAdoptionRequested,
    OrphanDeletionRequested,
    OrphanDetected,
    Payload,
    ProjectCreated,
    ProjectDeleted,
    SecretDeleted,
    SecretSet,
    ServiceApplied,
    ServiceDeleted,
    ServiceStatusChanged,
)
from lc_contracts.sealing import SealedValue
from lc_contracts.status import ManagedObject, ServicePhase
from lc_reconciler.domain.desired_state import DesiredState
from lc_reconciler.domain.snapshot import (
    FORMAT,
    UnreadableState,
    decode_desired_state,
    encode_desired_state,
)
from lc_testing.product_docs import HELLO, LLAMA

from .helpers import spec

SLUGS = st.sampled_from(["acme", "beta", "gamma"])
NAMES = st.sampled_from(["hello", "llama-3-8b", "web"])
DOMAINS = st.sampled_from(["d1", "d2", "d3"])


@st.composite
def service_applied(draw: st.DrawFn) -> ServiceApplied:
    base = draw(st.sampled_from([HELLO, LLAMA]))
    changes = {"name": draw(NAMES)}
    if draw(st.booleans()):
        changes["expose"] = False
    return ServiceApplied(
        project_slug=draw(SLUGS),
        revision=draw(st.integers(1, 50)),
        spec=spec(base, **changes),
    )


@st.composite
def orphan(draw: st.DrawFn) -> ManagedObject:
    return ManagedObject(
        api_version="apps/v1",
        kind=draw(st.sampled_from(["Deployment", "Service"])),
        namespace=draw(SLUGS),
        name=draw(NAMES),
        project_slug=draw(SLUGS),
        service_name=draw(NAMES),
        uid=draw(st.sampled_from(["u1", "u2"])),
    )


def make(kind: type[Payload], **fields: st.SearchStrategy[object]) -> st.SearchStrategy[Payload]:
    """Payloads built by field name (st.builds would also fill the camelCase aliases)."""
    return st.fixed_dictionaries(fields).map(lambda kw: kind(**kw))


def domain_event(kind: type[DomainVerified] | type[DomainDeleted]) -> st.SearchStrategy[Payload]:
    return make(
        kind,
        id=DOMAINS,
        fqdn=st.sampled_from(["a.acme.com", "b.acme.com"]),
        project_slug=SLUGS,
        service_name=NAMES,
    )


PAYLOADS: st.SearchStrategy[Payload] = st.one_of(
    make(ProjectCreated, slug=SLUGS, name=st.just("P")),
    make(ProjectDeleted, slug=SLUGS),
    service_applied(),
    make(ServiceDeleted, project_slug=SLUGS, name=NAMES),
    make(
        ServiceStatusChanged,
        project_slug=SLUGS,
        name=NAMES,
        phase=st.sampled_from(list(ServicePhase)),
    ),
    domain_event(DomainVerified),
    domain_event(DomainDeleted),
    make(
        DomainVerificationLost,
        id=DOMAINS,
        fqdn=st.just("a.acme.com"),
        project_slug=SLUGS,
        service_name=NAMES,
        reason=st.just("mismatch"),
    ),
    make(OrphanDetected, target=orphan()),
    make(OrphanAdoptionRequested, target=orphan()),
    make(OrphanDeletionRequested, target=orphan()),
    make(
        SecretSet,
        project_slug=SLUGS,
        name=st.sampled_from(["token", "db"]),
        version=st.integers(1, 9),
        sealed=st.just(SealedValue(key_id="k1", nonce="bm9uY2U=", ciphertext="Y2lwaGVy")),
    ),
    make(SecretDeleted, project_slug=SLUGS, name=st.sampled_from(["token", "db"])),
)


def fold(history: list[tuple[int, Payload]], state: DesiredState | None = None) -> DesiredState:
    state = state or DesiredState()
    for seq, payload in history:
        state.apply(seq, payload)
    return state


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[int, Payload]]:
    payloads = draw(st.lists(PAYLOADS, max_size=60))
    # Sequences grow with gaps: other subjects of LC_EVENTS interleave.
    gaps = draw(st.lists(st.integers(1, 3), min_size=len(payloads), max_size=len(payloads)))
    seq = 0
    out = []
    for gap, payload in zip(gaps, payloads, strict=True):
        seq += gap
        out.append((seq, payload))
    return out


@settings(max_examples=300, deadline=None)
@given(history=histories(), data=st.data())
def test_snapshot_then_tail_equals_a_fold_from_the_start(
    history: list[tuple[int, Payload]], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(history)))
    whole = fold(history)

    snapshot = encode_desired_state(fold(history[:cut]))
    resumed = fold(history[cut:], decode_desired_state(snapshot))

    assert resumed == whole
    assert encode_desired_state(resumed) == encode_desired_state(whole)


@settings(max_examples=100, deadline=None)
@given(history=histories())
def test_the_tail_overlapping_the_snapshot_changes_nothing(
    history: list[tuple[int, Payload]],
) -> None:
    # A worker that saved a snapshot while it kept reading sees some events twice.
    whole = fold(history)
    assert fold(history, decode_desired_state(encode_desired_state(whole))) == whole


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json",
        b'{"format": "reconciler.desired-state/0", "position": 1}',
        b'{"format": "' + FORMAT.encode() + b'", "position": 1}',
        b'{"format": "'
        + FORMAT.encode()
        + b'", "position": 1, "projects": [], "services": [{"key": ["a", "b"], '
        b'"revision": 1, "spec": {"name": "b"}}]}',
    ],
)
def test_anything_else_is_unreadable(data: bytes) -> None:
    with pytest.raises(UnreadableState):
        decode_desired_state(data)
