"""every purchase order an invoice bills, so a receipt for any of them re-runs the invoice's match

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "invoice_po",
        sa.Column("document_id", sa.String(length=40), sa.ForeignKey("document.id"), primary_key=True),
        sa.Column("po_number", sa.String(length=64), primary_key=True),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
    )
    op.create_index("ix_invoice_po_partner_po", "invoice_po", ["partner_id", "po_number"])
    # Invoices on hold now are the ones a receipt may release: index them (later ones are indexed when matched).
    conn = op.get_bind()
    held = conn.execute(sa.text("SELECT id, partner_id, content FROM document WHERE kind = 'invoice' "
                                "AND state = 'on_hold' AND partner_id IS NOT NULL"))
    rows = []
    for document_id, partner_id, content in held:
        doc = json.loads(content)
        numbers = [doc.get("po_number")] + [ln.get("po_number") for ln in doc.get("lines", [])]
        for po in dict.fromkeys(str(n).strip()[:64] for n in numbers if n and str(n).strip()):
            rows.append({"document_id": document_id, "po_number": po, "partner_id": partner_id})
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_index("ix_invoice_po_partner_po", "invoice_po")
    op.drop_table("invoice_po")
