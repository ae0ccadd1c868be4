"""indexes for the web inbox: open exceptions by age, and per code and partner, stay fast at 100,000 rows

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The list: open exceptions oldest (or newest) first, keyset-paged on (created_at, id).
    op.create_index("ix_exception_open_age", "exception", ["status", "created_at", "id"])
    # The queue counts (GROUP BY code, partner over the open rows) and the code / partner filters.
    op.create_index("ix_exception_open_queue", "exception", ["status", "code", "partner_id"])
    op.create_index("ix_exception_open_partner", "exception", ["status", "partner_id"])
    # Search: the open exceptions of the items whose documents match, found from the item side.
    op.create_index("ix_exception_item_open", "exception", ["item_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_exception_item_open", "exception")
    op.drop_index("ix_exception_open_partner", "exception")
    op.drop_index("ix_exception_open_queue", "exception")
    op.drop_index("ix_exception_open_age", "exception")
