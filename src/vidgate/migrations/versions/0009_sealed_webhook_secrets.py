"""Webhook signing secrets sealed at rest: room for the sealed form.

``webhook_targets.secret`` holds ``sealed:v1:`` + a Fernet token (about 170 characters for a
``whsec_`` secret) instead of the secret itself. The column is widened here; the secrets are
sealed by ``vidgate serve`` and ``vidgate worker`` when they start
(:func:`vidgate.webhooks.sealing.seal_stored_secrets`), because only the process knows the key
(``VIDGATE_SECRETS_KEY``, else ``DATA_DIR/secrets-key``): a migration run by ``vidgate migrate``
on another machine must not seal them with a key the servers do not have. Until then a vidgate
reads a plaintext secret as it is, so upgrading loses no webhook. The downgrade only narrows the
column back: run it after opening the secrets, as no older vidgate can read sealed ones.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_targets") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(128), type_=sa.String(512), existing_nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_targets") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(512), type_=sa.String(128), existing_nullable=True
        )
