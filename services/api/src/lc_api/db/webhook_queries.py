"""Read webhook subscriptions (a read model) and their delivery log (written by the
webhooks worker, kept for its retention time).

Callers: the webhook routes.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from lc_api.db.tables import webhook_deliveries, webhooks
from lc_api.views import Page, WebhookDeliveryView, WebhookView


def _webhook(row: Any) -> WebhookView:
    return WebhookView(
        id=row.id,
        url=row.url,
        event_types=list(row.event_types),
        project_slug=row.project_slug,
        description=row.description,
        status=row.status,
        pause_reason=row.pause_reason,
        pause_detail=row.pause_detail or None,
        paused_at_sequence=row.paused_at_sequence,
        secret_rotated_at=row.secret_rotated_at,
        previous_secret_expires_at=row.previous_secret_expires_at,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class WebhookReads:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def webhook(self, subscription_id: str) -> WebhookView | None:
        query = sa.select(webhooks).where(webhooks.c.id == subscription_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _webhook(row) if row else None

    async def webhooks(
        self, project: str | None, after: str | None, limit: int
    ) -> Page[WebhookView]:
        query = sa.select(webhooks).order_by(webhooks.c.id).limit(limit + 1)
        if project is not None:
            query = query.where(webhooks.c.project_slug == project)
        if after is not None:
            query = query.where(webhooks.c.id > after)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        items = [_webhook(r) for r in rows[:limit]]
        return Page[WebhookView](
            items=items, next=items[-1].id if len(rows) > limit and items else None
        )

    async def deliveries(
        self, subscription_id: str, before: int | None, limit: int
    ) -> Page[WebhookDeliveryView]:
        """Newest first; the next page continues below `next`."""
        query = (
            sa.select(webhook_deliveries)
            .where(webhook_deliveries.c.subscription_id == subscription_id)
            .order_by(webhook_deliveries.c.id.desc())
            .limit(limit + 1)
        )
        if before is not None:
            query = query.where(webhook_deliveries.c.id < before)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        items = [
            WebhookDeliveryView(
                id=r.id,
                event_id=r.event_id,
                event_seq=r.event_seq,
                event_type=r.event_type,
                attempt=r.attempt,
                outcome=r.outcome,
                status_code=r.status_code,
                latency_ms=r.latency_ms,
                error=r.error,
                response_body=r.response_body,
                next_attempt_at=r.next_attempt_at,
                attempted_at=r.attempted_at,
            )
            for r in rows[:limit]
        ]
        more = len(rows) > limit and items
        return Page[WebhookDeliveryView](items=items, next=str(items[-1].id) if more else None)
