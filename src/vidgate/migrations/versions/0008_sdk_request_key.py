"""The SDK-retry match made atomic: a per-owner unique key on the request an SDK may retry.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

_INDEX = "ix_jobs_owner_sdk_request_key"


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("sdk_request_key", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column(
                "sdk_original_pending", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    # Existing jobs hold no key: the match starts with the jobs made after the upgrade.
    op.create_index(_INDEX, "jobs", ["owner", "sdk_request_key"], unique=True)


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("sdk_original_pending")
        batch.drop_column("sdk_request_key")
