"""Run one render on its engine: what a dispatcher's worker (a thread or a Celery process) does.

The database is touched in short transactions around the engine call, never during it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta

from PIL import Image
from sqlalchemy.orm import Session

from tds.config import Settings
from tds.engines.base import EngineError, Job, JobCanceled, Output, Progress
from tds.engines.routing import EngineRouter
from tds.kit.db import Database
from tds.renders import lifecycle
from tds.storage.base import Storage, new_key

log = logging.getLogger("tds.renders")

OUTPUT_JPEG_QUALITY = 92

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
            output = engine.run(self._job(render), progress)
            if output.image.size != (render.width, render.height):
                raise EngineError(
                    f"engine {engine.name} returned {output.image.size}, "
                    f"expected {(render.width, render.height)}"
                )
            keys = self._store(output)
        except JobCanceled:
            raise  # the cancel (or shutdown) already settled the render in the database
        except EngineError as error:
            log.warning("render %s failed: %s", render_id, error)
            self._fail(render_id, f"The model failed: {error}. Your credits were refunded.")
            return True
        except Exception:
            log.exception("render %s: engine crashed", render_id)
            self._fail(render_id, "The model failed unexpectedly. Your credits were refunded.")
            return True
        completed = self.db.write(lifecycle.complete, render_id, *keys, warnings=output.warnings)
        if not completed:  # canceled or reaped while the engine worked: keep nothing
            for key in keys:
                if key:
                    self.storage.delete(key)
        return True

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

    def _fail(self, render_id: str, message: str) -> None:
        self.db.write(lifecycle.fail, render_id, "model_failed", message)
