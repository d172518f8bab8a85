"""Jobs, their upstream attempts and their event log.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the model types: a migration must not change when the models do.
_json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_utc = sa.DateTime(timezone=True)
_event_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(26), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("request", _json, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(64), nullable=True),
        sa.Column("estimated_credits", sa.Float(), nullable=True),
        sa.Column("cost_credits", sa.Float(), nullable=True),
        sa.Column("failure_code", sa.String(64), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.Column("next_run_at", _utc, nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_expires_at", _utc, nullable=True),
        sa.Column("deadline_at", _utc, nullable=True),
        sa.Column("poll_count", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc, nullable=False),
        sa.Column("updated_at", _utc, nullable=False),
        sa.Column("submitted_at", _utc, nullable=True),
        sa.Column("finished_at", _utc, nullable=True),
        sa.Column("output_key", sa.String(512), nullable=True),
        sa.Column("poster_key", sa.String(512), nullable=True),
        sa.Column("output_bytes", sa.BigInteger(), nullable=True),
        sa.Column("output_sha256", sa.String(64), nullable=True),
        sa.Column("output_duration_seconds", sa.Float(), nullable=True),
        sa.Column("output_width", sa.Integer(), nullable=True),
        sa.Column("output_height", sa.Integer(), nullable=True),
        sa.Column("output_codec", sa.String(32), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("parent_id", sa.String(26), nullable=True),
        sa.Column("segment_index", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
        sa.UniqueConstraint("owner", "idempotency_key", name="uq_jobs_owner_idempotency_key"),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["jobs.id"], name="fk_jobs_parent_id_jobs", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_jobs_status_next_run_at", "jobs", ["status", "next_run_at"])
    op.create_index("ix_jobs_owner_id", "jobs", ["owner", "id"])
    op.create_index("ix_jobs_parent_id", "jobs", ["parent_id"])

    op.create_table(
        "attempts",
        sa.Column("job_id", sa.String(26), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(64), nullable=True),
        sa.Column("created_at", _utc, nullable=False),
        sa.Column("finished_at", _utc, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_code", sa.String(64), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("job_id", "number", name="pk_attempts"),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_attempts_job_id_jobs", ondelete="CASCADE"
        ),
    )

    op.create_table(
        "job_events",
        sa.Column("id", _event_id, autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(26), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("data", _json, nullable=False),
        sa.Column("created_at", _utc, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_job_events"),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_job_events_job_id_jobs", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_job_events_job_id_id", "job_events", ["job_id", "id"])
    op.create_index("ix_job_events_owner_id", "job_events", ["owner", "id"])


def downgrade() -> None:
    op.drop_table("job_events")
    op.drop_table("attempts")
    op.drop_table("jobs")
