"""RemoteEngine: each job becomes one prediction on a hosted model API (Replicate)."""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from tds.engines.base import EngineError, Job, Kind, Output, Progress
from tds.engines.common import media
from tds.engines.remote import inputs
from tds.engines.remote.client import Prediction, ReplicateClient
from tds.engines.remote.config import RemoteConfig

log = logging.getLogger(__name__)

TOTAL = 100  # progress units: 0–5 sending, 5–90 the model, 90–100 fetching the output
_PERCENT = re.compile(r"(\d{1,3})%\|")
VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".mkv", ".gif")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


class RemoteEngine:
    name = "replicate"
    generative = True

    def __init__(
        self,
        config: RemoteConfig | None = None,
        client: ReplicateClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config if config is not None else RemoteConfig.from_env()
        self.kinds: frozenset[Kind] = self.config.served
        models = sorted({self.config.models[kind] for kind in self.kinds})
        self.description = (
            "Hosted generative models, run on the provider's GPUs through Replicate's API: "
            + ", ".join(model.partition(":")[0] for model in models)
            + "."
        )
        self._client = client
        self._sleep = sleep
        self._clock = clock

    def setup(self) -> None:
        if not self.config.token:
            raise RuntimeError(
                "the replicate engine needs an API token: set TDS_REPLICATE_API_TOKEN "
                "(or TDS_REMOTE_API_TOKEN, REPLICATE_API_TOKEN)"
            )
        if self._client is None:
            self._client = ReplicateClient(self.config, sleep=self._sleep, clock=self._clock)

    def run(self, job: Job, progress: Progress) -> Output:
        if job.kind not in self.kinds:
            raise EngineError(f"this server's remote engine does not do {job.kind!r}")
        if self._client is None:
            self.setup()
        client = self._client
        assert client is not None
        deadline = self._clock() + self.config.timeout_seconds
        progress(0, TOTAL)
        model_input = inputs.build(
            self.config.inputs[job.kind],
            job,
            self.config.data_uri_max_bytes,
            lambda data, content_type: client.upload(data, content_type, deadline),
        )
        progress(2, TOTAL)  # the last moment a cancel costs nothing
        prediction = client.create(self.config.models[job.kind], model_input, deadline)
        log.info("job %s: prediction %s %s", job.kind, prediction.id, prediction.status)
        try:
            prediction = self._wait(client, prediction, progress, deadline)
        except BaseException:  # canceled, timed out or broken: stop paying for it
            if not prediction.done:
                client.cancel(prediction)
            raise
        if prediction.status == "failed":
            reason = " ".join(prediction.error.split())[:300] or "no reason given"
            raise EngineError(f"the hosted model failed: {reason}")
        if prediction.status != "succeeded":
            raise EngineError(f"the hosted model stopped the job ({prediction.status})")
        url = pick_output(prediction.output, job.kind)
        progress(90, TOTAL)
        data = client.download(url, deadline)
        progress(96, TOTAL)
        output = self._decode(job, data)
        progress(TOTAL, TOTAL)
        return output

    def _wait(
        self, client: ReplicateClient, prediction: Prediction, progress: Progress, deadline: float
    ) -> Prediction:
        interval = self.config.poll_seconds
        while True:
            progress(_model_progress(prediction), TOTAL)  # raises JobCanceled when canceled
            if prediction.done:
                return prediction
            if self._clock() + interval > deadline:
                raise EngineError(
                    f"the hosted model took longer than {self.config.timeout_seconds:.0f} s"
                )
            self._sleep(interval)
            interval = min(self.config.poll_max_seconds, interval * 1.5)
            prediction = client.get(prediction, deadline)

    def _decode(self, job: Job, data: bytes) -> Output:
        size = (job.width, job.height)
        if job.kind == "video":
            frames, fps = media.decode_frames(data)
            if len(frames) < 2:
                raise EngineError("the hosted model returned a still image, not a video")
            covered = [np.asarray(_cover(Image.fromarray(frame, "RGB"), size)) for frame in frames]
            video = media.encode_frames(covered, fps, size)
            return Output(image=Image.fromarray(covered[0], "RGB"), video=video)
        try:
            with Image.open(io.BytesIO(data)) as opened:
                opened.load()
                image = opened.convert("RGB")
        except (UnidentifiedImageError, OSError, ValueError):
            raise EngineError("the hosted model returned a file that is not an image") from None
        warnings: list[str] = []
        if abs(image.width / image.height - job.width / job.height) > 0.01 * job.width / job.height:
            warnings.append(
                f"The hosted model returned {image.width}×{image.height} px; it was cropped "
                f"to the {job.width}×{job.height} frame."
            )
        return Output(image=_cover(image, size), warnings=warnings)


def _model_progress(prediction: Prediction) -> int:
    """5 when started, up to 90 as the model's own progress bar (in its logs) advances."""
    if prediction.status == "succeeded":
        return 90
    found = _PERCENT.findall(prediction.logs[-4000:])
    percent = min(100, int(found[-1])) if found else 0
    return 5 + round(85 * percent / 100)


def pick_output(output: Any, kind: Kind) -> str:
    """The file URL in a prediction's output (a URL, a list, or an object of them): for a
    video the first video file, for images the first image; else the first URL."""
    urls = [url for url in _urls(output) if url.startswith(("https://", "http://", "data:"))]
    if not urls:
        raise EngineError("the hosted model returned no file")
    wanted = VIDEO_SUFFIXES if kind == "video" else IMAGE_SUFFIXES
    prefix = "data:video/" if kind == "video" else "data:image/"
    for url in urls:
        path = url.split("?", 1)[0].lower()
        if path.endswith(wanted) or url.startswith(prefix):
            return url
    return urls[0]


def _urls(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [url for item in value for url in _urls(item)]
    if isinstance(value, dict):
        return [url for item in value.values() for url in _urls(item)]
    return []


def _cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale to cover `size` and crop the centre: exactly `size`, aspect ratio kept."""
    width, height = size
    scale = max(width / image.width, height / image.height)
    scaled = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
    resized = image.resize(scaled, Image.Resampling.LANCZOS) if scaled != image.size else image
    left = (resized.width - width) // 2
    top = (resized.height - height) // 2
    return resized.crop((left, top, left + width, top + height))
