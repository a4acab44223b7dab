"""The Celery side: a worker process runs renders on its engines, loaded once per process.

A job carries only a render id; the render's row says what to do and whether it may still run
(canceled, reaped, already done). Jobs are acknowledged late, so a job whose worker was killed
comes back, and `lifecycle.resume_redelivered` decides whether it runs again or is refunded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from celery import Celery, Task
from celery.signals import setup_logging, worker_process_init
from sqlalchemy.orm import Session

from tds.config import Settings
from tds.dispatch.queues import RENDER_TASK
from tds.dispatch.signals import RenderSignals, connect
from tds.engines import registry
from tds.engines.base import JobCanceled
from tds.engines.routing import EngineRouter
from tds.kit import logs
from tds.kit import request_id as request
from tds.kit.db import Database
from tds.renders import lifecycle
from tds.renders.executor import RenderExecutor
from tds.storage import open_storage

log = logging.getLogger("tds.worker")

PROGRESS_EVERY_SECONDS = 0.25
# An account already running its plan's renders-at-once gets its job back this much later,
# which lets other accounts' jobs through first.
PLAN_LIMIT_RETRY_SECONDS = 2.0


@dataclass
class _Process:
    db: Database
    signals: RenderSignals
    execute: RenderExecutor


_process: _Process | None = None
_lock = threading.Lock()


def _context(settings: Settings) -> _Process:
    """This process's database, engines and executor, built on first use (after the fork)."""
    global _process
    with _lock:
        if _process is None:
            assert settings.broker_url
            db = Database(settings.sqlalchemy_url)
            engines = EngineRouter.build(settings.engine, settings.engine_for, registry.load)
            engines.setup()
            storage = open_storage(settings)
            _process = _Process(
                db=db,
                signals=RenderSignals(connect(settings.broker_url), settings.broker_prefix),
                execute=RenderExecutor(db, storage, engines, settings),
            )
        return _process


def register(app: Celery, settings: Settings) -> None:
    """Add the render task to `app`, and load engines as each worker process starts."""

    @app.task(name=RENDER_TASK, bind=True, max_retries=None)  # type: ignore[untyped-decorator]
    def render(task: Task, render_id: str, request_id: str | None = None) -> None:
        token = request.current.set(request_id)
        try:
            if not run(_context(settings), render_id):
                raise task.retry(countdown=PLAN_LIMIT_RETRY_SECONDS)
        finally:
            request.current.reset(token)

    @worker_process_init.connect(weak=False)  # type: ignore[untyped-decorator]
    def load_engines(**_: object) -> None:
        _context(settings)

    @setup_logging.connect(weak=False)  # type: ignore[untyped-decorator]
    def same_logs_as_the_api(**_: object) -> None:  # TDS_LOG_LEVEL and TDS_LOG_FORMAT
        logs.configure(settings)


def _admit(session: Session, render_id: str) -> bool:
    """A render whose last worker died runs again (or fails, refunded); a render whose account
    already runs its plan's renders-at-once waits its turn."""
    lifecycle.resume_redelivered(session, render_id)
    return not lifecycle.account_at_limit(session, render_id)


def run(process: _Process, render_id: str) -> bool:
    """Run the render; False when it must wait for its account's turn. Once its final state is
    in the database, waiters hear of it."""
    try:
        if not process.execute(render_id, _reporter(process.signals, render_id), admit=_admit):
            return False
    except JobCanceled:
        pass  # the cancel already settled the render in the database
    try:
        process.signals.finished(render_id)
    except redis.RedisError as error:  # waiters poll the database too
        log.warning("render %s: finished signal not sent: %s", render_id, error)
    return True


def _reporter(signals: RenderSignals, render_id: str) -> Callable[[int, int], None]:
    last = 0.0

    def report(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < PROGRESS_EVERY_SECONDS and done < total:
            return
        last = now
        try:
            canceled = signals.cancel_requested(render_id)
            signals.set_progress(render_id, done, total)
        except redis.RedisError:
            return  # progress is a nicety; the render goes on
        if canceled:
            raise JobCanceled

    return report
