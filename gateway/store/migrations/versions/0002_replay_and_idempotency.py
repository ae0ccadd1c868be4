"""replays and delivery idempotency keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("received_item") as batch:
        batch.add_column(sa.Column("replay_of", sa.String(length=40), nullable=True))
        batch.create_index("ix_received_item_replay_of", ["replay_of"])
    with op.batch_alter_table("document") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(length=160), nullable=True))
        batch.create_index("ix_document_idempotency_key", ["idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("document") as batch:
        batch.drop_index("ix_document_idempotency_key")
        batch.drop_column("idempotency_key")
    with op.batch_alter_table("received_item") as batch:
        batch.drop_index("ix_received_item_replay_of")
        batch.drop_column("replay_of")
