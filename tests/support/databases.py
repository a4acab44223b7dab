"""Real databases for tests: a SQLite file, or a fresh PostgreSQL database (127.0.0.1:5432, trust
auth, as on this project's machines and CI; TDS_TEST_POSTGRES_URL points elsewhere)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy

from tds.kit import migrate
from tds.kit.db import Database

POSTGRES_ADMIN_URL = os.environ.get(
    "TDS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]
# The database behind the `server` and `make_server` servers: `make test` runs the suites that
# use them once on SQLite and once more with TDS_TEST_DATABASE=postgresql.
TEST_DATABASE = os.environ.get("TDS_TEST_DATABASE", "sqlite")


@contextmanager
def database_url(backend: str, folder: Path) -> Iterator[str]:
    """A URL to an empty database of `backend`, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'tds.db'}"
        return
    name = f"tds_test_{secrets.token_hex(6)}"
    admin = sqlalchemy.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def database_settings(stack: ExitStack, folder: Path) -> dict[str, Any]:
    """Settings for a fresh database of TEST_DATABASE's kind, dropped when `stack` closes."""
    if TEST_DATABASE == "sqlite":
        return {}  # the data dir's own SQLite file
    return {"database_url": stack.enter_context(database_url(TEST_DATABASE, folder))}


@contextmanager
def migrated_database(backend: str, folder: Path) -> Iterator[Database]:
    """An empty, migrated database of `backend` behind tds's own Database, dropped afterwards."""
    with database_url(backend, folder) as url:
        migrate.upgrade(url)
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()
