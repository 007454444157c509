"""`lc replay`'s rebuild of lcd's read models: into fresh tables beside the old ones, which
take the old ones' place when the rebuild commits.

Callers: `lc_api.cli_commands.replay` and bench/audit.py hand `ReadModelRebuild` to
`ProjectionRunner.rebuild`, which calls `reset` first and `rebuilt` last, all in the
rebuild's one transaction; the fold itself is lcd's own projection (`ReadModelProjection`).

- `reset` creates the schema `lc_rebuild` with a copy of each read-model table (columns,
  defaults, checks, triggers, grants) and the keys the projection's upserts need, and puts
  that schema first in the transaction's search path: the projection's statements write
  there, while lcd's readers keep the old tables, neither changed nor locked.
- The audit log's rows are appended with no key to check, and its key and indexes are
  built once after the fold instead of updated row by row (the stream's sequences are
  unique already). They go as the projection's other rows do, one JSON array per batch
  that PostgreSQL turns into rows: a COPY row by row kept the work in Python, where it
  was slower (bench/audit.py: rebuild at 0.75 to 0.81 of reading, against 0.84 to 0.86).
- `rebuilt` builds those indexes under the old ones' names, then, in a savepoint with a
  short lock timeout, drops the old tables and moves the new ones into `public`; while
  lcd's readers hold a table, the swap steps back and tries again, so a reader waits at
  most the lock timeout and never deadlocks with it.

A rebuild that fails anywhere rolls back: the schema and its tables vanish, the old read
models and the checkpoint stay as they were. The new tables are analyzed before the swap
(every column but the JSON documents), so queries planned right after a replay see their
sizes and column statistics (a query planned on a new table's defaults could sort what
an index gives in order).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from lc_api.db.projection import AUDIT_APPEND, ReadModelProjection
from lc_api.db.tables import READ_MODELS, audit_events
from lc_eventstore.projection import freeze_startup_heap

log = logging.getLogger(__name__)

SHADOW: Final = "lc_rebuild"
"""The schema a rebuild writes into; it exists only inside a rebuild's transaction."""

KEYS_AFTER_FOLD: Final = frozenset({audit_events.name})
"""Tables the fold only appends to (no upsert needs their key): keyed after it."""

SWAP_LOCK_TIMEOUT_MS: Final = 500
"""How long the swap waits for lcd's readers before stepping back (less than PostgreSQL's
deadlock_timeout of 1 s, so a reader waiting behind it never meets a deadlock check)."""

SWAP_WITHIN_S: Final = 60.0
"""How long the swap keeps trying before the rebuild fails (and rolls back)."""

# Statistics for the columns queries filter, join and sort on: the JSON documents'
# (`spec`, `envelope`) took most of the time and no plan uses them.
_ANALYZE: Final = tuple(
    f"ANALYZE {SHADOW}.{table.name} "
    f"({', '.join(c.name for c in table.c if not isinstance(c.type, JSONB))})"
    for table in READ_MODELS
)

_INDEXES = sa.text(
    """
    SELECT c.relname AS table, pg_get_indexdef(i.indexrelid) AS definition
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
    WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY(:tables)
      AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
    ORDER BY 1, 2
    """
)
_KEYS = sa.text(
    """
    SELECT c.relname AS table, k.conname AS name, pg_get_constraintdef(k.oid) AS definition
    FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
    WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY(:tables)
      AND k.contype IN ('p', 'u', 'x')
    ORDER BY 1, 2
    """
)
_TRIGGERS = sa.text(
    """
    SELECT c.relname AS table, pg_get_triggerdef(t.oid) AS definition
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY(:tables)
      AND NOT t.tgisinternal
    ORDER BY 1, 2
    """
)
_GRANTS = sa.text(
    """
    SELECT c.relname AS table, a.privilege_type AS privilege, a.is_grantable AS grantable,
        CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS grantee
    FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
    LEFT JOIN pg_roles r ON r.oid = a.grantee
    WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY(:tables)
      AND a.grantee <> c.relowner
    ORDER BY 1, 4, 2
    """
)
# Sequences a column owns (a serial's): dropping the old table would take them along.
_OWNED_SEQUENCES = sa.text(
    """
    SELECT quote_ident(n.nspname) || '.' || quote_ident(s.relname) AS sequence,
        c.relname AS table, quote_ident(a.attname) AS column
    FROM pg_depend d
    JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
    JOIN pg_namespace n ON n.oid = s.relnamespace
    JOIN pg_class c ON c.oid = d.refobjid
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid
    WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
      AND d.deptype = 'a' AND c.relnamespace = 'public'::regnamespace
      AND c.relname = ANY(:tables)
    ORDER BY 1
    """
)


def _in_shadow(definition: str, table: str) -> str:
    """A definition PostgreSQL printed for `public.<table>`, for the same table in SHADOW."""
    return re.sub(rf"\bON (ONLY )?public\.{table}\b", rf"ON \g<1>{SHADOW}.{table}", definition)


