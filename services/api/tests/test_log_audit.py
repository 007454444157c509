"""`lc audit verify`: passes on a live system, pinpoints a row changed by hand, finds gaps."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from lc_api.log_audit import missing_sequences, render, verify
from lc_api.settings import ApiSettings

from .test_events_and_replay import build_world


async def test_verify_passes_live_and_pinpoints_a_row_changed_by_hand(
    client: httpx.AsyncClient, settings: ApiSettings
) -> None:
    await build_world(client)
    verdict = await verify(settings)
    assert verdict.ok, render(verdict)
    assert verdict.checkpoint == verdict.last_seq > 10
    assert {t.table for t in verdict.tables} >= {"projects", "services", "audit_events"}
    filled = {"projects", "services", "service_revisions", "audit_events"}
    assert all(t.rows > 0 for t in verdict.tables if t.table in filled)

    engine = create_async_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("UPDATE projects SET name = 'tampered' WHERE slug = 'tmp'"))
    finally:
        await engine.dispose()
    verdict = await verify(settings)
    assert not verdict.ok
    [bad] = [t for t in verdict.tables if not t.equal]
    assert bad.table == "projects"
    assert [r["name"] for r in bad.only_in_table] == ["tampered"]
    assert [r["name"] for r in bad.only_in_fold] == ["Tmp again"]
    text = render(verdict)
    assert "DIFF projects" in text
    assert "tampered" in text
    assert "NOT verified" in text


def test_missing_sequences_are_the_gaps_after_the_first_one_seen() -> None:
    assert list(missing_sequences([3, 4, 7, 8], 10)) == [5, 6, 9, 10]
    assert list(missing_sequences([1, 2, 3], 3)) == []
    assert list(missing_sequences([], 5)) == []
