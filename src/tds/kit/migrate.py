"""Bring a database to the newest schema with the packaged Alembic migrations."""

from __future__ import annotations

from alembic import command
from alembic.config import Config


def upgrade(url: str) -> None:
    config = Config()
    config.set_main_option("script_location", "tds:migrations")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")
