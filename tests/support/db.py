"""Sessions for tests that arrange or inspect rows directly, as an operator's SQL would.

The service itself reaches the database only through `Database.read/write/run_read/run_write`
with a function; tests need a free-form block, so they open sessions on the same engines.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from tds.kit.db import Database


@contextmanager
def writing(db: Database) -> Iterator[Session]:
    """One transaction on the write engine: committed at the end of the block."""
    with Session(db.engine, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def reading(db: Database) -> Iterator[Session]:
    with Session(db.read_engine, expire_on_commit=False) as session, session.begin():
        yield session
