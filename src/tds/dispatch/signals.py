"""What API processes and Celery workers tell each other through Redis, besides the jobs.

Progress and cancel requests are short-lived keys; "this render reached a final state" is a
pub/sub message every API process hears, so a blocking request wakes when its render ends
without holding a thread. Pub/sub loses messages while a subscriber reconnects, so waiters
also poll the database (see CeleryDispatcher.wait): these signals make waits fast, the
database keeps them right.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import defaultdict
from collections.abc import Sequence

import redis

from tds.dispatch.base import wake

log = logging.getLogger("tds.dispatch")

KEY_TTL_SECONDS = 24 * 3600
# Redis calls from request paths must fail fast when Redis is away: callers degrade.
SOCKET_TIMEOUT_SECONDS = 2.0


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        health_check_interval=30,
        decode_responses=True,
    )


class RenderSignals:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.finished_channel = f"{prefix}renders:finished"

    def _key(self, what: str, render_id: str) -> str:
        return f"{self.prefix}render:{render_id}:{what}"

    # -- workers ---------------------------------------------------------------------------
    def set_progress(self, render_id: str, done: int, total: int) -> None:
        self.client.set(self._key("progress", render_id), f"{done}/{total}", ex=KEY_TTL_SECONDS)

    def cancel_requested(self, render_id: str) -> bool:
        return bool(self.client.exists(self._key("cancel", render_id)))

    # -- both ------------------------------------------------------------------------------
    def finished(self, render_id: str) -> None:
        """Announce that the render's final state is in the database."""
        self.client.publish(self.finished_channel, render_id)

    # -- API -------------------------------------------------------------------------------
    def progresses(self, render_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """The last progress each render's worker reported, in one round trip."""
        values = self.client.mget([self._key("progress", rid) for rid in render_ids])
        found = {}
        for render_id, value in zip(render_ids, values, strict=True):
            if value:
                done, _, total = str(value).partition("/")
                found[render_id] = (int(done), int(total))
        return found

    def request_cancel(self, render_id: str) -> None:
        self.client.set(self._key("cancel", render_id), "1", ex=KEY_TTL_SECONDS)

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False


class FinishedListener:
    """One subscriber thread per API process that wakes the asyncio waiters of a render."""

    def __init__(self, signals: RenderSignals) -> None:
        self._signals = signals
        self._lock = threading.Lock()
        self._waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]]
        self._waiters = defaultdict(list)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._listen, name="tds-finished", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(SOCKET_TIMEOUT_SECONDS + 1)

    def add(self, render_id: str) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._waiters[render_id].append((loop, future))
        return future

    def remove(self, render_id: str, future: asyncio.Future[None]) -> None:
        with self._lock:
            waiters = self._waiters.get(render_id, [])
            waiters[:] = [(loop, f) for loop, f in waiters if f is not future]
            if not waiters:
                self._waiters.pop(render_id, None)

    def _wake(self, render_id: str) -> None:
        with self._lock:
            waiters = self._waiters.pop(render_id, [])
        for loop, future in waiters:
            loop.call_soon_threadsafe(wake, future)

    def _listen(self) -> None:
        while not self._stop.is_set():
            pubsub = self._signals.client.pubsub(  # type: ignore[no-untyped-call, unused-ignore]
                ignore_subscribe_messages=True
            )
            try:
                pubsub.subscribe(self._signals.finished_channel)
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message and message["type"] == "message":
                        self._wake(str(message["data"]))
            except redis.RedisError as error:
                log.warning("render signals unavailable, waiters fall back to polling: %s", error)
                self._stop.wait(1.0)
            finally:
                pubsub.close()
