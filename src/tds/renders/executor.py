"""Run one render on its engine: what a dispatcher's worker (a thread or a Celery process) does.

The database is touched in short transactions around the engine call, never during it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import timedelta

from PIL import Image
from sqlalchemy.orm import Session

from tds.config import Settings
from tds.engines.base import Engine, EngineError, Job, JobCanceled, Output, Progress
from tds.engines.routing import EngineRouter
from tds.images.fidelity import fidelity_score
from tds.kit.db import Database
from tds.renders import lifecycle
from tds.storage.base import Storage, new_key

log = logging.getLogger("tds.renders")

OUTPUT_JPEG_QUALITY = 92
# A render below its min_fidelity is tried once more with this much more geometry_fidelity.
RETRY_FIDELITY_STEP = 0.25


class GeometryDrift(EngineError):
    """The output kept less of the input's structure than the request's min_fidelity."""

    code = "geometry_drift"

    def __init__(self, score: float, minimum: float) -> None:
        super().__init__(f"fidelity {score:.2f} is below the min_fidelity {minimum:.2f} asked for")
        self.score = score


_MESSAGES: dict[str, Callable[[EngineError], str]] = {
    "model_failed": lambda error: f"The model failed: {error}. Your credits were refunded.",
    "model_unavailable": lambda error: (
        f"The model is unavailable: {error}. Your credits were refunded; try again shortly."
    ),
    "content_refused": lambda error: (
        f"The model's provider refused this image or prompt: {error}. Your credits were refunded."
    ),
    "geometry_drift": lambda error: (
        f"The render did not keep your geometry ({error}), also on a second try with a new "
        "seed and stronger control. Your credits were refunded."
    ),
}

# admit(session, render_id): whether the render may start now.
Admit = Callable[[Session, str], bool]


class RenderExecutor:
    def __init__(
        self, db: Database, storage: Storage, engines: EngineRouter, settings: Settings
    ) -> None:
        self.db = db
        self.storage = storage
        self.engines = engines
        self.lease = timedelta(seconds=settings.render_timeout_seconds)

    def __call__(self, render_id: str, progress: Progress, *, admit: Admit | None = None) -> bool:
        """Run the render to its end; False when `admit` turned it away (it stays queued).

        `admit` runs in the transaction that starts the render, before it starts."""
        admitted, render = self.db.write(self._start, render_id, admit)
        if not admitted:
            return False
        if render is None:
            return True  # canceled or reaped while it waited
        engine = self.engines.for_kind(render.options.kind)
        try:
            if engine is None:  # the configuration changed since the render was accepted
                raise EngineError(f"no engine on this server serves {render.options.kind} any more")
            output, score = self._run(engine, self._job(render), progress)
            keys = self._store(output)
        except JobCanceled:
            raise  # the cancel (or shutdown) already settled the render in the database
        except EngineError as error:
            code = error.code if error.code in _MESSAGES else "model_failed"
            log.warning("render %s failed (%s): %s", render_id, code, error)
            self.db.write(lifecycle.fail, render_id, code, _MESSAGES[code](error))
            return True
        except Exception:
            log.exception("render %s: engine crashed", render_id)
            self.db.write(
                lifecycle.fail,
                render_id,
                "model_failed",
                "The model failed unexpectedly. Your credits were refunded.",
            )
            return True
        finished = lifecycle.Finished(*keys, output.warnings, engine.name, score)
        if not self.db.write(lifecycle.complete, render_id, finished):
            for key in keys:  # canceled or reaped while the engine worked: keep nothing
                if key:
                    self.storage.delete(key)
        return True

    def _run(self, engine: Engine, job: Job, progress: Progress) -> tuple[Output, float | None]:
        """The engine's output and its fidelity score; below the job's min_fidelity, one more
        try with a new seed and stronger control, then GeometryDrift."""
        output = self._checked(engine, job, progress)
        score = fidelity_score(job.image, output.image)
        if job.min_fidelity is None or score is None or score >= job.min_fidelity:
            return output, score
        log.info("render: fidelity %.3f below %.3f, trying once more", score, job.min_fidelity)
        stricter = replace(
            job,
            seed=(job.seed + 1) % 2**31,
            geometry_fidelity=min(1.0, job.geometry_fidelity + RETRY_FIDELITY_STEP),
        )
        output = self._checked(engine, stricter, progress)
        retried = fidelity_score(job.image, output.image)
        if retried is not None and retried < job.min_fidelity:
            raise GeometryDrift(retried, job.min_fidelity)
        return output, retried

    @staticmethod
    def _checked(engine: Engine, job: Job, progress: Progress) -> Output:
        output = engine.run(job, progress)
        if output.image.size != (job.width, job.height):
            raise EngineError(
                f"engine {engine.name} returned {output.image.size}, "
                f"expected {(job.width, job.height)}"
            )
        return output

    def _start(
        self, session: Session, render_id: str, admit: Admit | None
    ) -> tuple[bool, lifecycle.Started | None]:
        if admit is not None and not admit(session, render_id):
            return False, None
        return True, lifecycle.start(session, render_id, self.lease)

    def _job(self, render: lifecycle.Started) -> Job:
        with Image.open(io.BytesIO(self.storage.get(render.input_key))) as stored:
            image = stored.convert("RGB") if stored.mode != "RGB" else stored.copy()
        return Job(**asdict(render.options), image=image, width=render.width, height=render.height)

    def _store(self, output: Output) -> tuple[str, str | None]:
        buffer = io.BytesIO()
        image = output.image if output.image.mode == "RGB" else output.image.convert("RGB")
        image.save(buffer, "JPEG", quality=OUTPUT_JPEG_QUALITY)
        image_key = new_key("renders", "jpg")
        self.storage.put(image_key, buffer.getvalue())
        video_key = None
        if output.video is not None:
            video_key = new_key("renders", "mp4")
            self.storage.put(video_key, output.video)
        return image_key, video_key
