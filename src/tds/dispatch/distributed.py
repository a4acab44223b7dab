"""The API side of Celery workers: publish committed renders, follow them through Redis.

Nothing here runs renders (see tds.renders.tasks). Queue depth and positions come from the
database, which every API process shares; progress, cancel requests and "finished" wake-ups
travel through Redis (tds.dispatch.signals).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import anyio.to_thread
import redis
from kombu.exceptions import KombuError, OperationalError

from tds.config import Settings
from tds.dispatch import queries
from tds.dispatch.base import QueueUnavailable
from tds.dispatch.queues import RENDER_TASK, make_celery, queue_for
from tds.dispatch.signals import FinishedListener, RenderSignals, connect
from tds.kit import request_id
from tds.kit.db import Database

log = logging.getLogger("tds.dispatch")

# A waiter re-reads the database this often at first, then less and less: it only matters
# when a pub/sub message was lost.
FIRST_POLL_SECONDS = 0.5
MAX_POLL_SECONDS = 5.0
# Redis up and the queue not full: checked at most this often per API process.
ROOM_CHECK_SECONDS = 1.0


class CeleryDispatcher:
    def __init__(self, settings: Settings, db: Database) -> None:
        assert settings.broker_url
        self._settings = settings
        self._db = db
        self._celery = make_celery(settings)
        self.signals = RenderSignals(connect(settings.broker_url), settings.broker_prefix)
        self._listener = FinishedListener(self.signals)
        self._room: bool | None = None
        self._room_checked_at = -ROOM_CHECK_SECONDS

    def start(self) -> None:
        self._listener.start()

    def stop(self) -> None:
        self._listener.stop()
        self.signals.client.close()

    # -- producer side ---------------------------------------------------------------------
    async def has_room(self) -> bool:
        now = time.monotonic()
        if now - self._room_checked_at > ROOM_CHECK_SECONDS:  # a soft limit: a second is fresh
            self._room = await anyio.to_thread.run_sync(self._has_room)
            self._room_checked_at = now
        if self._room is None:
            raise QueueUnavailable
        return self._room

    def _has_room(self) -> bool | None:
        """Whether the queue has room; None when Redis does not answer."""
        if not self.signals.ping():
            return None
        return self._db.read(queries.queued_count) < self._settings.max_queued

    async def submit(self, render_id: str, account_id: str, max_in_flight: int, kind: str) -> None:
        await anyio.to_thread.run_sync(self._publish, render_id, kind, request_id.get())

    def _publish(self, render_id: str, kind: str, request: str | None) -> None:
        try:
            self._celery.send_task(
                RENDER_TASK,
                args=[render_id],
                kwargs={"request_id": request},  # the worker's log lines carry it too
                queue=queue_for(self._settings, kind),
                retry=True,
                retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
            )
        except (OperationalError, KombuError, redis.RedisError, OSError) as error:
            log.error("render %s: could not publish its job: %s", render_id, error)
            raise QueueUnavailable from error

    def cancel(self, render_id: str) -> None:
        try:
            self.signals.request_cancel(render_id)  # a running worker stops at its next report
            self.signals.finished(render_id)
        except redis.RedisError as error:  # the worker's start() still sees the final state
            log.warning("render %s: cancel signal not sent: %s", render_id, error)

    # -- observers -------------------------------------------------------------------------
    def progresses(self, render_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        try:
            return self.signals.progresses(render_ids)
        except redis.RedisError:
            return {}

    def queue_positions(self, render_ids: Sequence[str]) -> dict[str, int]:
        return self._db.read(queries.queue_positions, render_ids)

    async def wait(self, render_id: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        poll = FIRST_POLL_SECONDS
        while True:
            future = self._listener.add(render_id)  # before reading, so no wake-up is missed
            try:
                if await self._db.run_read(queries.is_final, render_id):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                try:  # signals are sent once the final state is committed
                    await asyncio.wait_for(asyncio.shield(future), min(poll, remaining))
                    return True
                except TimeoutError:
                    poll = min(poll * 2, MAX_POLL_SECONDS)
            finally:
                self._listener.remove(render_id, future)
