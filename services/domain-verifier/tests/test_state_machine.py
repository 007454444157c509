"""The verification state machine, driven as the worker drives it, with a fake clock.

`Timeline` plays the stream: it numbers events, stamps them with the simulated time and
feeds them through `evolve`; `check` runs `decide_check` the way the worker does after a
lookup. Each test reads as a domain's life.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
from lc_domain_verifier.domain.decisions import (
    Check,
    Expire,
    Idle,
    Wait,
    decide_check,
    decide_expiry,
    next_action,
)
from lc_domain_verifier.domain.lookup import (
    ChallengeFound,
    ChallengeNotFound,
    CheckResult,
    CnameObservation,
)
from lc_domain_verifier.domain.policy import VerificationPolicy
from lc_domain_verifier.domain.state import DomainState, evolve
from lc_eventstore import StoredEvent

START = datetime(2030, 1, 1, tzinfo=UTC)
TOKEN = "secret-looking-token-0123456789abcdefghijkl"
POLICY = VerificationPolicy(
    recheck_initial=timedelta(seconds=30),
    recheck_factor=2.0,
    recheck_max=timedelta(minutes=10),
    expiry=timedelta(hours=72),
    reverify_interval=timedelta(days=1),
    reverify_retry=timedelta(minutes=15),
    lost_after=3,
)
FOUND = ChallengeFound()


def recorded(payload: Payload, seq: int, at: datetime) -> StoredEvent:
    """`payload` as read back from the stream at `seq`, written at `at`."""
    envelope = build(payload, subject="lc.events.domain.d1", source="tests")
    return StoredEvent(seq=seq, envelope=envelope.model_copy(update={"time": at}), payload=payload)


def missing(reason: str = "nxdomain") -> ChallengeNotFound:
    return ChallengeNotFound(reason)  # type: ignore[arg-type]


@dataclass
class Timeline:
    policy: VerificationPolicy = POLICY
    now: datetime = START
    seq: int = 0
    state: DomainState | None = None
    log: list[tuple[int, datetime, Payload]] = field(default_factory=list)

    def append(self, payload: Payload) -> None:
        self.seq += 1
        self.log.append((self.seq, self.now, payload))
        self.state = evolve(self.state, recorded(payload, self.seq, self.now), policy=self.policy)

    def register(self, fqdn: str = "chat.acme.com") -> None:
        self.append(
            DomainRegistered(
                id="d1", fqdn=fqdn, project_slug="p", service_name="s", challenge_token=TOKEN
            )
        )

    def request(self) -> None:
        self.append(DomainVerificationRequested(id="d1"))

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    @property
    def current(self) -> DomainState:
        assert self.state is not None
        return self.state

    def action(self) -> object:
        return next_action(self.current, self.now, self.policy)

    def check(self, result: CheckResult) -> list[Payload]:
        decision = decide_check(self.current, result, self.now, self.policy)
        for payload in decision.events:
            self.append(payload)
        if decision.quiet_state is not None:
            self.state = decision.quiet_state
        return list(decision.events)

    def expire(self) -> list[Payload]:
        decision = decide_expiry(self.current, self.now, self.policy)
        for payload in decision.events:
            self.append(payload)
        return list(decision.events)

    def run_until_idle_or(self, until: datetime, result: CheckResult) -> None:
        """Act as the scheduler would until `until`: wait, check, expire."""
        while self.now < until:
            action = self.action()
            if isinstance(action, Idle):
                return
            if isinstance(action, Wait):
                self.now = min(action.until, until)
            elif isinstance(action, Check):
                self.check(result)
            elif isinstance(action, Expire):
                self.expire()

    def rebuilt(self) -> DomainState | None:
        state = None
        for seq, at, payload in self.log:
            state = evolve(state, recorded(payload, seq, at), policy=self.policy)
        return state


def registered() -> Timeline:
    timeline = Timeline()
    timeline.register()
    timeline.request()
    return timeline


def verified() -> Timeline:
    timeline = registered()
    timeline.check(FOUND)
    return timeline


# -- pending ----------------------------------------------------------------------------


def test_a_registered_domain_waits_for_a_verification_request() -> None:
    timeline = Timeline()
    timeline.register()
    assert timeline.current.status == "registered"
    assert isinstance(timeline.action(), Idle)
    assert timeline.check(FOUND) == []
    timeline.advance(days=30)
    assert isinstance(timeline.action(), Idle), "an unrequested domain never expires"


def test_a_requested_domain_is_pending_and_checked_at_once() -> None:
    timeline = Timeline()
    timeline.register()
    timeline.advance(hours=5)
    timeline.request()
    assert timeline.current.status == "pending"
    assert timeline.current.fqdn == "chat.acme.com"
    assert timeline.current.cycle_started_at == timeline.now, "the window opens at the request"
    assert isinstance(timeline.action(), Check)


def test_the_name_is_canonicalised() -> None:
    timeline = Timeline()
    timeline.register("Bücher.Example.")
    assert timeline.current.fqdn == "xn--bcher-kva.example"


def test_an_uncheckable_name_is_refused() -> None:
    with pytest.raises(ValueError):
        Timeline().register("not a name")


def test_finding_the_token_verifies_and_names_the_service() -> None:
    timeline = registered()
    cname = CnameObservation("ingress.example.net", True)
    [event] = timeline.check(ChallengeFound(cname))
    assert event == DomainVerified(
        id="d1",
        fqdn="chat.acme.com",
        project_slug="p",
        service_name="s",
        cname_target="ingress.example.net",
        points_at_ingress=True,
    )
    assert timeline.current.status == "verified"
    assert timeline.action() == Wait(START + POLICY.reverify_interval)


def test_failures_are_numbered_and_backed_off() -> None:
    timeline = registered()
    waits = []
    for attempt in range(1, 7):
        [event] = timeline.check(missing("mismatch"))
        assert event == DomainVerificationFailed(id="d1", reason="mismatch", attempt=attempt)
        action = timeline.action()
        assert isinstance(action, Wait)
        waits.append((action.until - timeline.now).total_seconds())
        timeline.now = action.until
    assert waits == [30, 60, 120, 240, 480, 600]
    assert timeline.current.status == "pending"


def test_a_verification_request_checks_now_and_restarts_the_back_off() -> None:
    timeline = registered()
    for _ in range(4):
        timeline.check(missing())
        timeline.now = timeline.current.next_check_at or timeline.now
    timeline.advance(seconds=5)
    timeline.request()
    assert isinstance(timeline.action(), Check)
    [event] = timeline.check(missing())
    assert isinstance(event, DomainVerificationFailed)
    assert event.attempt == 5, "attempts keep counting within the cycle"
    assert timeline.current.next_check_at == timeline.now + POLICY.recheck_initial


def test_a_domain_still_pending_at_the_end_of_the_window_expires() -> None:
    timeline = registered()
    timeline.run_until_idle_or(START + timedelta(days=10), missing())
    failures = [p for _, _, p in timeline.log if isinstance(p, DomainVerificationFailed)]
    last = failures[-1]
    assert (last.reason, last.final) == ("expired", True)
    assert all(not f.final for f in failures[:-1])
    expired_at = next(at for _, at, p in timeline.log if p is last)
    assert expired_at == START + POLICY.expiry
    assert timeline.current.status == "failed"
    assert isinstance(timeline.action(), Idle)


def test_expiry_is_due_even_when_the_next_check_is_later() -> None:
    timeline = registered()
    timeline.policy = POLICY
    timeline.now = START + POLICY.expiry - timedelta(seconds=1)
    timeline.check(missing())
    action = timeline.action()
    assert action == Wait(START + POLICY.expiry)
    timeline.now = START + POLICY.expiry
    assert isinstance(timeline.action(), Expire)
    [event] = timeline.expire()
    assert event == DomainVerificationFailed(id="d1", reason="expired", attempt=1, final=True)


def test_a_failed_check_that_ends_after_the_window_is_final() -> None:
    timeline = registered()
    timeline.now = START + POLICY.expiry + timedelta(seconds=1)
    [event] = timeline.check(missing("timeout"))
    assert event == DomainVerificationFailed(id="d1", reason="expired", attempt=1, final=True)


def test_a_successful_check_that_ends_after_the_window_still_verifies() -> None:
    timeline = registered()
    timeline.now = START + POLICY.expiry + timedelta(seconds=1)
    [event] = timeline.check(FOUND)
    assert isinstance(event, DomainVerified)


def test_expiry_of_a_domain_that_is_not_pending_does_nothing() -> None:
    timeline = verified()
    timeline.now = START + POLICY.expiry * 2
    assert timeline.expire() == []


def test_a_request_after_expiry_starts_a_new_window() -> None:
    timeline = registered()
    timeline.run_until_idle_or(START + timedelta(days=4), missing())
    assert timeline.current.status == "failed"
    timeline.advance(days=1)
    timeline.request()
    state = timeline.current
    assert (state.status, state.attempt, state.cycle_started_at) == ("pending", 0, timeline.now)
    [event] = timeline.check(missing())
    assert isinstance(event, DomainVerificationFailed)
    assert event.attempt == 1
    timeline.check(FOUND)
    assert timeline.current.status == "verified"


# -- verified ---------------------------------------------------------------------------


def test_a_verified_domain_is_rechecked_daily_without_new_events() -> None:
    timeline = verified()
    timeline.advance(days=1)
    assert isinstance(timeline.action(), Check)
    assert timeline.check(FOUND) == []
    assert timeline.action() == Wait(timeline.now + POLICY.reverify_interval)


def test_a_changed_cname_on_recheck_is_published() -> None:
    timeline = verified()
    timeline.advance(days=1)
    [event] = timeline.check(ChallengeFound(CnameObservation("ingress.example.net", True)))
    assert isinstance(event, DomainVerified)
    timeline.advance(days=1)
    assert timeline.check(ChallengeFound(CnameObservation("ingress.example.net", True))) == []


def test_consecutive_failures_of_a_verified_domain_make_it_lost() -> None:
    timeline = verified()
    timeline.advance(days=1)
    [first] = timeline.check(missing("nxdomain"))
    assert first == DomainVerificationFailed(id="d1", reason="nxdomain", attempt=1)
    assert timeline.current.status == "verified", "one failure is not a loss"
    assert timeline.action() == Wait(timeline.now + POLICY.reverify_retry)
    timeline.advance(minutes=15)
    [second] = timeline.check(missing("servfail"))
    assert second == DomainVerificationFailed(id="d1", reason="servfail", attempt=2)
    timeline.advance(minutes=15)
    [lost] = timeline.check(missing("no_record"))
    assert lost == DomainVerificationLost(
        id="d1", fqdn="chat.acme.com", project_slug="p", service_name="s", reason="no_record"
    )
    assert timeline.current.status == "lost"
    assert isinstance(timeline.action(), Idle)


def test_a_success_between_failures_resets_the_count() -> None:
    timeline = verified()
    for _ in range(2):
        timeline.advance(days=1)
        timeline.check(missing())
        timeline.advance(minutes=15)
        [event] = timeline.check(missing())
        assert isinstance(event, DomainVerificationFailed)
        timeline.advance(minutes=15)
        [event] = timeline.check(FOUND)
        assert isinstance(event, DomainVerified), "a success after failures is recorded"
        assert timeline.current.consecutive_failures == 0


def test_a_verify_request_on_a_verified_domain_rechecks_now() -> None:
    timeline = verified()
    timeline.advance(hours=1)
    timeline.request()
    assert isinstance(timeline.action(), Check)
    assert timeline.current.status == "verified"


def test_a_lost_domain_can_be_verified_again_on_request() -> None:
    timeline = Timeline(policy=VerificationPolicy(lost_after=1))
    timeline.register()
    timeline.request()
    timeline.check(FOUND)
    timeline.advance(days=1)
    [lost] = timeline.check(missing())
    assert isinstance(lost, DomainVerificationLost)
    timeline.request()
    assert timeline.current.status == "pending"
    assert timeline.current.cycle_started_at == timeline.now
    timeline.check(FOUND)
    assert timeline.current.status == "verified"


# -- deletion and replays ---------------------------------------------------------------


@pytest.mark.parametrize("make", [registered, verified])
def test_a_deleted_domain_is_never_checked_again(make: object) -> None:
    timeline = make()  # type: ignore[operator]
    timeline.append(
        DomainDeleted(id="d1", fqdn="chat.acme.com", project_slug="p", service_name="s")
    )
    assert isinstance(timeline.action(), Idle)
    timeline.request()
    assert timeline.current.status == "deleted"
    assert isinstance(timeline.action(), Idle)
    assert timeline.check(FOUND) == []


def test_events_about_unknown_domains_are_ignored() -> None:
    assert (
        evolve(None, recorded(DomainVerificationRequested(id="x"), 1, START), policy=POLICY) is None
    )


def test_an_event_already_applied_is_not_applied_twice() -> None:
    timeline = registered()
    timeline.check(missing())
    state = timeline.current
    replayed = evolve(
        state, recorded(timeline.log[-1][2], state.version, timeline.now), policy=POLICY
    )
    assert replayed is state


def test_the_token_is_not_in_the_state_repr() -> None:
    timeline = registered()
    assert TOKEN not in repr(timeline.current)
    assert TOKEN not in str(timeline.current)


# -- properties -------------------------------------------------------------------------

results = st.sampled_from(
    [
        FOUND,
        ChallengeFound(CnameObservation("ingress.example.net", True)),
        missing("nxdomain"),
        missing("no_record"),
        missing("mismatch"),
        missing("timeout"),
        missing("servfail"),
    ]
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("check"), results),
        st.tuples(st.just("wait"), st.integers(min_value=1, max_value=200_000)),
        st.tuples(st.just("request"), st.none()),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(steps=steps, lost_after=st.integers(min_value=1, max_value=4))
def test_any_history_keeps_the_invariants(steps: list[tuple[str, object]], lost_after: int) -> None:
    policy = VerificationPolicy(
        recheck_initial=timedelta(seconds=30),
        recheck_max=timedelta(minutes=10),
        expiry=timedelta(hours=72),
        lost_after=lost_after,
    )
    timeline = Timeline(policy=policy)
    timeline.register()
    timeline.request()
    for kind, arg in steps:
        if kind == "wait":
            assert isinstance(arg, int)
            timeline.advance(seconds=arg)
            continue
        if kind == "request":
            timeline.request()
            continue
        assert isinstance(arg, ChallengeFound | ChallengeNotFound)
        action = timeline.action()
        if isinstance(action, Expire):
            timeline.expire()
        elif isinstance(action, Check):
            before = timeline.current
            events = timeline.check(arg)
            after = timeline.current
            # Verified only from a found record; lost only after enough failures.
            if after.status == "verified" and before.status != "verified":
                assert isinstance(arg, ChallengeFound)
            if after.status == "lost":
                assert before.consecutive_failures + 1 >= lost_after
                assert isinstance(arg, ChallengeNotFound)
            assert len(events) <= 1
        if timeline.current.status in ("failed", "lost"):
            assert isinstance(timeline.action(), Idle)
        else:
            assert timeline.current.next_check_at is not None

    state = timeline.current
    # Expired failures only once the window has closed, and they are final.
    for _, _, payload in timeline.log:
        if isinstance(payload, DomainVerificationFailed) and payload.reason == "expired":
            assert payload.final
    # Failed attempts count 1, 2, 3, ... until a verification, a loss or a final failure.
    attempts: list[int] = []
    for _, _, payload in timeline.log:
        if isinstance(payload, DomainVerificationFailed) and not payload.final:
            attempts.append(payload.attempt)
            assert attempts == list(range(1, len(attempts) + 1))
        elif isinstance(
            payload, DomainVerified | DomainVerificationLost | DomainVerificationFailed
        ):
            attempts = []
    # A restart rebuilds the same state from the events alone (modulo quiet re-checks,
    # which move only the schedule of a verified domain).
    rebuilt = timeline.rebuilt()
    assert rebuilt is not None
    assert rebuilt.status == state.status
    assert rebuilt.version == state.version
    assert rebuilt.attempt == state.attempt
    assert rebuilt.consecutive_failures == state.consecutive_failures
    if state.status != "verified":
        assert rebuilt == state


def test_a_verify_request_on_a_verified_domain_is_always_answered() -> None:
    timeline = verified()
    timeline.advance(hours=1)
    timeline.request()
    [event] = timeline.check(FOUND)
    assert isinstance(event, DomainVerified)
    assert timeline.current.verify_requested is False
    timeline.advance(days=1)
    assert timeline.check(FOUND) == [], "the daily re-check stays quiet again"


def test_a_verify_request_on_a_verified_domain_that_fails_is_answered_with_the_failure() -> None:
    timeline = verified()
    timeline.request()
    [event] = timeline.check(missing("mismatch"))
    assert event == DomainVerificationFailed(id="d1", reason="mismatch", attempt=1)
    assert timeline.current.status == "verified"
