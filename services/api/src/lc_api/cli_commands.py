"""What `lc replay` and `lc events` run (the `lc` CLI in deploy/local calls these).

- `replay(settings)`: rebuild every read model from sequence 1 into fresh tables, in one
  transaction (`lc_api.db.rebuild`), so the old tables answer until it commits and stay as
  they were if it fails. A running lcd
  is asked (over NATS) to hand over its projector for the duration, so replay works on a
  live stack; lcd resumes projecting from the rebuilt checkpoint afterwards. Given a
  stream (`lc replay`: stderr), it shows its progress there (`progress_display`).
- `print_events(settings, ...)`: print the audit log from the stream itself, optionally
  following it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Sequence
from typing import TextIO

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from lc_api.db.migrate import migrate
from lc_api.db.rebuild import ReadModelRebuild, without_collections
from lc_api.progress_display import ProgressDisplay
from lc_api.runtime.control import PAUSE_PROJECTOR
from lc_api.runtime.lcd import connect_nats, make_engine
from lc_api.settings import ApiSettings
from lc_contracts.errors import ContractError
from lc_contracts.events import shown
from lc_eventstore import EventStore, EventStoreError, ProjectionRunner, provision_streams
from lc_eventstore.projection import lock_key

log = logging.getLogger(__name__)

REPLAY_BATCH = 5000
"""Events per batch of a replay: five times a live batch, which rebuilt a log of 50,000
`service.applied` events over 1,000 services 10-20 % faster than batches of 1,000."""


class ReplayError(RuntimeError):
    """A replay that did not happen; the message says what to do."""


class ReplayBlocked(ReplayError):
    """Another process kept the projector lock."""


class ReplayFailed(ReplayError):
    """The rebuild failed (the database or the stream went away); nothing was changed."""


async def replay(
    settings: ApiSettings, *, lock_timeout_s: float = 30.0, progress_to: TextIO | None = None
) -> None:
    """Drop every projection's rows and rebuild them from the stream; show the progress
    of each on `progress_to` when given."""
    await asyncio.to_thread(migrate, settings.database_url)
    nc = await connect_nats(settings)
    engine = make_engine(settings, pool_size=2)
    try:
        js = nc.jetstream()
        await provision_streams(js, replicas=settings.stream_replicas)
        for projection in (ReadModelRebuild(),):
            runner = ProjectionRunner(engine, EventStore(js), projection)
            key = lock_key(projection.name)
            async with engine.connect() as lock_conn:
                # Queue for the lock first, then ask live lcd processes to let go of it.
                acquire = asyncio.ensure_future(
                    lock_conn.execute(sa.select(sa.func.pg_advisory_lock(key)))
                )
                await asyncio.sleep(0)
                await nc.publish(PAUSE_PROJECTOR, projection.name.encode())
                await nc.flush()
                try:
                    await asyncio.wait_for(asyncio.shield(acquire), lock_timeout_s)
                except TimeoutError:
                    acquire.cancel()
                    with contextlib.suppress(BaseException):
                        await acquire
                    raise ReplayBlocked(
                        f"projection {projection.name} stayed locked for {lock_timeout_s:.0f}s; "
                        "stop lcd and run replay again"
                    ) from None
                await lock_conn.commit()
                try:
                    # One transaction on the lock's session: lcd keeps answering from the
                    # old tables until it commits, and a failed replay leaves them as they were.
                    display = (
                        None
                        if progress_to is None
                        else ProgressDisplay(progress_to, f"rebuilding {projection.name}")
                    )
                    with without_collections():
                        position = await runner.rebuild(
                            lock_conn, progress=display, batch_size=REPLAY_BATCH
                        )
                    if display is not None:
                        display.finish()
                except (SQLAlchemyError, EventStoreError, OSError) as exc:
                    raise ReplayFailed(
                        f"rebuilding {projection.name} failed ({exc.__class__.__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}); "
                        "the read models are unchanged, run replay again"
                    ) from exc
                finally:
                    # A lost session has released the lock already.
                    with contextlib.suppress(SQLAlchemyError):
                        await lock_conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
                        await lock_conn.commit()
            log.info("rebuilt %s up to sequence %d", projection.name, position)
    finally:
        await engine.dispose()
        await nc.drain()


def _line(seq: int, envelope_json: dict[str, object]) -> str:
    actor = envelope_json.get("actor") or "-"
    return (
        f"{seq:>8}  {envelope_json.get('time')}  {envelope_json.get('type'):<30}  "
        f"{envelope_json.get('subject')}  actor={actor}"
    )


async def print_events(
    settings: ApiSettings,
    *,
    after: int = 0,
    limit: int | None = None,
    types: Sequence[str] = (),
    project: str | None = None,
    follow: bool = False,
    as_json: bool = False,
    out: TextIO | None = None,
) -> int:
    """Print the audit log (one line per event, or JSON lines); return how many were printed."""
    stream = out or sys.stdout
    nc = await connect_nats(settings)
    printed = 0
    try:
        store = EventStore(nc.jetstream())
        async for batch in store.read(after + 1, follow=follow):
            for message in batch:
                try:
                    envelope = shown(message.envelope())
                except ContractError:
                    continue
                if types and envelope.type not in types:
                    continue
                data = envelope.data
                if project and project not in (data.get("projectSlug"), data.get("slug")):
                    continue
                body = envelope.model_dump(mode="json", exclude_none=True)
                if as_json:
                    stream.write(json.dumps({"seq": message.seq, **body}) + "\n")
                else:
                    stream.write(_line(message.seq, body) + "\n")
                printed += 1
                if limit is not None and printed >= limit:
                    stream.flush()
                    return printed
            stream.flush()
    finally:
        await nc.drain()
    return printed
