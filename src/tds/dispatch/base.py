"""What the API needs from whatever runs renders: in this process, or on Celery workers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol


class QueueFull(Exception):
    """No room for another render now; nothing was held for it."""


class QueueUnavailable(Exception):
    """The queue cannot be reached (Redis is down): no render can be accepted now."""


class Dispatcher(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    async def has_room(self) -> bool:
        """Whether another render fits; QueueUnavailable when the queue cannot be reached."""
        ...

    async def submit(self, render_id: str, account_id: str, max_in_flight: int, kind: str) -> None:
        """Queue a render whose row is committed; QueueFull or QueueUnavailable when it cannot
        be queued. In-process dispatchers queue before their first await, so a request that
        follows the render (an Idempotency-Key twin) always finds it queued."""
        ...

    def cancel(self, render_id: str) -> None:
        """Stop the render's work; called once its final state is in the database."""
        ...

    def progresses(self, render_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """(done, total) of those renders that reported progress: one call for a whole page."""
        ...

    def queue_positions(self, render_ids: Sequence[str]) -> dict[str, int]:
        """1 for the next render to start, for those renders still waiting."""
        ...

    async def wait(self, render_id: str, timeout: float) -> bool:
        """Wait until the render reached a final state; False when `timeout` ran out first."""
        ...


def wake(future: asyncio.Future[None]) -> None:
    """Resolve a waiter's future (scheduled on its loop with call_soon_threadsafe)."""
    if not future.done():
        future.set_result(None)
