"""Alembic environment: online migrations only, under an advisory lock."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from lc_api.db.tables import metadata

MIGRATION_LOCK = 0x4C43_4D49  # "LCMI"

config = context.config
url = config.attributes["database_url"]
engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
with engine.connect() as connection:
    connection.execute(sa.select(sa.func.pg_advisory_lock(MIGRATION_LOCK)))
    connection.commit()
    try:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        connection.execute(sa.select(sa.func.pg_advisory_unlock(MIGRATION_LOCK)))
        connection.commit()
engine.dispose()
