"""Video: a 4-second dolly-in on the still, encoded as H.264 MP4 with PyAV."""

from __future__ import annotations

import io
from collections.abc import Iterator
from fractions import Fraction

import av
import cv2
import numpy as np

from tds.engines.base import EngineError, Job, Output, Progress
from tds.engines.preview.pixels import Size, resize, to_array, to_image

FPS = 24
SECONDS = 4
FRAMES = FPS * SECONDS
ZOOM = 1.12  # final magnification: a slow push towards the subject
PAN = (0.35, -0.2)  # share of the zoom margin the centre drifts by (right, slightly up)
CRF = "23"
PRESET = "veryfast"


def camera(t: float, size: Size) -> np.ndarray:
    """2×3 affine for time t in [0, 1]: eased zoom about a slowly drifting centre."""
    width, height = size
    ease = 0.5 - 0.5 * np.cos(np.pi * t)  # ease in and out: no jolt at either end
    zoom = 1.0 + (ZOOM - 1.0) * ease
    cx, cy = (width - 1) / 2, (height - 1) / 2
    # The drift is a share of the margin the zoom leaves, so the frame never shows a border.
    sx = cx + PAN[0] * (width - width / zoom) / 2
    sy = cy + PAN[1] * (height - height / zoom) / 2
    return np.array([[zoom, 0.0, cx - zoom * sx], [0.0, zoom, cy - zoom * sy]], np.float64)


def frames(still: np.ndarray) -> Iterator[np.ndarray]:
    size = (still.shape[1], still.shape[0])
    for index in range(FRAMES):
        if index == 0:
            yield still
            continue
        matrix = camera(index / (FRAMES - 1), size)
        yield cv2.warpAffine(
            still, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101
        )


def encode(still: np.ndarray, progress: Progress, done: int, total: int) -> bytes:
    """MP4 bytes; progress is reported per frame after `done` earlier steps."""
    height, width = still.shape[:2]
    if width % 2 or height % 2:
        raise EngineError(f"video needs even width and height, got {width}×{height}")
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        # One encoder thread: the server runs one worker per core, like cv2.setNumThreads(1).
        stream.options = {"crf": CRF, "preset": PRESET, "threads": "1"}
        stream.codec_context.time_base = Fraction(1, FPS)
        for index, frame in enumerate(frames(still)):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts = index
            picture.time_base = Fraction(1, FPS)
            container.mux(stream.encode(picture))
            progress(done + index + 1, total)
        container.mux(stream.encode(None))
    return buffer.getvalue()


def video(job: Job, progress: Progress) -> Output:
    total = FRAMES + 1
    still = np.ascontiguousarray(resize(to_array(job.image), (job.width, job.height)))
    progress(1, total)
    data = encode(still, progress, 1, total)
    return Output(image=to_image(still), video=data)