@dataclass
class _Shape:
    """What the read-model tables carry beyond their columns, as statements for the copies."""

    tables: list[str]
    before_fold: list[str] = field(default_factory=list)
    after_fold: list[str] = field(default_factory=list)
    sequences: list[tuple[str, str, str]] = field(default_factory=list)


async def _shape(conn: AsyncConnection) -> _Shape:
    tables = [table.name for table in READ_MODELS]
    shape = _Shape(tables)
    params = {"tables": tables}
    for row in await conn.execute(_KEYS, params):
        key = f"ALTER TABLE {SHADOW}.{row.table} ADD CONSTRAINT {row.name} {row.definition}"
        (shape.after_fold if row.table in KEYS_AFTER_FOLD else shape.before_fold).append(key)
    for row in await conn.execute(_INDEXES, params):
        shape.after_fold.append(_in_shadow(row.definition, row.table))
    for row in await conn.execute(_TRIGGERS, params):
        shape.before_fold.append(_in_shadow(row.definition, row.table))
    for row in await conn.execute(_GRANTS, params):
        shape.before_fold.append(
            f"GRANT {row.privilege} ON {SHADOW}.{row.table} TO {row.grantee}"
            + (" WITH GRANT OPTION" if row.grantable else "")
        )
    shape.sequences = [
        (row.sequence, row.table, row.column)
        for row in await conn.execute(_OWNED_SEQUENCES, params)
    ]
    return shape


class ReadModelRebuild(ReadModelProjection):
    """lcd's read-model projection, rebuilding into fresh tables (`ProjectionRunner.rebuild`)."""

    audit_insert = AUDIT_APPEND

    def __init__(self) -> None:
        self._pending: _Shape | None = None

    async def reset(self, conn: AsyncConnection) -> None:
        shape = await _shape(conn)
        await conn.execute(sa.text(f"CREATE SCHEMA {SHADOW}"))
        for table in shape.tables:
            await conn.execute(
                sa.text(
                    f"CREATE TABLE {SHADOW}.{table} "
                    f"(LIKE public.{table} INCLUDING ALL EXCLUDING INDEXES)"
                )
            )
        for statement in shape.before_fold:
            await conn.execute(sa.text(statement))
        # The projection names its tables without a schema: they are the copies until commit.
        await conn.execute(sa.text(f"SET LOCAL search_path TO {SHADOW}, public"))
        self._pending = shape

    async def rebuilt(self, conn: AsyncConnection) -> None:
        shape, self._pending = self._pending, None
        assert shape is not None, "rebuilt() before reset()"
        for statement in shape.after_fold:
            await conn.execute(sa.text(statement))
        for statement in _ANALYZE:  # the planner's statistics from the first query on
            await conn.execute(sa.text(statement))
        deadline = time.monotonic() + SWAP_WITHIN_S
        while True:
            try:
                async with conn.begin_nested():
                    await _swap(conn, shape)
                return
            except sa.exc.OperationalError as exc:
                if not isinstance(exc.orig, psycopg.errors.LockNotAvailable):
                    raise
                if time.monotonic() > deadline:
                    raise
                log.info("read models busy; trying the swap again")


async def _swap(conn: AsyncConnection, shape: _Shape) -> None:
    """Put the copies in place of the old tables (inside the caller's savepoint)."""
    await conn.execute(sa.text(f"SET LOCAL lock_timeout = {SWAP_LOCK_TIMEOUT_MS}"))
    # Every table at once, before any is dropped: a reader holds all of its tables or waits.
    old = ", ".join(f"public.{table}" for table in shape.tables)
    await conn.execute(sa.text(f"LOCK TABLE {old} IN ACCESS EXCLUSIVE MODE"))
    for sequence, _, _ in shape.sequences:
        await conn.execute(sa.text(f"ALTER SEQUENCE {sequence} OWNED BY NONE"))
    for table in shape.tables:
        await conn.execute(sa.text(f"DROP TABLE public.{table}"))
        await conn.execute(sa.text(f"ALTER TABLE {SHADOW}.{table} SET SCHEMA public"))
    for sequence, table, column in shape.sequences:
        await conn.execute(sa.text(f"ALTER SEQUENCE {sequence} OWNED BY public.{table}.{column}"))
    await conn.execute(sa.text(f"DROP SCHEMA {SHADOW}"))
    await conn.execute(sa.text("SET LOCAL lock_timeout = 0"))


@contextlib.contextmanager
def without_collections() -> Iterator[None]:
    """Python's cyclic garbage collector off for the duration of a rebuild, and run once
    after it.

    A rebuild keeps batches of decoded events alive while PostgreSQL applies the one before,
    so every collection walks hundreds of thousands of objects that are no garbage: with
    the young generation's threshold at 50,000 allocations, collections still took 1.5 s
    of a 9.5 s rebuild of 100,000 events, and found nothing; the whole rebuild leaves about
    20 objects of cyclic garbage (bench/audit.py), which the collection at the end frees.
    Reference counting frees everything else as it goes, so memory does not grow with the
    log. What the process held before is frozen (`freeze_startup_heap`, as every
    projection runner does once), so that last collection walks only the rebuild's own."""
    freeze_startup_heap()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.collect()
