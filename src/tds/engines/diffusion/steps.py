"""Progress per denoising step, cancellation between steps, reproducible noise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from tds.engines.base import Progress

StepCallback = Callable[[Any, int, Any, dict[str, Any]], dict[str, Any]]


def generator(seed: int) -> torch.Generator:
    """A CPU generator: diffusers draws the noise on the CPU and moves it, so a seed gives
    the same starting noise on any GPU (and on the CPU)."""
    return torch.Generator(device="cpu").manual_seed(int(seed) % 2**63)


class Steps:
    """Progress over a job made of several pipeline runs (tiles, a video and its encoding).

    `total` is planned up front; when a pipeline runs a different number of steps than
    planned (a scheduler of higher order), the total follows, so done ≤ total always holds.
    `progress` raises JobCanceled when the render was canceled: raised inside the step
    callback, it stops the pipeline before its next step.
    """

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress = progress
        self.total = max(1, total)
        self.done = 0

    def report(self, done: int) -> None:
        self.done = max(self.done, min(done, self.total))
        self.progress(self.done, self.total)

    def advance(self, count: int = 1) -> None:
        self.report(self.done + count)

    def finish(self) -> None:
        self.total = max(self.total, self.done)
        self.report(self.total)

    def callback(self, planned: int) -> StepCallback:
        """A `callback_on_step_end` for a pipeline run planned at `planned` steps."""
        start = self.done
        adjusted = False

        def on_step_end(
            pipeline: Any, step: int, timestep: Any, kwargs: dict[str, Any]
        ) -> dict[str, Any]:
            nonlocal adjusted
            if not adjusted:
                actual = getattr(pipeline, "_num_timesteps", None)
                if isinstance(actual, int) and actual > 0 and actual != planned:
                    self.total = max(self.done + 1, self.total + actual - planned)
                adjusted = True
            self.report(start + step + 1)
            return kwargs

        return on_step_end
