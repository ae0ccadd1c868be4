"""goods receipts and match results, for 3-way invoice matching

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gateway.store.models import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("document") as batch:
        batch.add_column(sa.Column("match", sa.Text(), nullable=True))
    op.create_table(
        "goods_receipt",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("po_number", sa.String(length=64), nullable=False),
        sa.Column("line_number", sa.String(length=32), nullable=True),
        sa.Column("item_ids", sa.Text(), nullable=False),
        sa.Column("quantity", sa.String(length=32), nullable=False),
        sa.Column("uom", sa.String(length=8), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_goods_receipt_partner_id", "goods_receipt", ["partner_id"])
    op.create_index("ix_goods_receipt_po_number", "goods_receipt", ["po_number"])
    op.create_index("ix_document_kind_po", "document", ["partner_id", "kind", "po_number"])


def downgrade() -> None:
    op.drop_index("ix_document_kind_po", "document")
    op.drop_table("goods_receipt")
    with op.batch_alter_table("document") as batch:
        batch.drop_column("match")
