"""`tds worker` (Celery) as real processes, for the tests that run renders on the queue path."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TDS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# How the shared `server` runs renders: "local" (in-process workers) or "celery" (a real
# `tds worker` process on Redis). With "celery", tests that bring their own in-process engine
# (make_server) are deselected: a worker process cannot see it.
TEST_DISPATCH = os.environ.get("TDS_TEST_DISPATCH", "local")


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


def start_worker(env: dict[str, str], log: Path, *args: str) -> Worker:
    """`tds worker` as a process group of its own (so a test can kill it whole), once it is
    ready to take jobs. `env` holds its TDS_* settings; tests.support.engines are importable."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "tds", "worker", *args],
            env=os.environ | {"PYTHONPATH": str(ROOT), "TDS_LOG_LEVEL": "info"} | env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = Worker(process, log)
    for _ in range(600):
        if " ready." in worker.output():
            return worker
        if process.poll() is not None:
            raise AssertionError(f"tds worker exited:\n{worker.output()}")
        time.sleep(0.1)
    worker.stop()
    raise AssertionError(f"tds worker not ready in 60 s:\n{worker.output()}")


def forget_prefix(prefix: str) -> None:
    """Delete every Redis key a test deployment made under its prefix."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
    finally:
        client.close()


def celery_workers(stack: ExitStack, folder: Path, database: dict[str, Any]) -> dict[str, Any]:
    """Settings that send a server's renders to a real `tds worker` (preview engine, two
    processes) sharing its data dir and database; stopped when `stack` closes."""
    prefix = f"tds-test-{secrets.token_hex(4)}:"
    env = {
        "TDS_DATA_DIR": str(folder),
        "TDS_BROKER_URL": REDIS_URL,
        "TDS_BROKER_PREFIX": prefix,
        **({"TDS_DATABASE_URL": database["database_url"]} if database else {}),
    }
    stack.callback(forget_prefix, prefix)
    worker = start_worker(env, folder / "worker.log", "--concurrency", "2")
    stack.callback(worker.stop)
    return {"broker_url": REDIS_URL, "broker_prefix": prefix}
