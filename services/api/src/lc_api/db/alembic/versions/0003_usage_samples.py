"""Proxy usage history: one snapshot per proxy replica and minute, kept a day.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "usage_samples",
        sa.Column("replica", sa.Text, primary_key=True),
        sa.Column("minute", TS, primary_key=True),
        sa.Column("observed_at", TS, nullable=False),
        sa.Column("snapshot", JSONB, nullable=False),
    )
    op.create_index("ix_usage_samples_observed_at", "usage_samples", ["observed_at"])


def downgrade() -> None:
    op.drop_table("usage_samples")
