"""DiffusionEngine: every kind on diffusers pipelines, weights loaded once per process."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from tds.engines.base import EngineError, Job, Kind, Output, Progress
from tds.engines.diffusion.config import DiffusionConfig

if TYPE_CHECKING:
    from tds.engines.diffusion.pipelines import Pipelines

INSTALL_HINT = (
    "the diffusion engine needs torch and diffusers, which the server does not install by "
    "default: pip install 'tds[gpu]'"
)


class DiffusionEngine:
    name = "diffusion"
    generative = True

    def __init__(
        self, config: DiffusionConfig | None = None, pipelines: Pipelines | None = None
    ) -> None:
        self.config = config if config is not None else DiffusionConfig.from_env()
        self.kinds: frozenset[Kind] = frozenset(self.config.kinds)
        self.description = describe(self.config)
        self._pipelines = pipelines
        # One job at a time: pipelines hold scheduler state and the GPU is one device; jobs
        # from other workers wait here (and still see a cancel at their first report).
        self._lock = threading.Lock()

    def setup(self) -> None:
        """Load every configured pipeline (once per process); a missing model fails here."""
        if self._pipelines is not None:
            return
        try:
            from tds.engines.diffusion.pipelines import cached
        except ImportError as error:
            raise RuntimeError(f"{INSTALL_HINT} ({error})") from error
        self._pipelines = cached(self.config)

    @property
    def pipelines(self) -> Pipelines:
        """The loaded pipelines (set up on first use)."""
        self.setup()
        assert self._pipelines is not None
        return self._pipelines

    def run(self, job: Job, progress: Progress) -> Output:
        if job.kind not in self.kinds:
            raise EngineError(f"this server's diffusion engine does not do {job.kind!r}")
        loaded = self.pipelines
        import torch

        from tds.engines.diffusion.runs import RUNS

        with self._lock:
            progress(0, 1)  # canceled while it waited for the GPU: stop before any work
            try:
                with torch.inference_mode():
                    return RUNS[job.kind](loaded, job, progress)
            except torch.OutOfMemoryError:
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                raise EngineError(
                    "the GPU ran out of memory for this size; try a lower resolution"
                ) from None


def describe(config: DiffusionConfig) -> str:
    """What this engine is, for GET /api/v1/styles: the models it runs, for what."""
    does = []
    if config.kinds & {"render", "refine"}:
        does.append("keeps your geometry while it redraws materials, light and context")
    if "enhance" in config.kinds:
        does.append("upscales in tiles")
    if "staging" in config.kinds:
        does.append("furnishes empty rooms by inpainting")
    parts = []
    if does:
        parts.append(
            f"{_short(config.base_model)} with a ControlNet ({_short(config.controlnet)}) "
            + ", ".join(does)
        )
    if "video" in config.kinds:
        parts.append(f"{_short(config.video_model)} animates stills")
    return "Generative diffusion models on this server's GPU: " + "; ".join(parts) + "."


def _short(model: str) -> str:
    return model.rstrip("/").rpartition("/")[2] or model
