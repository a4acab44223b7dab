"""The in-process dispatcher: fair across accounts, per-plan concurrency, waiting, cancel."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import pytest

from tds.dispatch.base import QueueFull
from tds.dispatch.local import LocalDispatcher


class Recorder:
    def __init__(self) -> None:
        self.order: list[str] = []
        self.gate = threading.Event()
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0

    def __call__(self, render_id: str, progress: Callable[[int, int], None]) -> None:
        with self.lock:
            self.order.append(render_id)
            self.running += 1
            self.peak = max(self.peak, self.running)
        self.gate.wait(5)
        progress(1, 1)
        with self.lock:
            self.running -= 1


def run_all(dispatcher: LocalDispatcher, ids: list[str]) -> None:
    async def wait_all() -> None:
        await asyncio.gather(*(dispatcher.wait(i, 10) for i in ids))

    asyncio.run(wait_all())


def test_round_robin_across_accounts() -> None:
    recorder = Recorder()
    recorder.gate.set()
    dispatcher = LocalDispatcher(recorder, workers=1, max_queued=100)
    for number in range(4):
        dispatcher.enqueue(f"a{number}", "alice", 1)
    dispatcher.enqueue("b0", "bob", 1)
    dispatcher.enqueue("c0", "carol", 1)
    dispatcher.start()
    run_all(dispatcher, ["a0", "a1", "a2", "a3", "b0", "c0"])
    dispatcher.stop()
    assert recorder.order == ["a0", "b0", "c0", "a1", "a2", "a3"]


def test_plan_limit_caps_renders_in_flight_per_account() -> None:
    recorder = Recorder()
    dispatcher = LocalDispatcher(recorder, workers=4, max_queued=100)
    dispatcher.start()
    ids = [f"r{n}" for n in range(6)]
    for render_id in ids:
        dispatcher.enqueue(render_id, "alice", 2)
    threading.Timer(0.3, recorder.gate.set).start()
    run_all(dispatcher, ids)
    dispatcher.stop()
    assert recorder.peak == 2
    assert sorted(recorder.order) == ids


def test_queue_full_and_cancel_of_a_waiting_job() -> None:
    recorder = Recorder()
    dispatcher = LocalDispatcher(recorder, workers=1, max_queued=2)
    dispatcher.enqueue("a", "alice", 1)
    dispatcher.enqueue("b", "alice", 1)
    with pytest.raises(QueueFull):
        dispatcher.enqueue("c", "alice", 1)
    dispatcher.cancel("b")
    assert dispatcher.queue_position("b") is None
    recorder.gate.set()
    dispatcher.start()
    run_all(dispatcher, ["a", "b"])
    dispatcher.stop()
    assert recorder.order == ["a"]


def test_wait_times_out_while_the_job_runs() -> None:
    recorder = Recorder()
    dispatcher = LocalDispatcher(recorder, workers=1, max_queued=10)
    dispatcher.start()
    dispatcher.enqueue("slow", "alice", 1)
    assert asyncio.run(dispatcher.wait("slow", 0.05)) is False
    recorder.gate.set()
    assert asyncio.run(dispatcher.wait("slow", 5)) is True
    dispatcher.stop()
