"""PreviewEngine: the CPU engine behind kind render, refine, enhance and video."""

from __future__ import annotations

from collections.abc import Callable

import cv2

from tds.engines.base import EngineError, Job, Kind, Output, Progress
from tds.engines.preview.enhance import enhance, upscaler
from tds.engines.preview.refine import refine
from tds.engines.preview.render import render
from tds.engines.preview.video import video

_PIPELINES: dict[Kind, Callable[[Job, Progress], Output]] = {
    "render": render,
    "refine": refine,
    "enhance": enhance,
    "video": video,
}


class PreviewEngine:
    name = "preview"
    generative = False
    kinds: frozenset[Kind] = frozenset(_PIPELINES)
    description = (
        "CPU image pipeline, not a generative model: it smooths, colour-grades, relights and "
        "upscales your image (Real-ESRGAN where installed), paints a new sky, lights windows "
        "at night and films a camera move, but adds no objects and cannot furnish rooms."
    )

    def setup(self) -> None:
        # The server runs one worker thread per core; OpenCV's own pool would oversubscribe.
        cv2.setNumThreads(1)
        upscaler()  # a misspelt TDS_PREVIEW_UPSCALER fails at start, not at the first enhance

    def run(self, job: Job, progress: Progress) -> Output:
        if job.kind == "staging":
            raise EngineError(
                "The preview engine cannot furnish rooms: staging needs a generative model."
            )
        pipeline = _PIPELINES.get(job.kind)
        if pipeline is None:
            raise EngineError(f"The preview engine does not do {job.kind!r}.")
        return pipeline(job, progress)
