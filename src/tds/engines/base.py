"""The engine contract: `setup()` once per process, `run(job, progress)` per render."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from PIL import Image

Kind = Literal["render", "refine", "enhance", "staging", "video"]
KINDS: tuple[Kind, ...] = ("render", "refine", "enhance", "staging", "video")

# progress(done, total): engines call it as work advances; it raises JobCanceled when the
# render was canceled, so an engine stops at its next progress report.
Progress = Callable[[int, int], None]


class JobCanceled(Exception):
    """Raised from a progress callback when the render was canceled meanwhile."""


class EngineError(Exception):
    """An engine could not produce an output; its message is shown to the user."""


@dataclass(frozen=True)
class Job:
    kind: Kind
    image: Image.Image  # RGB, already validated and re-encoded by the server
    width: int  # exact output size; both even
    height: int
    scene_type: str = "exterior"  # catalogue ids, e.g. "exterior", "modern", "golden_hour"
    style: str | None = None
    lighting: str | None = None
    prompt: str = ""
    negative_prompt: str = ""
    seed: int = 0
    geometry_fidelity: float = 0.7  # 0 = free, 1 = keep every line of the input
    strength: float = 0.5  # how far refine moves from its parent
    input_type: str | None = None  # "viewport", "sketch", "photo" or None (unknown)


@dataclass
class Output:
    image: Image.Image  # the result, or the poster frame of a video; exactly job.width × height
    video: bytes | None = None  # MP4 (H.264, yuv420p) for kind "video"
    warnings: list[str] = field(default_factory=list)


class Engine(Protocol):
    name: str
    kinds: frozenset[Kind]  # the kinds this engine serves
    description: str  # shown in GET /api/v1/styles, honest about what it is

    def setup(self) -> None: ...

    def run(self, job: Job, progress: Progress) -> Output: ...
