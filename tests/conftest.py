"""Shared fixtures: a store on SQLite and on PostgreSQL, and a configured gateway in a temp folder."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config import Config, load_config

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
CORPUS = ROOT.parent / "shared" / "corpus"


def pg_server_url() -> str | None:
    url = os.environ.get("EDIGW_TEST_PG_URL")
    if not url and os.environ.get("CI"):
        pytest.fail("CI must run the PostgreSQL tests: EDIGW_TEST_PG_URL is not set (see scripts/with-postgres.sh)")
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
        return
    server = pg_server_url()
    if not server:
        pytest.skip("no PostgreSQL server (EDIGW_TEST_PG_URL); run through `make test`")
    import psycopg

    name = f"edigw_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = server.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_config(tmp_path: Path, database_url: str | None = None) -> Config:
    """The embedded default configuration, moved into a temporary folder."""
    config = load_config(ROOT / "config" / "gateway.toml")
    config.gateway.data_dir = tmp_path / "var"
    config.gateway.database_url = database_url or ""
    config.gateway.folder_poll_seconds = 0.5
    config.gateway.folder_settle_seconds = 0.1
    config.erp.path = tmp_path / "erp"
    config.smtp.port = 0  # any free port: tests never need 2525, nor collide on it
    config.mail_out.outbox = tmp_path / "outbox"
    return config


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return make_config(tmp_path, database_url)


from tests.browser import browser  # noqa: E402, F401  (the session's Chromium, for tests that ask for it)
