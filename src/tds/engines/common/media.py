"""Frames to MP4 and back: H.264, yuv420p, CRF 23, the codec and quality of every engine's films.

The diffusion engine encodes the frames its video model generates; the remote engine decodes a
hosted model's video and re-encodes it at the job's size. No torch here. (The preview engine
warps one still in YUV and encodes those planes itself, tuned for that: tds.engines.preview.video.)
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from fractions import Fraction

import av
import numpy as np
from PIL import Image

from tds.engines.base import EngineError

CRF = "23"
PRESET = "veryfast"


def encode_frames(
    frames: Iterable[np.ndarray],
    fps: int,
    size: tuple[int, int],
    on_frame: Callable[[int], None] | None = None,
) -> bytes:
    """MP4 bytes of RGB uint8 frames, each resized to `size` (even sides) if needed."""
    width, height = size
    if width % 2 or height % 2:
        raise EngineError(f"video needs even width and height, got {width}×{height}")
    buffer = io.BytesIO()
    count = 0
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": CRF, "preset": PRESET, "threads": "1"}
        stream.codec_context.time_base = Fraction(1, fps)
        for index, frame in enumerate(frames):
            rgb = fit(frame, size)
            picture = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            picture.pts = index
            picture.time_base = Fraction(1, fps)
            container.mux(stream.encode(picture))
            count += 1
            if on_frame is not None:
                on_frame(index + 1)
        container.mux(stream.encode(None))
    if count == 0:
        raise EngineError("the video has no frames")
    return buffer.getvalue()


def fit(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An RGB uint8 frame at exactly `size` (Lanczos), from uint8 or [0, 1] float input."""
    array = np.asarray(frame)
    if array.dtype != np.uint8:
        array = (np.clip(array.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    array = array[..., :3]
    if (array.shape[1], array.shape[0]) != size:
        image = Image.fromarray(np.ascontiguousarray(array), "RGB")
        array = np.asarray(image.resize(size, Image.Resampling.LANCZOS))
    return np.ascontiguousarray(array)


def decode_frames(data: bytes, limit: int = 2000) -> tuple[list[np.ndarray], int]:
    """RGB frames and frame rate (rounded) of a video file; EngineError when unreadable."""
    frames: list[np.ndarray] = []
    try:
        with av.open(io.BytesIO(data), "r") as container:
            if not container.streams.video:
                raise EngineError("the video has no picture stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or Fraction(24)
            for frame in container.decode(stream):
                frames.append(frame.to_ndarray(format="rgb24"))
                if len(frames) >= limit:
                    break
    except av.FFmpegError as error:
        raise EngineError(f"the video could not be decoded: {error}") from None
    if not frames:
        raise EngineError("the video has no frames")
    return frames, max(1, round(float(rate)))
