"""Video: an H.264/yuv420p MP4 of the requested length, a smooth move, progress per frame."""

from __future__ import annotations

import io
from itertools import pairwise

import av
import numpy as np
import pytest

from tds.engines.base import Job
from tds.engines.preview import video
from tds.engines.preview.engine import PreviewEngine
from tds.engines.preview.pixels import to_array
from tests.engines.helpers import fixture, job, noop


def decode(clip: bytes) -> tuple[float, str, str, list[np.ndarray]]:
    """(duration in s, codec, pixel format, frames as RGB arrays)."""
    with av.open(io.BytesIO(clip), "r") as container:
        stream = container.streams.video[0]
        assert container.duration is not None
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        return (
            container.duration / av.time_base,
            stream.codec_context.name,
            stream.codec_context.pix_fmt or "",
            frames,
        )


def test_the_api_clip_is_4s_of_h264_with_a_poster(engine: PreviewEngine) -> None:
    image = fixture("building.png")
    work = job(image, kind="video", resolution="1k")
    calls: list[int] = []
    output = engine.run(work, lambda done, total: calls.append(done))
    assert output.image.size == (work.width, work.height)
    assert output.video is not None
    duration, codec, pix_fmt, frames = decode(output.video)
    assert (codec, pix_fmt) == ("h264", "yuv420p")
    assert duration == pytest.approx(4.0, abs=0.05)
    assert len(frames) == 4 * video.FPS
    assert len(calls) > len(frames)  # progress is reported per frame
    assert all(frame.shape == (work.height, work.width, 3) for frame in frames)
    # A dolly-in: the first frame is the poster, the last is magnified.
    poster = np.asarray(output.image).astype(np.float64)
    assert np.abs(frames[0].astype(np.float64) - poster).mean() < 4.0
    assert np.abs(frames[-1].astype(np.float64) - poster).mean() > 10.0


def test_the_move_is_smooth() -> None:
    still = to_array(fixture("house.png").resize((256, 256)))
    _, _, _, frames = decode(video.encode(still, noop, 0, 1, seconds=2.0))
    steps = [np.abs(b.astype(float) - a.astype(float)).mean() for a, b in pairwise(frames)]
    assert max(steps) < 4.0  # no jumps
    assert steps[len(steps) // 2] > steps[1]  # eased: faster mid-move than at the start


@pytest.mark.parametrize("seconds", [3.0, 5.0, 8.0])
def test_the_clip_takes_any_length(seconds: float) -> None:
    still = to_array(fixture("house.png").resize((64, 48)))
    duration, _, _, frames = decode(video.encode(still, noop, 0, 1, seconds=seconds))
    assert duration == pytest.approx(seconds, abs=0.05)
    assert len(frames) == round(seconds * video.FPS)


def test_video_is_deterministic(engine: PreviewEngine) -> None:
    image = fixture("house.png")
    first = engine.run(Job(kind="video", image=image, width=320, height=240), noop).video
    again = engine.run(Job(kind="video", image=image, width=320, height=240), noop).video
    assert first is not None
    assert first == again
