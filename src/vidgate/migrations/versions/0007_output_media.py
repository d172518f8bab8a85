"""What a stored output holds besides its pictures: its sound, its preview, its provenance.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the model types: a migration must not change when the models do.
_json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

_COLUMNS = (
    ("output_audio_codec", sa.String(32)),
    ("output_audio_channels", sa.Integer()),
    ("output_audio_sample_rate", sa.Integer()),
    ("output_audio_seconds", sa.Float()),
    ("preview_key", sa.String(512)),
    ("provenance", _json),
)


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        for name, kind in _COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
