"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import gateway.store.models  # noqa: F401  (registers the tables)
from gateway.store.db import make_engine, migrate


def test_migrations_match_models(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diffs = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    # Only real schema drift counts: a table or column the models have and the migrations lack (or back).
    drift = [d for d in diffs if isinstance(d, tuple) and d[0] in ("add_table", "remove_table", "add_column",
                                                                   "remove_column")]
    assert drift == []
