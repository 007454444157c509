"""The verifier's state encoded into a snapshot, decoded and folded on with the tail equals
the state folded from sequence 1 (pure; generated histories)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lc_contracts.events import (
    DomainDeleted,
    DomainRegistered,
    DomainVerificationFailed,
    DomainVerificationLost,
    DomainVerificationRequested,
    DomainVerified,
    Payload,
    build,
)
from lc_domain_verifier.domain.policy import VerificationPolicy
from lc_domain_verifier.domain.snapshot import (
    FORMAT,
    UnreadableState,
    decode_domains,
    encode_domains,
)
from lc_domain_verifier.domain.state import DomainState, evolve
from lc_eventstore import StoredEvent

START = datetime(2030, 1, 1, tzinfo=UTC)
POLICY = VerificationPolicy(recheck_initial=timedelta(seconds=30))
IDS = st.sampled_from(["d1", "d2", "d3"])
FQDNS = st.sampled_from(["chat.acme.com", "api.acme.com", "Bücher.example"])
REASONS = st.sampled_from(["nxdomain", "mismatch", "timeout", "expired"])
CNAMES = st.sampled_from([None, "ingress.liquid.example"])
POINTS = st.sampled_from([None, True, False])


def make(kind: type[Payload], **fields: st.SearchStrategy[object]) -> st.SearchStrategy[Payload]:
    """Payloads built by field name (st.builds would also fill the camelCase aliases)."""
    return st.fixed_dictionaries(fields).map(lambda kw: kind(**kw))


def with_names(
    kind: type[Payload], **more: st.SearchStrategy[object]
) -> st.SearchStrategy[Payload]:
    return make(
        kind, id=IDS, fqdn=FQDNS, project_slug=st.just("p"), service_name=st.just("s"), **more
    )


PAYLOADS: st.SearchStrategy[Payload] = st.one_of(
    with_names(DomainRegistered, challenge_token=st.sampled_from(["t1", "t2"])),
    make(DomainVerificationRequested, id=IDS),
    with_names(DomainVerified, cname_target=CNAMES, points_at_ingress=POINTS),
    make(
        DomainVerificationFailed,
        id=IDS,
        reason=REASONS,
        attempt=st.integers(1, 5),
        final=st.booleans(),
        cname_target=CNAMES,
        points_at_ingress=POINTS,
    ),
    with_names(DomainVerificationLost, reason=REASONS),
    with_names(DomainDeleted),
)


@st.composite
def histories(draw: st.DrawFn) -> list[StoredEvent]:
    payloads = draw(st.lists(PAYLOADS, max_size=50))
    out = []
    seq = 0
    at = START
    for payload in payloads:
        seq += draw(st.integers(1, 3))
        at += timedelta(seconds=draw(st.integers(0, 100_000)), microseconds=draw(st.integers(0, 9)))
        zone = draw(st.sampled_from([UTC, None]))  # other producers may write naive times
        envelope = build(payload, subject="lc.events.domain.x", source="tests")
        moment = at if zone else at.replace(tzinfo=None)
        out.append(
            StoredEvent(
                seq=seq, envelope=envelope.model_copy(update={"time": moment}), payload=payload
            )
        )
    return out


def fold(
    events: list[StoredEvent], domains: dict[str, DomainState] | None = None, position: int = 0
) -> tuple[int, dict[str, DomainState]]:
    """As the worker folds: by the id an event names; a name that cannot be checked is skipped."""
    domains = dict(domains or {})
    for event in events:
        position = max(position, event.seq)
        domain_id = getattr(event.payload, "id", None)
        if not isinstance(domain_id, str):
            continue
        try:
            updated = evolve(domains.get(domain_id), event, policy=POLICY)
        except ValueError:
            continue
        if updated is not None:
            domains[domain_id] = updated
    return position, domains


@settings(max_examples=300, deadline=None)
@given(history=histories(), data=st.data())
def test_snapshot_then_tail_equals_a_fold_from_the_start(
    history: list[StoredEvent], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(history)))
    whole = fold(history)

    position, domains = fold(history[:cut])
    restored_position, restored = decode_domains(encode_domains(position, domains, POLICY), POLICY)
    assert (restored_position, restored) == (position, domains)
    resumed = fold(history[cut:], restored, restored_position)

    assert resumed == whole
    assert encode_domains(*resumed, POLICY) == encode_domains(*whole, POLICY)


def test_a_snapshot_made_under_another_policy_is_refused() -> None:
    data = encode_domains(0, {}, POLICY)
    other = VerificationPolicy(recheck_initial=timedelta(seconds=60))
    with pytest.raises(UnreadableState, match="policy"):
        decode_domains(data, other)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b'{"format": "domain-verifier.domains/0"}',
        b'{"format": "' + FORMAT.encode() + b'", "position": 3}',
    ],
)
def test_anything_else_is_unreadable(data: bytes) -> None:
    with pytest.raises(UnreadableState):
        decode_domains(data, POLICY)
