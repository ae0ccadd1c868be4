"""Alembic environment: runs on the connection the gateway hands in (see gateway.store.db.migrate)."""

from alembic import context
from sqlmodel import SQLModel

from gateway.store import models  # noqa: F401  (registers the tables)

target_metadata = SQLModel.metadata
connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through gateway.store.db.migrate(engine)")
context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
