"""The Alembic migrations build exactly the schema the code declares."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from lc_api.db.migrate import migrate
from lc_api.db.tables import metadata
from lc_eventstore.projection import metadata as checkpoint_metadata


def test_migrating_to_head_gives_the_declared_tables_indexes_and_columns(
    database_url: str,
) -> None:
    migrate(database_url)
    declared = sa.MetaData()
    for source in (metadata, checkpoint_metadata):
        for table in source.tables.values():
            table.to_metadata(declared)
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), declared)
    finally:
        engine.dispose()
    ignored = {"alembic_version"}
    assert [d for d in differences if not (d[0] == "remove_table" and d[1].name in ignored)] == []
