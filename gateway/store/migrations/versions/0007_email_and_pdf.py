"""emailed documents: attachments as items, sender bindings, PDF extractions, learnt hints, replies

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gateway.store.models import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("received_item") as batch:
        batch.add_column(sa.Column("parent_id", sa.String(length=40), nullable=True))
    op.create_index("ix_received_item_parent_id", "received_item", ["parent_id"])
    op.create_table(
        "sender_binding",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_index("ix_sender_binding_address", "sender_binding", ["address"], unique=True)
    op.create_index("ix_sender_binding_partner_id", "sender_binding", ["partner_id"])
    op.create_table(
        "extraction_hint",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=256), nullable=True),
        sa.Column("region", sa.String(length=256), nullable=True),
        sa.Column("example", sa.String(length=256), nullable=False),
        sa.Column("source_item_id", sa.String(length=40), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_extraction_hint_partner_id", "extraction_hint", ["partner_id"])
    op.create_table(
        "pdf_extraction",
        sa.Column("item_id", sa.String(length=40), sa.ForeignKey("received_item.id"), primary_key=True),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "mail_reply",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("item_id", sa.String(length=40), sa.ForeignKey("received_item.id"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("sent_to", sa.String(length=1024), nullable=True),
    )
    op.create_index("ix_mail_reply_item_id", "mail_reply", ["item_id"])


def downgrade() -> None:
    op.drop_table("mail_reply")
    op.drop_table("pdf_extraction")
    op.drop_table("extraction_hint")
    op.drop_table("sender_binding")
    op.drop_index("ix_received_item_parent_id", "received_item")
    with op.batch_alter_table("received_item") as batch:
        batch.drop_column("parent_id")
