"""tds past one machine, on this one: API processes and Celery workers sharing a real
PostgreSQL database, a real Redis and one data folder.

Each test gets its own database and its own Redis prefix (queues, keys, channels), so runs can
share the machine's Redis; workers are real `tds worker` processes on the fixed-cost
SleepEngine.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from tds.credits import ledger
from tds.kit.db import Database
from tds.models import Render
from tests.conftest import LiveServer
from tests.databases import database_url
from tests.fakes import SleepEngine

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TDS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ENGINE = "tests.fakes:SleepEngine"


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole worker: its main process and its pool's children."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


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
        """The environment of a `tds` process of this cluster."""
        values = {
            "TDS_DATA_DIR": str(self.data_dir),
            "TDS_DATABASE_URL": self.database_url,
            "TDS_BROKER_URL": REDIS_URL,
            "TDS_BROKER_PREFIX": self.prefix,
            "TDS_ENGINE": ENGINE,
            "TDS_LOG_LEVEL": "info",
            "PYTHONPATH": str(ROOT),  # workers import the tests' engine
        }
        return os.environ | values | overrides

    def start_worker(self, *args: str, **env: str) -> Worker:
        """`tds worker` as a real process group, once it is ready to take jobs."""
        log = self.folder / f"worker{len(self.workers)}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "tds", "worker", *args],
                env=self.env(**env),
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so a test can kill it whole
            )
        worker = Worker(process, log)
        self.workers.append(worker)
        for _ in range(600):
            if " ready." in worker.output():
                return worker
            if process.poll() is not None:
                raise AssertionError(f"tds worker exited:\n{worker.output()}")
            time.sleep(0.1)
        raise AssertionError(f"tds worker not ready in 60 s:\n{worker.output()}")

    def database(self) -> Database:
        return Database(self.database_url)

    def render_row(self, render_id: str) -> Render:
        db = self.database()
        try:
            with db.read() as session:
                render = session.get_one(Render, render_id)
                session.expunge(render)
                return render
        finally:
            db.dispose()

    def books(self, account_id: str) -> ledger.Books:
        db = self.database()
        try:
            with db.read() as session:
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
            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(match=f"{prefix}*"):
                client.delete(key)
            client.close()


@pytest.fixture
def api(cluster: Cluster, make_server: Callable[..., LiveServer]) -> Callable[..., LiveServer]:
    """Start an in-process API server of the cluster (several may run side by side)."""

    def start(**overrides: Any) -> LiveServer:
        # The API only needs the engine's kinds: its workers run it.
        return make_server(SleepEngine(), **cluster.settings(**overrides))

    return start
