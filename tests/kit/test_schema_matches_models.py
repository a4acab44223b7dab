"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL:
a column, index, constraint or type added to one and not the other fails here, not in a
studio's database after an upgrade."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import tds.models  # noqa: F401  (every model on Base.metadata)
from tds.kit import migrate
from tds.kit.db import Base
from tests.support.databases import BACKENDS, database_url


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrated_schema_matches_the_models(backend: str, tmp_path: Path) -> None:
    with database_url(backend, tmp_path) as url:
        migrate.upgrade(url)
        engine = sa.create_engine(url)
        try:
            with engine.connect() as connection:
                context = MigrationContext.configure(
                    connection, opts={"compare_type": True, "compare_server_default": False}
                )
                differences = compare_metadata(context, Base.metadata)
        finally:
            engine.dispose()
    assert differences == []
