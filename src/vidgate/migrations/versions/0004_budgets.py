"""Budgets per API key.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the model types: a migration must not change when the models do.
_utc = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "budgets",
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("daily_credits", sa.Float(), nullable=True),
        sa.Column("monthly_credits", sa.Float(), nullable=True),
        sa.Column("updated_at", _utc, nullable=False),
        sa.PrimaryKeyConstraint("key_id", name="pk_budgets"),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.id"], name="fk_budgets_key_id_api_keys", ondelete="CASCADE"
        ),
    )
    # A key's spend in a day or month is summed from its jobs on every budgeted create.
    op.create_index("ix_jobs_owner_created_at", "jobs", ["owner", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_owner_created_at", table_name="jobs")
    op.drop_table("budgets")
