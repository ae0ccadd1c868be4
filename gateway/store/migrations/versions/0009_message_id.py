"""an email's Message-ID on its item, indexed, for recognising another delivery of the same message

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("received_item") as batch:
        batch.add_column(sa.Column("message_id", sa.String(length=255), nullable=True))
    op.create_index("ix_received_item_message_id", "received_item", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_received_item_message_id", "received_item")
    with op.batch_alter_table("received_item") as batch:
        batch.drop_column("message_id")
