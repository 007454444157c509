"""Bring the database schema to the latest Alembic revision.

Called by lcd at start (in a worker thread), by `lc replay`, and by tests. Concurrent
callers (two lcd replicas starting at once) serialise on a PostgreSQL advisory lock taken
in the migration environment.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

SCRIPT_LOCATION = Path(__file__).with_name("alembic")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["database_url"] = database_url
    return config


def migrate(database_url: str) -> None:
    """Upgrade the database at `database_url` (a SQLAlchemy psycopg URL) to head."""
    command.upgrade(alembic_config(database_url), "head")
