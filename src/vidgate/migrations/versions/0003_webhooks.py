"""Webhook targets and deliveries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the model types: a migration must not change when the models do.
_json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_utc = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webhook_targets",
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("secret", sa.String(128), nullable=True),
        sa.Column("created_at", _utc, nullable=False),
        sa.Column("updated_at", _utc, nullable=False),
        sa.PrimaryKeyConstraint("owner", name="pk_webhook_targets"),
    )

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("job_id", sa.String(26), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("payload", _json, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("round_failures", sa.Integer(), nullable=False),
        sa.Column("round_started_at", _utc, nullable=True),
        sa.Column("next_attempt_at", _utc, nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_expires_at", _utc, nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _utc, nullable=False),
        sa.Column("updated_at", _utc, nullable=False),
        sa.Column("delivered_at", _utc, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.UniqueConstraint("event_id", "url", name="uq_webhook_deliveries_event_id_url"),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name="fk_webhook_deliveries_job_id_jobs",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_status_next_attempt_at",
        "webhook_deliveries",
        ["status", "next_attempt_at"],
    )
    op.create_index("ix_webhook_deliveries_job_id_id", "webhook_deliveries", ["job_id", "id"])

    op.create_table(
        "webhook_attempts",
        sa.Column("delivery_id", sa.String(32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("started_at", _utc, nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("delivery_id", "number", name="pk_webhook_attempts"),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name="fk_webhook_attempts_delivery_id_webhook_deliveries",
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "webhook_cursor",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_webhook_cursor"),
    )
    # Events older than webhooks make no deliveries: the cursor starts after them.
    op.execute(
        "INSERT INTO webhook_cursor (name, last_event_id) "
        "SELECT 'job_events', COALESCE(MAX(id), 0) FROM job_events"
    )


def downgrade() -> None:
    op.drop_table("webhook_cursor")
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_targets")
