"""The audit log's index by project, type, subject and sequence, in place of the one by
project alone: a state at a moment reads each service's latest events off it without a
visit to the table (`lc_api.db.audit_log`), and it serves the filters by project as the
old one did.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_audit_events_project_type",
        "audit_events",
        ["project_slug", "type", "subject", "seq"],
    )
    op.drop_index("ix_audit_events_project_slug", table_name="audit_events")


def downgrade() -> None:
    op.create_index("ix_audit_events_project_slug", "audit_events", ["project_slug"])
    op.drop_index("ix_audit_events_project_type", table_name="audit_events")
