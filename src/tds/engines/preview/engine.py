"""PreviewEngine: the CPU engine behind kind render, refine, enhance and video."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image

from tds.engines.base import EngineError, Job, Kind, Output, Progress, RenderOptions
from tds.engines.preview.enhance import enhance, upscaler
from tds.engines.preview.inputs import input_type
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

    def refusal(self, options: RenderOptions, image: Image.Image) -> str | None:
        """Why this engine will not take the job, asked before anything is held: a sketch
        would come back as the same lines on a graded background, not a render."""
        if options.kind != "render":
            return None
        if input_type(options.input_type, np.asarray(image.convert("RGB"))) != "sketch":
            return None
        return (
            "This server renders with the preview engine, which is not generative: it relights "
            "and grades a viewport or a photo, but cannot turn a line sketch into a render. A "
            "generative engine can (stability, openai, gemini, replicate or diffusion: "
            "TDS_ENGINE, see docs/engines.md). Nothing was charged."
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
        if reason := self.refusal(job, job.image):  # the API refused it already; a direct call
            raise EngineError(reason)
        pipeline = _PIPELINES.get(job.kind)
        if pipeline is None:
            raise EngineError(f"The preview engine does not do {job.kind!r}.")
        return pipeline(job, progress)
