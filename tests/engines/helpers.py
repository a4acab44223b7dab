"""Inputs, jobs and measures shared by the preview engine tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from tds.catalogue import output_size
from tds.engines.base import Job, JobCanceled, Output

TESTS = Path(__file__).parents[1]


def fixture(name: str) -> Image.Image:
    """A real test image: tests/fixtures first, else the shared fixtures beside the repo."""
    for folder in (TESTS / "fixtures", TESTS.parent.parent / "shared" / "fixtures"):
        if (folder / name).is_file():
            with Image.open(folder / name) as image:
                return image.convert("RGB")
    pytest.fail(f"fixture {name} not found")


def noop(done: int, total: int) -> None:
    pass


def job(image: Image.Image, kind: str = "render", resolution: str = "1k", **fields: Any) -> Job:
    width, height = output_size(*image.size, resolution)
    return Job(kind=kind, image=image, width=width, height=height, **fields)  # type: ignore[arg-type]


def same_size_job(image: Image.Image, **fields: Any) -> Job:
    """A render at the input's own (even) size: the quickest, and comparable pixel for pixel."""
    width, height = image.size[0] // 2 * 2, image.size[1] // 2 * 2
    return Job(kind="render", image=image, width=width, height=height, **fields)


def pixels(output: Output | Image.Image) -> np.ndarray:
    image = output.image if isinstance(output, Output) else output
    assert image.mode == "RGB"
    return np.asarray(image).astype(np.float64)


def luma_map(a: np.ndarray) -> np.ndarray:
    weighted: np.ndarray = a @ np.array([0.2126, 0.7152, 0.0722])
    return weighted


def luma(a: np.ndarray) -> float:
    return float(luma_map(a).mean())


def red_over_blue(a: np.ndarray) -> float:
    return float(a[..., 0].mean() / a[..., 2].mean())


def saturation(a: np.ndarray) -> float:
    hsv = cv2.cvtColor(a.astype(np.uint8), cv2.COLOR_RGB2HSV)
    return float(hsv[..., 1].mean())


def sharpness(a: np.ndarray) -> float:
    grey = cv2.cvtColor(a.astype(np.uint8), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


class Clock:
    """Fake time for engines that wait (429s, polls): sleeping advances it at once."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Recorder:
    """A progress callback that records reports and can cancel at a given report."""

    def __init__(self, cancel_at: int | None = None) -> None:
        self.reports: list[tuple[int, int]] = []
        self.cancel_at = cancel_at

    def __call__(self, done: int, total: int) -> None:
        self.reports.append((done, total))
        if self.cancel_at is not None and len(self.reports) >= self.cancel_at:
            raise JobCanceled

    def check(self) -> None:
        """Reports count up, never past their total, and end at it."""
        assert self.reports, "no progress was reported"
        dones = [done for done, _ in self.reports]
        assert dones == sorted(dones), self.reports
        assert all(0 <= done <= total for done, total in self.reports), self.reports
        assert self.reports[-1][0] == self.reports[-1][1], self.reports
