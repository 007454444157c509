"""The worker's pure cores: signatures the reference library accepts, the retry schedule,
what an answer means, and which subscription gets which event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook

from lc_contracts.envelope import Envelope
from lc_contracts.events import (
    ProjectCreated,
    WebhookDeleted,
    WebhookPaused,
    WebhookResumed,
    WebhookSecretRotated,
    WebhookSubscribed,
    WebhookTest,
    build,
    shown,
)
from lc_contracts.sealing import SealedValue, SecretKey, generate_key
from lc_contracts.webhooks import new_secret, seal_secret
from lc_webhooks import signing
from lc_webhooks.decoded_events import DecodedEvents
from lc_webhooks.outcomes import Attempt, Verdict, cut_body, describe_failure, judge
from lc_webhooks.retry_schedule import (
    MAX_RETRY_AFTER_S,
    SVIX_SCHEDULE_S,
    next_delay,
    parse_retry_after,
)
from lc_webhooks.selection import Subscriptions, ended, fold, signing_secrets, wants
from lc_webhooks.settings import WebhookSettings
from lc_webhooks.shares import Share, default_processes, owner

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def envelope(payload: object, subject: str = "lc.events.project.a") -> Envelope:
    return build(payload, subject=subject, source="test")  # type: ignore[arg-type]


@given(st.text(max_size=2000), st.integers(min_value=0, max_value=2**32))
def test_signatures_verify_with_the_reference_library(text: str, ts: int) -> None:
    secret = new_secret()
    headers = signing.headers([secret], "msg_1", ts, text.encode())
    expected = Webhook(secret).sign("msg_1", datetime.fromtimestamp(ts, UTC), text)
    assert headers["webhook-signature"] == expected


def test_every_secret_in_force_signs() -> None:
    old, new = new_secret(), new_secret()
    body = signing.body(envelope(ProjectCreated(slug="a", name="A")))
    ts = int(NOW.timestamp())
    headers = signing.headers([new, old], "id-1", ts, body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    with pytest.raises(ValueError, match="at least one"):
        signing.headers([], "id-1", ts, body)


def test_the_body_carries_the_cloudevent() -> None:
    import json

    event = envelope(ProjectCreated(slug="a", name="A"))
    body = json.loads(signing.body(event))
    assert body["type"] == "project.created"
    assert body["data"]["id"] == event.id
    assert body["data"]["specversion"] == "1.0"
    assert body["timestamp"].endswith("Z")


def test_the_schedule_with_jitter_and_its_end() -> None:
    delays = [next_delay(n, SVIX_SCHEDULE_S, jitter=0.0, rand=lambda: 0.5) for n in range(1, 9)]
    assert delays == [*SVIX_SCHEDULE_S, None]
    low = next_delay(2, SVIX_SCHEDULE_S, jitter=0.2, rand=lambda: 0.0)
    high = next_delay(2, SVIX_SCHEDULE_S, jitter=0.2, rand=lambda: 1.0)
    assert (low, high) == (240.0, 360.0)
    assert next_delay(1, (5.0,), jitter=0, rand=lambda: 0, retry_after_s=120) == 120
    huge = next_delay(1, (5.0,), jitter=0, rand=lambda: 0, retry_after_s=10**9)
    assert huge == MAX_RETRY_AFTER_S
    assert next_delay(2, (5.0,), jitter=0, rand=lambda: 0, retry_after_s=1) is None


def test_retry_after_forms() -> None:
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after("Mon, 30 Nov 2026 12:01:00 GMT", NOW) == 60
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


@pytest.mark.parametrize(
    ("attempt", "verdict"),
    [
        (Attempt(200), Verdict.DELIVERED),
        (Attempt(204), Verdict.DELIVERED),
        (Attempt(410), Verdict.GONE),
        (Attempt(301), Verdict.RETRY),
        (Attempt(429, retry_after_s=5), Verdict.RETRY),
        (Attempt(500), Verdict.RETRY),
        (Attempt(None, "timed out"), Verdict.RETRY),
    ],
)
def test_what_an_answer_means(attempt: Attempt, verdict: Verdict) -> None:
    assert judge(attempt) is verdict


def test_failures_are_described_and_bodies_cut() -> None:
    assert describe_failure(302, None) == "redirect 302 (redirects are not followed)"
    assert describe_failure(500, None) == "HTTP 500"
    assert describe_failure(200, None) is None
    assert len(cut_body(b"x" * 5000)) == 1024


def test_subscriptions_fold_and_filter() -> None:
    key = SecretKey.parse(generate_key())
    state = Subscriptions()
    first = seal_secret(key, "s1", new_secret())
    fold(
        state,
        10,
        WebhookSubscribed(
            id="s1",
            url="https://x.test/",
            event_types=["project.*"],
            project_slug="a",
            sealed_secret=first,
        ),
    )
    sub = state.by_id["s1"]
    assert sub.start_seq == 11
    assert wants(sub, envelope(ProjectCreated(slug="a", name="A")))
    assert not wants(sub, envelope(ProjectCreated(slug="b", name="B")))
    assert wants(sub, envelope(WebhookTest(id="s1"), "lc.events.webhook.s1"))
    assert not wants(sub, envelope(WebhookTest(id="s2"), "lc.events.webhook.s2"))

    second = seal_secret(key, "s1", new_secret())
    until = NOW + timedelta(hours=24)
    fold(
        state,
        12,
        WebhookSecretRotated(id="s1", sealed_secret=second, previous_expires_at=until),
    )
    sub = state.by_id["s1"]
    assert signing_secrets(sub, NOW) == [second, first]
    assert signing_secrets(sub, until) == [second]
    assert fold(state, 13, WebhookPaused(id="s1", reason="gone")).paused  # type: ignore[union-attr]
    assert not fold(state, 14, WebhookResumed(id="s1")).paused  # type: ignore[union-attr]


def test_a_subscription_deleted_with_its_project_ends_at_its_deletion() -> None:
    state = Subscriptions()

    def subscribed(sub_id: str, seq: int) -> None:
        sealed = SealedValue(key_id="k", nonce="n", ciphertext=sub_id)
        subscription = WebhookSubscribed(
            id=sub_id, url="https://x.test/", event_types=["*"], sealed_secret=sealed
        )
        fold(state, seq, subscription)

    subscribed("alone", 1)
    subscribed("with", 2)
    subscribed("paused", 3)
    fold(state, 4, WebhookPaused(id="paused", reason="gone"))
    assert fold(state, 10, WebhookDeleted(id="alone")) is None
    ending = fold(state, 11, WebhookDeleted(id="with", with_project=True))
    assert ending is not None
    assert ending.ends_at == 11  # delivers up to its deletion
    assert fold(state, 12, WebhookDeleted(id="paused", with_project=True)) is None
    assert set(state.by_id) == {"with"}
    ended(state, "with")
    assert state.by_id == {}


def test_domain_events_reach_the_subscriptions_of_their_project() -> None:
    from lc_contracts.events import DomainRegistered, DomainVerificationRequested
    from lc_webhooks.selection import Subscription, note_domain

    state = Subscriptions()
    scoped = Subscription("s", "https://x.test/", ("domain.*",), "a", 1, ())
    requested = envelope(DomainVerificationRequested(id="d1"), "lc.events.domain.d1")
    assert not wants(scoped, requested, state.domain_projects)  # whose is d1? unknown yet
    registered = DomainRegistered(
        id="d1", fqdn="x.acme.test", project_slug="a", service_name="s", challenge_token="t"
    )
    note_domain(state, envelope(registered, "lc.events.domain.d1"))
    assert wants(scoped, requested, state.domain_projects)
    other = Subscription("o", "https://x.test/", ("domain.*",), "b", 1, ())
    assert not wants(other, requested, state.domain_projects)


@given(st.text(min_size=1, max_size=40), st.integers(min_value=1, max_value=16))
def test_every_subscription_has_one_share(sub_id: str, count: int) -> None:
    owners = [i for i in range(count) if Share(i, count).owns(sub_id)]
    assert owners == [owner(sub_id, count)]  # one owner, the same at every call


def test_shares_and_their_count() -> None:
    with pytest.raises(ValueError, match="does not exist"):
        Share(2, 2)
    key = generate_key()
    assert 1 <= WebhookSettings(secret_key=key).webhook_processes == default_processes() <= 8
    assert WebhookSettings(secret_key=key, webhook_processes=3).webhook_processes == 3
    with pytest.raises(ValueError, match="webhook_processes"):
        WebhookSettings(secret_key=key, webhook_processes=0)


def test_an_event_is_decoded_once_for_every_courier_of_a_process() -> None:
    events = DecodedEvents(kept=2)
    first = envelope(ProjectCreated(slug="a", name="A"))
    one = events.get(7, first.to_bytes())
    assert one is not None
    assert one.envelope == first
    assert one.body == signing.body(shown(first))
    assert events.get(7, first.to_bytes()) is one  # the next courier's read: no decoding
    assert events.get(8, b"not an event") is None
    events.get(9, first.to_bytes())
    assert len(events) == 2  # bounded: seq 7 went first
    assert events.get(7, first.to_bytes()) is not one
