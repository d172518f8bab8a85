"""API keys get a role: ``user`` (every key so far) or ``admin`` (the operator's console).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        # A plain string, as the status columns: no native enum type to migrate later.
        batch.add_column(sa.Column("role", sa.String(16), nullable=False, server_default="user"))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("role")
