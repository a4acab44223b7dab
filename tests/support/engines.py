"""Engines for tests that need an engine to fail, block or do no work.

The real preview engine is used everywhere else.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from tds.engines.base import EngineError, Job, Kind, Output, Progress

ALL_BUT_STAGING: frozenset[Kind] = frozenset({"render", "refine", "enhance", "video"})


class ResizeEngine:
    """Resizes the input to the target size: real output, almost no work."""

    name = "resize"
    description = "Test engine: resizes the input."
    generative = False
    kinds = ALL_BUT_STAGING

    def setup(self) -> None:
        pass

    def run(self, job: Job, progress: Progress) -> Output:
        progress(1, 1)
        return Output(image=job.image.resize((job.width, job.height)))


class BrokenEngine(ResizeEngine):
    """An engine whose description raises: GET /api/v1/styles crashes with a 500."""

    name = "broken"

    @property
    def description(self) -> str:  # type: ignore[override]
        raise RuntimeError("a bug in the engine's description")


class FailingEngine(ResizeEngine):
    name = "failing"

    def run(self, job: Job, progress: Progress) -> Output:
        raise EngineError("out of GPU memory")


class CrashingEngine(ResizeEngine):
    name = "crashing"

    def run(self, job: Job, progress: Progress) -> Output:
        raise RuntimeError("segfault in a native library")


class GateEngine(ResizeEngine):
    """Holds every job until the test opens the gate, reporting progress while it waits."""

    name = "gate"

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Semaphore(0)

    def run(self, job: Job, progress: Progress) -> Output:
        self.started.release()
        step = 0
        while not self.gate.wait(0.02):
            step = min(step + 1, 99)
            progress(step, 100)  # raises JobCanceled once the render is canceled
        return super().run(job, progress)


class SleepEngine(ResizeEngine):
    """A fixed cost per render, for Celery workers started as real processes by the tests and the
    benchmark: `TDS_ENGINE=tests.support.engines:SleepEngine`. It reports progress every 20 ms
    (so cancels land) and, when TDS_TEST_ENGINE_PIDFILE is set, writes its process id there as it
    starts, so a test can kill the very process that renders; TDS_TEST_ENGINE_FAILS=1 makes it
    fail; TDS_TEST_ENGINE_SETUPS names a folder where each setup() call is recorded per process."""

    name = "sleep"

    def __init__(self) -> None:
        self.seconds = float(os.environ.get("TDS_TEST_ENGINE_SECONDS", "0.2"))
        self.pidfile = os.environ.get("TDS_TEST_ENGINE_PIDFILE")
        self.fails = os.environ.get("TDS_TEST_ENGINE_FAILS") == "1"
        self.setups = os.environ.get("TDS_TEST_ENGINE_SETUPS")

    def setup(self) -> None:
        if self.setups:  # one line per call, in a file per process
            with (Path(self.setups) / str(os.getpid())).open("a") as record:
                record.write("setup\n")

    def run(self, job: Job, progress: Progress) -> Output:
        if self.pidfile:
            Path(self.pidfile).write_text(str(os.getpid()))
        deadline = time.monotonic() + self.seconds
        steps = max(1, int(self.seconds / 0.02))
        for step in range(steps):
            time.sleep(max(0.0, min(0.02, deadline - time.monotonic())))
            progress(step + 1, steps + 1)  # raises JobCanceled once the render is canceled
        if self.fails:
            raise EngineError("out of GPU memory")
        return super().run(job, progress)
