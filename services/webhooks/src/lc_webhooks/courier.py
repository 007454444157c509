"""One subscription's deliveries: read its durable consumer in order, send each event it
wants, retry on the schedule, acknowledge once delivered.

In order per subscription: one event at a time, the next only after this one was
delivered. At least once: the consumer is acknowledged after a delivery, so a courier
killed mid-delivery leaves the event unacknowledged and the next start (which recreates
the consumer from its ack floor, `consumer_position`) sends it again, same `webhook-id`.
The ack is not waited for: a courier killed just after a delivery may leave that ack in
the NATS client's buffer, and the next start sends that event again too. Waiting before
the next delivery until the server confirmed the ack (`ack_sync`), or only until the
client wrote it, cost 16 to 24 % of the steady deliveries per second in
bench/webhooks.py; receivers tell a repeat by its `webhook-id` in any case.
A receiver that answers 410, or an event whose retry schedule is spent, pauses the
subscription (a `webhook.paused` event); its position stays where it was. A subscription
deleted with its project delivers the events before its deletion (the project's last
ones), then ends: its consumer goes, and it leaves the worker's view; one that would pause
ends there instead.

Callers: the worker starts one courier task per active subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext

from lc_contracts.envelope import now
from lc_contracts.events import WebhookPaused, WebhookPauseReason, build
from lc_contracts.sealing import SealedValue, SecretKey
from lc_contracts.streams import EVENTS_STREAM
from lc_contracts.subjects import webhook_subject
from lc_contracts.webhooks import open_secret
from lc_eventstore import EventStore, stream_position
from lc_runtime.cancellation import raise_if_cancelled
from lc_runtime.logs import bind
from lc_webhooks import signing
from lc_webhooks.checked_client import CONNECTION_FAILURES, CheckedClient
from lc_webhooks.consumer_position import consumer_name, forget, place
from lc_webhooks.decoded_events import Decoded, DecodedEvents
from lc_webhooks.delivery_log import DeliveryLog, DeliveryRecord
from lc_webhooks.outcomes import (
    MAX_LOGGED_BODY,
    Attempt,
    Verdict,
    cut_body,
    describe_failure,
    honoured_retry_after,
    judge,
)
from lc_webhooks.retry_schedule import next_delay, parse_retry_after
from lc_webhooks.selection import (
    Subscription,
    Subscriptions,
    ended,
    note_domain,
    signing_secrets,
    wants,
)
from lc_webhooks.settings import WebhookSettings

log = logging.getLogger(__name__)
# Waiting for the next event, a pull for one: a pull for a batch holds the first event
# until the batch is full or the wait is over. Then whatever else is there, in one pull.
FETCH_WAIT_S = 1.0
MORE_WAIT_S = 0.005


class Courier:
    def __init__(
        self,
        subscription_id: str,
        subscriptions: Subscriptions,
        *,
        js: JetStreamContext,
        store: EventStore,
        client: CheckedClient,
        delivery_log: DeliveryLog,
        settings: WebhookSettings,
        key: SecretKey,
        events: DecodedEvents | None = None,
        clock: Callable[[], datetime] = now,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.id = subscription_id
        self._subs = subscriptions
        self._js = js
        self._store = store
        self._client = client
        self._log = delivery_log
        self._settings = settings
        self._key = key
        self._events = events if events is not None else DecodedEvents()
        self._clock = clock
        self._rand = rand
        self._opened: dict[str, str] = {}

    def _current(self) -> Subscription | None:
        sub = self._subs.by_id.get(self.id)
        return None if sub is None or sub.paused else sub

    def _ending(self) -> bool:
        sub = self._subs.by_id.get(self.id)
        return sub is not None and sub.ends_at is not None

    async def _end(self) -> None:
        """The subscription was deleted with its project and is done with the events before
        its deletion (or gave up on one): its consumer and its place in the view go."""
        await forget(self._js, self.id)
        ended(self._subs, self.id)
        log.info("subscription %s ended with its project", self.id)

    async def run(self) -> None:
        """Deliver until the subscription is paused or deleted (or the task is cancelled)."""
        sub = self._current()
        if sub is None:
            return
        batch = self._settings.webhook_batch
        position = await place(self._js, sub, batch)
        if position is None:
            await self._end()
            return
        psub = await self._js.pull_subscribe_bind(
            durable=consumer_name(self.id), stream=EVENTS_STREAM.name
        )
        try:
            while True:
                try:
                    msgs = await psub.fetch(1, timeout=FETCH_WAIT_S)
                except (NatsTimeoutError, TimeoutError):
                    raise_if_cancelled()
                    continue
                if batch > 1:
                    with contextlib.suppress(NatsTimeoutError, TimeoutError):
                        msgs += await psub.fetch(batch - 1, timeout=MORE_WAIT_S)
                raise_if_cancelled()
                unacked = None
                for msg in msgs:
                    seq = stream_position(msg.reply)[0]
                    sub = self._current()
                    if sub is None:
                        return
                    if sub.ends_at is not None and seq >= sub.ends_at:
                        await self._end()
                        return
                    event = self._events.get(seq, msg.data)
                    if event is None:
                        unacked = msg  # not an event: nothing to deliver
                        continue
                    envelope = event.envelope
                    note_domain(self._subs, envelope)
                    wanted = wants(sub, envelope, self._subs.domain_projects)
                    if position.skips(seq, envelope.time) or not wanted:
                        unacked = msg
                        continue
                    with bind(subscription=self.id, event_id=envelope.id, seq=seq):
                        if not await self._deliver(seq, event, msg):
                            if unacked is not None:
                                await unacked.ack()
                            if self._ending():
                                await self._end()
                            return
                    await msg.ack()  # ack-all: the skipped ones before it too
                    unacked = None
                if unacked is not None:
                    await unacked.ack()
        finally:
            with contextlib.suppress(Exception):
                await psub.unsubscribe()

    def _open(self, sealed: SealedValue) -> str:
        secret = self._opened.get(sealed.ciphertext)
        if secret is None:
            secret = self._opened[sealed.ciphertext] = open_secret(self._key, self.id, sealed)
        return secret

    async def _attempt(self, sub: Subscription, event: Decoded) -> tuple[Attempt, str | None]:
        content = event.body
        envelope = event.envelope
        at = self._clock()
        secrets = [self._open(s) for s in signing_secrets(sub, at)]
        headers = signing.headers(secrets, envelope.id, int(at.timestamp()), content)
        try:
            async with asyncio.timeout(self._settings.webhook_timeout_s):
                answer = await self._client.post(
                    sub.url, content=content, headers=headers, keep=MAX_LOGGED_BODY
                )
        except TimeoutError:
            timeout = self._settings.webhook_timeout_s
            return Attempt(None, f"no answer within {timeout:g}s"), None
        except CONNECTION_FAILURES as exc:
            return Attempt(None, f"{type(exc).__name__}: {exc}"[:500]), None
        retry_after = parse_retry_after(answer.headers.get("retry-after"), self._clock())
        return Attempt(answer.status_code, None, retry_after), cut_body(answer.body)

    async def _deliver(self, seq: int, event: Decoded, msg: object) -> bool:
        """Deliver one event, retrying on the schedule; False when the subscription was
        paused or deleted instead (the event stays unacknowledged)."""
        schedule = self._settings.webhook_retry_schedule_s
        attempt_no = 1
        while True:
            raise_if_cancelled()
            sub = self._current()
            if sub is None:
                return False
            started = time.monotonic()
            attempt, answer = await self._attempt(sub, event)
            latency_ms = (time.monotonic() - started) * 1000.0
            verdict = judge(attempt)
            delay = None
            if verdict is Verdict.RETRY:
                delay = next_delay(
                    attempt_no,
                    schedule,
                    jitter=self._settings.webhook_retry_jitter,
                    rand=self._rand,
                    retry_after_s=honoured_retry_after(attempt),
                )
            at = self._clock()
            outcome = {Verdict.DELIVERED: "delivered", Verdict.GONE: "gone"}.get(verdict, "failed")
            if verdict is Verdict.RETRY and delay is None:
                outcome = "paused"
            self._log.record(
                DeliveryRecord(
                    subscription_id=self.id,
                    event_id=event.envelope.id,
                    event_seq=seq,
                    event_type=event.envelope.type,
                    attempt=attempt_no,
                    outcome=outcome,
                    status_code=attempt.status_code,
                    latency_ms=round(latency_ms, 3),
                    error=describe_failure(attempt.status_code, attempt.error),
                    response_body=answer,
                    next_attempt_at=at + timedelta(seconds=delay) if delay is not None else None,
                    attempted_at=at,
                )
            )
            if verdict is Verdict.DELIVERED:
                return True
            if verdict is Verdict.GONE:
                await self._pause("gone", seq, "the receiver answered 410 Gone")
                return False
            if delay is None:
                detail = f"{attempt_no} attempts failed; last: "
                detail += describe_failure(attempt.status_code, attempt.error) or "?"
                await self._pause("retries_exhausted", seq, detail)
                return False
            log.info("delivery attempt %d failed; next in %.1fs", attempt_no, delay)
            await self._wait(delay, msg)
            attempt_no += 1

    async def _wait(self, delay: float, msg: object) -> None:
        """Sleep `delay` seconds, telling JetStream the event is still being worked on."""
        deadline = time.monotonic() + delay
        while (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 600.0))
            in_progress = getattr(msg, "in_progress", None)
            if in_progress is not None and left > 600.0:
                with contextlib.suppress(Exception):
                    await in_progress()

    async def _pause(self, reason: WebhookPauseReason, seq: int, detail: str) -> None:
        if self._ending():  # nothing to resume: the subscription ends here
            log.warning(
                "gave up at seq %d (%s) after its project was deleted: %s", seq, reason, detail
            )
            return
        subject = webhook_subject(self.id)
        event = build(
            WebhookPaused(id=self.id, reason=reason, at_sequence=seq, detail=detail),
            subject=subject,
            source=self._settings.source,
            event_id=str(uuid.uuid4()),
        )
        await self._store.append(subject, [event], None)
        log.warning("subscription paused (%s) at seq %d: %s", reason, seq, detail)
