"""The provider's circuit: one row per provider, shared by every process.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the model types: a migration must not change when the models do.
_utc = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "provider_health",
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("streak_started_at", _utc, nullable=True),
        sa.Column("opened_at", _utc, nullable=True),
        sa.Column("retry_at", _utc, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", _utc, nullable=False),
        sa.PrimaryKeyConstraint("provider", name="pk_provider_health"),
    )


def downgrade() -> None:
    op.drop_table("provider_health")
