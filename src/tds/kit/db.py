"""Engines, sessions and the declarative base, with SQLite set up for a concurrent ledger."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections import namedtuple
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

import anyio.to_thread
from sqlalchemy import (
    Connection,
    CursorResult,
    DateTime,
    Dialect,
    Engine,
    MetaData,
    Select,
    create_engine,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

P = ParamSpec("P")
T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime; use tds.kit.db.utcnow()")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def changed_rows(session: Session, statement: Any) -> int:
    """How many rows an UPDATE or DELETE changed (the ORM's Result type hides rowcount)."""
    result: CursorResult[Any] = session.execute(statement)  # type: ignore[assignment]
    return result.rowcount or 0


def utcnow() -> datetime:
    return datetime.now(UTC)


@event.listens_for(Engine, "do_connect")
def _private_sqlite_file(dialect: Dialect, _record: Any, cargs: Any, cparams: Any) -> None:
    """Every engine's (Alembic's too): a new SQLite file is created 0600 before SQLite opens
    it, and its -wal and -shm files take the main file's mode."""
    if dialect.name != "sqlite" or not cargs or cparams.get("uri"):
        return
    name = str(cargs[0])
    if name and not name.startswith((":memory:", "file:")):
        with contextlib.suppress(OSError):  # SQLite reports what is wrong with the path itself
            os.close(os.open(name, os.O_RDONLY | os.O_CREAT, 0o600))


def make_engine(url: str, *, immediate: bool = True) -> Engine:
    """An engine for `url`.

    On SQLite every transaction of an `immediate` engine starts with BEGIN IMMEDIATE: a deferred
    transaction that reads, then writes after another connection committed fails at once with
    "database is locked" whatever the busy timeout. Reads use a second engine whose statements
    run in autocommit, so they never queue behind writers (WAL lets them run beside one) and
    cost no BEGIN/COMMIT round trips; each read statement still sees one consistent snapshot.
    """
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)

    # As many pooled connections as threads that may use them (anyio's pool has 40, plus the
    # render workers): an overflow connection is closed on return, and reopening SQLite
    # connections under load makes readers wait on WAL locks.
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=64,
        max_overflow=0,
        pool_timeout=60,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")  # NORMAL may lose the last ledger commits
        cursor.close()

    if immediate:

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class HotRead:
    """A Core SELECT for the hottest reads (/me, a render being polled). On SQLite, where these
    run on the event loop, it is compiled once and run on the session's own driver connection,
    in its transaction, with the columns' result processors applied: SQLAlchemy's execution
    machinery costs several times what SQLite takes to answer a keyed read. Elsewhere (reads
    already pay a thread hop, and some drivers' processors need the cursor's type codes) it is
    an ordinary execute. Rows have the statement's column keys as attributes either way."""

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        columns = list(statement.selected_columns)
        self._row = namedtuple("HotRow", [column.key for column in columns])  # type: ignore[misc]
        self._types = [column.type for column in columns]
        self._sqlite: tuple[str, tuple[str, ...], list[Any]] | None = None

    def first(self, session: Session, **params: Any) -> Any:
        """The first row for `params` (bind parameter names), or None."""
        connection = session.connection()
        if connection.dialect.name != "sqlite":
            return connection.execute(self.statement, params).first()
        sql, order, processors = self._sqlite or self._compile(connection.dialect)
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql, tuple(params[name] for name in order))
            row = cursor.fetchone()
        finally:
            cursor.close()
        if row is None:
            return None
        values = zip(processors, row, strict=True)
        return self._row(*(value if p is None else p(value) for p, value in values))

    def _compile(self, dialect: Dialect) -> tuple[str, tuple[str, ...], list[Any]]:
        compiled = self.statement.compile(dialect=dialect)
        processors = [
            kind.dialect_impl(dialect).result_processor(dialect, None) for kind in self._types
        ]
        self._sqlite = (compiled.string, tuple(compiled.positiontup or ()), processors)
        return self._sqlite


class Database:
    """A write engine and a read engine over the same database.

    The one way in: a service function that takes the session first, called through
    `read`/`write` (from a thread: workers, the CLI) or `run_read`/`run_write` (from the event
    loop). A write is one unit of work: it commits once when the function returns and rolls
    back if it raises. A read is a session with no unit of work; on SQLite it runs on the
    event loop over a connection this thread keeps (see `inline_reads`).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.read_engine = (
            make_engine(url, immediate=False) if url.startswith("sqlite") else self.engine
        )
        self._write = sessionmaker(self.engine, expire_on_commit=False)
        self._read = sessionmaker(self.read_engine, expire_on_commit=False)
        self._local = threading.local()
        self._kept: list[Connection] = []
        self._kept_lock = threading.Lock()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def write(
        self, function: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`function(session, …)` in one transaction: committed on return, rolled back on error."""
        with self._write() as session, session.begin():
            return function(session, *args, **kwargs)

    def read(
        self, function: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`function(session, …)` on a read session; nothing it does is committed."""
        if self.inline_reads:
            session = self._kept_session()
            try:
                return function(session, *args, **kwargs)
            except BaseException:
                session.rollback()  # a failed statement leaves the transaction unusable
                raise
            finally:
                # What it loaded stays usable, detached; nothing is held for the next read.
                session.expunge_all()
        with self._read() as session, session.begin():
            return function(session, *args, **kwargs)

    async def run_write(
        self, function: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`write` in a worker thread: a write may wait for SQLite's lock or the network."""
        return await anyio.to_thread.run_sync(
            functools.partial(self.write, function, *args, **kwargs)
        )

    async def run_read(
        self, function: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`read`: inline on SQLite, in a worker thread elsewhere."""
        if self.inline_reads:
            return self.read(function, *args, **kwargs)
        return await anyio.to_thread.run_sync(
            functools.partial(self.read, function, *args, **kwargs)
        )

    @property
    def inline_reads(self) -> bool:
        """Whether short reads run on the event loop: SQLite answers a keyed read in well under
        a millisecond and, in WAL mode, never waits for a writer, while handing each read to a
        thread costs more than the read (GIL hand-offs between dozens of threads)."""
        return self.read_engine.dialect.name == "sqlite"

    def _kept_session(self) -> Session:
        """This thread's read session on its own open (autocommit) connection: opening a
        session and checking a connection out of the pool and back costs more than a keyed
        read. The driver runs without transactions (isolation_level None), so the session's
        open transaction holds no snapshot between reads."""
        kept: Session | None = getattr(self._local, "session", None)
        if kept is None:
            connection = self.read_engine.connect()
            kept = self._local.session = Session(connection, expire_on_commit=False)
            with self._kept_lock:
                self._kept.append(connection)
        return kept

    def dispose(self) -> None:
        with self._kept_lock:
            for connection in self._kept:
                connection.close()
            self._kept.clear()
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
