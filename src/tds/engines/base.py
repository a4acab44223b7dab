"""The engine contract: `setup()` once per process, `run(job, progress)` per render."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from PIL import Image

# The kinds and resolutions are the catalogue's; engines name them from their contract.
from tds.catalogue import KINDS, Kind, Resolution

__all__ = [
    "KINDS",
    "ContentRefused",
    "Engine",
    "EngineError",
    "EngineUnavailable",
    "Job",
    "JobCanceled",
    "Kind",
    "Output",
    "Progress",
    "Refusing",
    "RenderOptions",
    "Resolution",
]

# progress(done, total): engines call it as work advances; it raises JobCanceled when the
# render was canceled, so an engine stops at its next progress report.
Progress = Callable[[int, int], None]


class JobCanceled(Exception):
    """Raised from a progress callback when the render was canceled meanwhile."""


class EngineError(Exception):
    """An engine could not produce an output; its message is shown to the user. The render
    fails with `code` and is refunded."""

    code = "model_failed"


class EngineUnavailable(EngineError):
    """The model cannot take work now: the provider rate-limits past the render's deadline, is
    down, or refuses this server's key. Say nothing of the key in the message (operators see
    the detail in the log)."""

    code = "model_unavailable"


class ContentRefused(EngineError):
    """The provider's safety system refused the image or the prompt; the message is its
    reason, as far as the provider gives one."""

    code = "content_refused"


@dataclass(frozen=True, kw_only=True)
class RenderOptions:
    """What a render asks for, from the request to the engine: one name per option, catalogue
    ids (e.g. "exterior", "modern", "golden_hour"), and the only place their defaults live."""

    kind: Kind = "render"
    scene_type: str = "exterior"
    architectural_style: str | None = None
    lighting: str | None = None
    resolution: Resolution = "2k"  # the long edge: what it costs; the engine gets the exact size
    prompt: str = ""
    negative_prompt: str = ""
    seed: int = 0
    geometry_fidelity: float = 0.7  # 0 = free, 1 = keep every line of the input
    strength: float = 0.5  # how far refine moves from its parent
    input_type: str | None = None  # "viewport", "sketch", "photo" or None (unknown)
    # The lowest fidelity_score accepted: below it the render is tried once more, then fails.
    min_fidelity: float | None = None


@dataclass(frozen=True, kw_only=True)
class Job(RenderOptions):
    """One render for an engine: the options, the input image and the exact output size."""

    image: Image.Image  # RGB, already validated and re-encoded by the server
    width: int  # exact output size; both even
    height: int


@dataclass
class Output:
    image: Image.Image  # the result, or the poster frame of a video; exactly job.width × height
    video: bytes | None = None  # MP4 (H.264, yuv420p) for kind "video"
    warnings: list[str] = field(default_factory=list)


class Engine(Protocol):
    name: str
    kinds: frozenset[Kind]  # the kinds this engine serves
    description: str  # shown in GET /api/v1/styles, honest about what it is
    generative: bool  # whether a model makes new pixels (False: an image pipeline, no AI)

    def setup(self) -> None: ...

    def run(self, job: Job, progress: Progress) -> Output: ...


@runtime_checkable
class Refusing(Protocol):
    """An engine that can tell, before anything is held, that it will not serve a job (the
    preview engine and a sketch): `refusal` answers why, in a sentence for the user, or None.
    Optional: the API asks engines that have it."""

    def refusal(self, options: RenderOptions, image: Image.Image) -> str | None: ...
