"""tds past one machine, on this one: API processes and Celery workers sharing a real
PostgreSQL database, a real Redis and one data folder.

Each test gets its own database and its own Redis prefix (queues, keys, channels), so runs can
share the machine's Redis; workers are real `tds worker` processes on the fixed-cost
SleepEngine.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tds.credits import ledger
from tds.kit.db import Database
from tds.models import Render
from tests.support.databases import database_url
from tests.support.db import reading
from tests.support.engines import SleepEngine
from tests.support.servers import LiveServer
from tests.support.workers import REDIS_URL, Worker, forget_prefix, start_worker

ENGINE = "tests.support.engines:SleepEngine"


@dataclass
class Cluster:
    folder: Path
    database_url: str
    prefix: str
    workers: list[Worker] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Settings for an in-process API server of this cluster (make_server's overrides)."""
        return {
            "data_dir": self.data_dir,
            "database_url": self.database_url,
            "broker_url": REDIS_URL,
            "broker_prefix": self.prefix,
        } | overrides

    def env(self, **overrides: str) -> dict[str, str]:
        """The TDS_* settings of a `tds` process of this cluster."""
        values = {
            "TDS_DATA_DIR": str(self.data_dir),
            "TDS_DATABASE_URL": self.database_url,
            "TDS_BROKER_URL": REDIS_URL,
            "TDS_BROKER_PREFIX": self.prefix,
            "TDS_ENGINE": ENGINE,
        }
        return values | overrides

    def start_worker(self, *args: str, **env: str) -> Worker:
        """`tds worker` of this cluster as a real process, once it is ready to take jobs."""
        log = self.folder / f"worker{len(self.workers)}.log"
        worker = start_worker(self.env(**env), log, *args)
        self.workers.append(worker)
        return worker

    def database(self) -> Database:
        return Database(self.database_url)

    def render_row(self, render_id: str) -> Render:
        db = self.database()
        try:
            with reading(db) as session:
                render = session.get_one(Render, render_id)
                session.expunge(render)
                return render
        finally:
            db.dispose()

    def books(self, account_id: str) -> ledger.Books:
        db = self.database()
        try:
            with reading(db) as session:
                return ledger.books(session, account_id)
        finally:
            db.dispose()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    prefix = f"tds-test-{secrets.token_hex(4)}:"
    with database_url("postgresql", tmp_path) as url:
        cluster = Cluster(tmp_path, url, prefix)
        try:
            yield cluster
        finally:
            for worker in cluster.workers:
                worker.stop()
            forget_prefix(prefix)


@pytest.fixture
def api(cluster: Cluster, make_server: Callable[..., LiveServer]) -> Callable[..., LiveServer]:
    """Start an in-process API server of the cluster (several may run side by side)."""

    def start(**overrides: Any) -> LiveServer:
        # The API only needs the engine's kinds: its workers run it.
        return make_server(SleepEngine(), **cluster.settings(**overrides))

    return start
