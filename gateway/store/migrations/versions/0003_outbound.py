"""outbound interchanges and their sets, for sending and for 997 reconciliation

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gateway.store.models import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("received_item") as batch:
        batch.add_column(sa.Column("direction", sa.String(length=3), nullable=False, server_default="in"))
    op.create_table(
        "outbound_message",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("item_id", sa.String(length=40), sa.ForeignKey("received_item.id"), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("isa13", sa.String(length=16), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("sent_to", sa.String(length=1024), nullable=True),
        sa.Column("ack_due_at", UTCDateTime(), nullable=True),
        sa.Column("acked_at", UTCDateTime(), nullable=True),
        sa.Column("ack_item_id", sa.String(length=40), nullable=True),
        sa.Column("ack_detail", sa.Text(), nullable=False),
    )
    for column in ("item_id", "partner_id", "isa13", "state", "ack_due_at"):
        op.create_index(f"ix_outbound_message_{column}", "outbound_message", [column])
    op.create_table(
        "outbound_set",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.String(length=40), sa.ForeignKey("outbound_message.id"), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.String(length=40), nullable=False),
        sa.Column("set_id", sa.String(length=8), nullable=False),
        sa.Column("functional_id", sa.String(length=4), nullable=False),
        sa.Column("gs06", sa.String(length=16), nullable=False),
        sa.Column("st02", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ack_codes", sa.String(length=256), nullable=False),
    )
    for column in ("message_id", "partner_id", "document_id"):
        op.create_index(f"ix_outbound_set_{column}", "outbound_set", [column])


def downgrade() -> None:
    op.drop_table("outbound_set")
    op.drop_table("outbound_message")
    with op.batch_alter_table("received_item") as batch:
        batch.drop_column("direction")
