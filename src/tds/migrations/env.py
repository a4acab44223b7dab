"""Alembic environment: runs against the URL (or connection) that tds.kit.migrate passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import tds.models  # noqa: F401  (registers every table)
from tds.config import Settings
from tds.kit.db import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url") or Settings().sqlalchemy_url
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
