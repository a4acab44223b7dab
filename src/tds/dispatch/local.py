"""An in-process worker pool with a queue that is fair across accounts.

Each account has its own FIFO; workers take jobs round-robin across accounts, skipping an account
that already runs as many renders as its plan allows, so one account's batch of 500 never starves
another's single render. Blocking API calls wait on completion through asyncio futures rather than
holding a thread each.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tds.dispatch.base import QueueFull, wake
from tds.engines.base import JobCanceled

log = logging.getLogger("tds.dispatch")

# execute(render_id, progress) runs one render to its end; progress(done, total) raises
# JobCanceled once the render was canceled.
Execute = Callable[[str, Callable[[int, int], None]], object]


@dataclass
class _Job:
    render_id: str
    account_id: str
    max_in_flight: int
    progress: tuple[int, int] = (0, 0)
    canceled: bool = False
    running: bool = False
    waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = field(
        default_factory=list
    )


class LocalDispatcher:
    def __init__(self, execute: Execute, *, workers: int, max_queued: int) -> None:
        self._execute = execute
        self._workers = max(1, workers)
        self._max_queued = max_queued
        self._lock = threading.Condition()
        self._queues: dict[str, deque[_Job]] = {}  # account → its waiting jobs, oldest first
        self._rotation: deque[str] = deque()  # accounts with waiting jobs, next turn first
        self._running: dict[str, int] = {}  # account → renders running now
        self._jobs: dict[str, _Job] = {}  # every job not yet finished, by render id
        self._threads: list[threading.Thread] = []
        self._stopping = False

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        for number in range(self._workers):
            thread = threading.Thread(target=self._work, name=f"tds-worker-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        with self._lock:
            self._stopping = True
            for job in self._jobs.values():
                job.canceled = True  # running engines stop at their next progress report
            self._lock.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    # -- producer side ---------------------------------------------------------------------
    async def submit(self, render_id: str, account_id: str, max_in_flight: int, kind: str) -> None:
        self.enqueue(render_id, account_id, max_in_flight)

    def enqueue(self, render_id: str, account_id: str, max_in_flight: int) -> None:
        with self._lock:
            if render_id in self._jobs:
                return
            if self.queued_count() >= self._max_queued:
                raise QueueFull
            job = _Job(render_id, account_id, max(1, max_in_flight))
            self._jobs[render_id] = job
            queue = self._queues.setdefault(account_id, deque())
            if not queue:
                self._rotation.append(account_id)
            queue.append(job)
            self._lock.notify()

    async def has_room(self) -> bool:
        with self._lock:
            return self.queued_count() < self._max_queued

    def queued_count(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def cancel(self, render_id: str) -> None:
        """Drop a waiting job, or stop a running one at its next progress report.

        Called once the render's final state is in the database (canceled, or reaped): waiters
        wake as soon as no worker holds the job any more.
        """
        with self._lock:
            job = self._jobs.get(render_id)
            if job is None:
                return
            job.canceled = True
            if not job.running:
                self._remove_waiting(job)
                self._finish(job)

    # -- observers -------------------------------------------------------------------------
    def progress(self, render_id: str) -> tuple[int, int] | None:
        with self._lock:
            job = self._jobs.get(render_id)
            return job.progress if job else None

    def progresses(self, render_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        return {rid: progress for rid in render_ids if (progress := self.progress(rid))}

    def queue_positions(self, render_ids: Sequence[str]) -> dict[str, int]:
        return {rid: position for rid in render_ids if (position := self.queue_position(rid))}

    def queue_position(self, render_id: str) -> int | None:
        """About how many jobs start before this one (1 = next), given round-robin order."""
        with self._lock:
            job = self._jobs.get(render_id)
            if job is None or job.running:
                return None
            own = self._queues[job.account_id]
            index = own.index(job)
            my_turn = list(self._rotation).index(job.account_id)
            ahead = index
            for turn, account in enumerate(self._rotation):
                if account != job.account_id:
                    ahead += min(len(self._queues[account]), index + (1 if turn < my_turn else 0))
            return ahead + 1

    async def wait(self, render_id: str, timeout: float) -> bool:
        """Wait until the render leaves this dispatcher; False when `timeout` ran out first."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            job = self._jobs.get(render_id)
            if job is None:
                return True
            job.waiters.append((loop, future))
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            with self._lock:
                if job is not None and (loop, future) in job.waiters:
                    job.waiters.remove((loop, future))

    # -- worker side -----------------------------------------------------------------------
    def _take(self) -> _Job | None:
        """The next job whose account is under its limit, round-robin; None when stopping."""
        with self._lock:
            while not self._stopping:
                for _ in range(len(self._rotation)):
                    account = self._rotation[0]
                    self._rotation.rotate(-1)
                    queue = self._queues[account]
                    if self._running.get(account, 0) < queue[0].max_in_flight:
                        job = queue.popleft()
                        if not queue:
                            del self._queues[account]
                            self._rotation.remove(account)
                        job.running = True
                        self._running[account] = self._running.get(account, 0) + 1
                        return job
                self._lock.wait()
            return None

    def _work(self) -> None:
        while (job := self._take()) is not None:
            try:
                self._execute(job.render_id, self._progress_reporter(job))
            except JobCanceled:
                pass
            except Exception:  # the executor records failures itself; never lose the worker
                log.exception("render %s: executor crashed", job.render_id)
            finally:
                with self._lock:
                    self._running[job.account_id] -= 1
                    if not self._running[job.account_id]:
                        del self._running[job.account_id]
                    self._finish(job)
                    self._lock.notify_all()  # the account may be under its limit again

    def _progress_reporter(self, job: _Job) -> Callable[[int, int], None]:
        def report(done: int, total: int) -> None:
            if job.canceled:
                raise JobCanceled
            job.progress = (done, total)

        return report

    # -- helpers (lock held) ---------------------------------------------------------------
    def _remove_waiting(self, job: _Job) -> None:
        queue = self._queues.get(job.account_id)
        if queue and job in queue:
            queue.remove(job)
            if not queue:
                del self._queues[job.account_id]
                self._rotation.remove(job.account_id)

    def _finish(self, job: _Job) -> None:
        self._jobs.pop(job.render_id, None)
        for loop, future in job.waiters:
            loop.call_soon_threadsafe(wake, future)
        job.waiters.clear()
