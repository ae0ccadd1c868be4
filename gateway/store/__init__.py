"""The store: raw items, canonical documents, issues, exceptions, audit log, counters (SQLModel + Alembic)."""
