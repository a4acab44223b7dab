"""The `stability` engine: each job is one call to Stability AI's Stable Image API (v2beta).

Render and refine go to Stable Image Control (Structure, or Sketch for sketches), staging to
Inpaint with a mask of the floor, enhance to the Conservative (or Fast) upscaler: see `inputs`.
The call answers with the image itself (no job to poll), which is decoded and re-encoded like
any upload and brought to the job's exact size (`frames`). A cancel is honoured before the
call and before any retry; once sent, the call runs to its end (it cannot be taken back).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx

from tds.engines.base import EngineError, Job, Kind, Output, Progress
from tds.engines.common import hosted
from tds.engines.stability import inputs
from tds.engines.stability.client import StabilityClient
from tds.engines.stability.config import StabilitySettings

log = logging.getLogger(__name__)

TOTAL = 4  # built, sent, answered, decoded


class StabilityEngine:
    name = "stability"
    generative = True

    def __init__(
        self,
        config: StabilitySettings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config if config is not None else StabilitySettings.from_env()
        self.kinds: frozenset[Kind] = self.config.kinds
        self._transport = transport
        self._sleep = sleep
        self._clock = clock
        self._client: StabilityClient | None = None

    @property
    def description(self) -> str:
        upscaler = "Fast" if self.config.model == "fast" else "Conservative"
        return (
            "Generative models hosted by Stability AI (Stable Image API): Stable Image Control "
            "Structure and Sketch for renders and refines, Inpaint for staging, the "
            f"{upscaler} Upscaler for enhance. Runs on Stability's GPUs and is billed by "
            "Stability per image."
        )

    def setup(self) -> None:
        self.config.require_key()
        if self._client is None:
            self._client = StabilityClient(self.config, transport=self._transport)

    def run(self, job: Job, progress: Progress) -> Output:
        if job.kind not in self.kinds:
            raise EngineError(f"this server's Stability AI engine does not do {job.kind!r}")
        if self._client is None:
            self.setup()
        client = self._client
        assert client is not None
        progress(0, TOTAL)
        call = inputs.build(job, self.config)
        deadline = hosted.Deadline(self.config.timeout_seconds, self._clock, self._sleep)
        # Reported before every attempt: the last moments a cancel costs nothing.
        data = client.post(call.path, call.fields, call.files, deadline, lambda: progress(1, TOTAL))
        progress(3, TOTAL)
        image = call.frame.output(data)
        log.info("job %s: %s answered, %d×%d sent", job.kind, call.path, *call.frame.sent)
        progress(TOTAL, TOTAL)
        return Output(image=image)
