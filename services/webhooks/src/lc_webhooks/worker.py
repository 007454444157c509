"""The webhooks worker: folds the subscriptions' events (`lc.events.webhook.>`) and keeps
one courier per active subscription of its share (all of them with one delivery process;
`shares`).

On start it reads every subscription event, removes the consumers of subscriptions
deleted while no worker ran, then starts the couriers of the active ones;
live, a new or resumed subscription gets a courier, a paused or deleted one loses it (a
deleted one its consumer too; one deleted with its project first delivers the events
before its deletion, `Courier`), and a replay request restarts it at the replayed position.
Every hour the first share purges the delivery log of attempts past their retention.

Callers: `lc_webhooks.main.run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from nats.js import JetStreamContext

from lc_contracts.envelope import now
from lc_contracts.errors import ContractError
from lc_contracts.events import (
    WebhookDeleted,
    WebhookPaused,
    WebhookReplayRequested,
    WebhookResumed,
    WebhookSubscribed,
)
from lc_contracts.subjects import EVENTS_PREFIX, WEBHOOK_EVENTS
from lc_eventstore import EventStore, StoredEvent
from lc_runtime.cancellation import cancel_until_done
from lc_runtime.supervision import run_restarting
from lc_webhooks.checked_client import CheckedClient, Resolver
from lc_webhooks.consumer_position import forget, forget_all_but
from lc_webhooks.courier import Courier
from lc_webhooks.decoded_events import DecodedEvents
from lc_webhooks.delivery_log import DeliveryLog
from lc_webhooks.selection import Subscriptions, fold, note_domain
from lc_webhooks.settings import WebhookSettings
from lc_webhooks.shares import EVERY_SUBSCRIPTION, Share

log = logging.getLogger(__name__)
PURGE_EVERY_S = 3600.0
DOMAIN_EVENTS = f"{EVENTS_PREFIX}.domain.>"  # for the projects of domains


def http_client(settings: WebhookSettings) -> CheckedClient:
    return CheckedClient(
        Resolver(settings.nameservers()),
        allowed=settings.allowed_networks(),
        allow_http=settings.webhook_allow_http,
        timeout_s=settings.webhook_timeout_s,
    )


class WebhookWorker:
    def __init__(
        self,
        js: JetStreamContext,
        delivery_log: DeliveryLog,
        settings: WebhookSettings,
        client: CheckedClient,
        share: Share = EVERY_SUBSCRIPTION,
    ) -> None:
        self._js = js
        self._share = share
        self._store = EventStore(js)
        self._log = delivery_log
        self._settings = settings
        self._client = client
        self._key = settings.sealing_key()
        self.subscriptions = Subscriptions()
        self._events = DecodedEvents()  # what the couriers read, decoded once for all
        self._couriers: dict[str, asyncio.Task[None]] = {}
        self.started = asyncio.Event()

    async def run(self) -> None:
        # One share purges: every process would delete the same rows.
        purge = asyncio.create_task(self._purge_loop()) if self._share.index == 0 else None
        writer = asyncio.create_task(self._log.run())
        try:
            subjects = [WEBHOOK_EVENTS, DOMAIN_EVENTS]
            async for batch in self._store.read(1, subjects, follow=True):
                if not batch and not self.started.is_set():
                    kept = set(self.subscriptions.by_id)
                    gone = await forget_all_but(self._js, kept, self._share.owns)
                    if gone:
                        log.info("removed the consumers of deleted subscriptions %s", gone)
                    for sub in list(self.subscriptions.by_id.values()):
                        if not sub.paused and self._share.owns(sub.id):
                            self._start(sub.id)
                    self.started.set()
                for message in batch:
                    try:
                        event = message.event()
                    except ContractError as exc:
                        log.warning("skipping unreadable event seq=%s: %s", message.seq, exc)
                        continue
                    await self._apply(event)
        finally:
            if purge is not None:
                purge.cancel()
            for sub_id in list(self._couriers):
                await self._stop(sub_id)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    async def _apply(self, event: StoredEvent) -> None:
        note_domain(self.subscriptions, event.envelope)
        payload = event.payload
        sub = fold(self.subscriptions, event.seq, payload)
        if not self.started.is_set():
            return
        sub_id = getattr(payload, "id", "")
        if not self._share.owns(sub_id):
            return
        if isinstance(payload, WebhookDeleted):
            if sub is None:  # one deleted with its project ends by itself (`Courier`)
                await self._stop(sub_id)
                await forget(self._js, sub_id)
        elif isinstance(payload, WebhookPaused):
            await self._stop(sub_id)
        elif isinstance(payload, WebhookSubscribed | WebhookResumed | WebhookReplayRequested):
            await self._stop(sub_id)
            if sub is not None and not sub.paused:
                self._start(sub_id)

    def _start(self, sub_id: str) -> None:
        courier = Courier(
            sub_id,
            self.subscriptions,
            js=self._js,
            store=self._store,
            client=self._client,
            delivery_log=self._log,
            settings=self._settings,
            key=self._key,
            events=self._events,
        )
        task = asyncio.create_task(
            run_restarting(f"courier {sub_id}", courier.run, delay_s=1.0, logger=log),
            name=f"courier-{sub_id}",
        )
        self._couriers[sub_id] = task
        task.add_done_callback(lambda _: self._forget_task(sub_id, task))

    def _forget_task(self, sub_id: str, task: asyncio.Task[None]) -> None:
        """Drop a courier that ended (also by itself: a subscription ended with its
        project), unless a new one took its place."""
        if self._couriers.get(sub_id) is task:
            del self._couriers[sub_id]

    async def _stop(self, sub_id: str) -> None:
        """Cancel the courier (again, should a library lose the cancellation) and wait for
        its end. Not `await task`: a cancellation of the worker itself meanwhile must end
        the worker, not be taken for the courier's and swallowed (a worker that never
        stops)."""
        task = self._couriers.get(sub_id)
        if task is None:
            return
        await cancel_until_done(task)
        self._forget_task(sub_id, task)

    async def _purge_loop(self) -> None:
        retention = timedelta(hours=self._settings.webhook_log_retention_h)
        while True:
            try:
                removed = await self._log.purge(now(), retention)
                if removed:
                    log.info("purged %d delivery log rows", removed)
            except Exception:
                log.exception("could not purge the delivery log")
            await asyncio.sleep(PURGE_EVERY_S)
