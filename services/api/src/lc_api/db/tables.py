"""SQLAlchemy Core tables of lcd's database.

Read models (rebuilt by `lc replay`): projects, services, service_revisions, domains,
project_secrets (names and versions), webhooks, audit_events. Kept across replays:
idempotency_records, admin_sessions, webhook_deliveries. The projection checkpoint and
quarantine tables belong to `lc_eventstore.projection.metadata`; the migrations create
them too.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

TS = sa.DateTime(timezone=True)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("slug", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

services = sa.Table(
    "services",
    metadata,
    sa.Column("project_slug", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("tier", sa.Text, nullable=False),
    sa.Column("spec", JSONB, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("phase", sa.Text, nullable=True),
    sa.Column("phase_message", sa.Text, nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

service_revisions = sa.Table(
    "service_revisions",
    metadata,
    sa.Column("project_slug", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True),
    sa.Column("spec", JSONB, nullable=False),
    sa.Column("rollback_of", sa.Integer, nullable=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

domains = sa.Table(
    "domains",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("fqdn", sa.Text, nullable=False, index=True),
    sa.Column("project_slug", sa.Text, nullable=False, index=True),
    sa.Column("service_name", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("challenge_token", sa.Text, nullable=False),
    sa.Column("last_failure", sa.Text, nullable=True),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("verified_at", TS, nullable=True),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("type", sa.Text, nullable=False, index=True),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("project_slug", sa.Text, nullable=True),
    sa.Column("time", TS, nullable=False),
    sa.Column("envelope", JSONB, nullable=False),
    # A state at a moment reads each service's latest events off it (lc_api.db.audit_log).
    sa.Index("ix_audit_events_project_type", "project_slug", "type", "subject", "seq"),
)

project_secrets = sa.Table(
    # Names and versions only: values live sealed in the event stream, never here.
    "project_secrets",
    metadata,
    sa.Column("project_slug", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

idempotency_records = sa.Table(
    "idempotency_records",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("headers", JSONB, nullable=True),
    sa.Column("body", sa.LargeBinary, nullable=True),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now(), index=True),
    sa.Column("completed_at", TS, nullable=True),
)

admin_sessions = sa.Table(
    "admin_sessions",
    metadata,
    sa.Column("token_hash", sa.Text, primary_key=True),
    sa.Column("username", sa.Text, nullable=False),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    sa.Column("expires_at", TS, nullable=False, index=True),
)

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("client_key", sa.Text, nullable=False),
    sa.Column("failed_at", TS, nullable=False, server_default=sa.func.now()),
    sa.Index("ix_login_failures_client_key_failed_at", "client_key", "failed_at"),
    sa.Index("ix_login_failures_failed_at", "failed_at"),
)

usage_samples = sa.Table(
    "usage_samples",
    metadata,
    sa.Column("replica", sa.Text, primary_key=True),
    sa.Column("minute", TS, primary_key=True),
    sa.Column("observed_at", TS, nullable=False, index=True),
    sa.Column("snapshot", JSONB, nullable=False),
)

webhooks = sa.Table(
    # Settings and state of webhook subscriptions; signing secrets stay sealed in the stream.
    "webhooks",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("event_types", JSONB, nullable=False),
    sa.Column("project_slug", sa.Text, nullable=True, index=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("pause_reason", sa.Text, nullable=True),
    sa.Column("pause_detail", sa.Text, nullable=True),
    sa.Column("paused_at_sequence", sa.BigInteger, nullable=True),
    sa.Column("secret_rotated_at", TS, nullable=True),
    sa.Column("previous_secret_expires_at", TS, nullable=True),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

webhook_deliveries = sa.Table(
    # The delivery log, written by the webhooks worker and kept for LC_WEBHOOK_LOG_RETENTION_H;
    # not a read model (a replay of the stream does not rebuild it).
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("subscription_id", sa.Text, nullable=False),
    sa.Column("event_id", sa.Text, nullable=False),
    sa.Column("event_seq", sa.BigInteger, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("latency_ms", sa.Float, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("response_body", sa.Text, nullable=True),
    sa.Column("next_attempt_at", TS, nullable=True),
    sa.Column("attempted_at", TS, nullable=False, index=True),
    sa.Index("ix_webhook_deliveries_subscription_id_id", "subscription_id", "id"),
)

READ_MODELS = (
    audit_events,
    domains,
    service_revisions,
    services,
    projects,
    project_secrets,
    webhooks,
)
