"""What each kind sends to Stability: the endpoint, the form fields, the files and the frame.

- render: `control/structure` (`control/sketch` for input_type sketch), control_strength
  0.4 + 0.55 × geometry_fidelity (0.785 by default; Stability's own default is 0.7);
- refine: `control/structure` on the parent, control_strength 0.95 − 0.2 × strength (0.85 by
  default), never below the render's for the same geometry_fidelity;
- staging: `edit/inpaint`, the mask the floor and the space above it (`staging_mask`);
- enhance: `upscale/conservative`, creativity 0.2 + 0.3 × (1 − geometry_fidelity) in its range
  0.2 to 0.5; or `upscale/fast` (4×, no prompt) when TDS_STABILITY_MODEL=fast.

The prompt is the editing instruction every hosted engine sends (`prompts.instruction`), the
negative prompt the composed one; the seed is the job's (Stability takes 0 to 4,294,967,294,
0 meaning random).
"""

from __future__ import annotations

from dataclasses import dataclass

from tds.engines.base import EngineError, Job
from tds.engines.common import prompts
from tds.engines.common.masks import staging_mask
from tds.engines.stability import frames
from tds.engines.stability.client import File
from tds.engines.stability.config import StabilitySettings

STRUCTURE = "/v2beta/stable-image/control/structure"
SKETCH = "/v2beta/stable-image/control/sketch"
INPAINT = "/v2beta/stable-image/edit/inpaint"
CONSERVATIVE = "/v2beta/stable-image/upscale/conservative"
FAST = "/v2beta/stable-image/upscale/fast"
MAX_SEED = 4_294_967_294


@dataclass(frozen=True)
class Call:
    path: str
    fields: dict[str, str]
    files: dict[str, File]
    frame: frames.Frame


def render_control(fidelity: float) -> float:
    """control_strength for a render: 0.4 (free) to 0.95 (every line); 0.785 by default."""
    return round(0.4 + 0.55 * _unit(fidelity), 3)


def refine_control(fidelity: float, strength: float) -> float:
    """control_strength for a refine: the parent's structure held harder than a render's."""
    return round(max(render_control(fidelity), 0.95 - 0.2 * _unit(strength)), 3)


def creativity(fidelity: float) -> float:
    """The conservative upscaler's creativity, in its range 0.2 to 0.5."""
    return round(0.2 + 0.3 * (1 - _unit(fidelity)), 3)


def _unit(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def build(job: Job, config: StabilitySettings) -> Call:
    """The call for `job`; EngineError for a kind Stability's engine does not do."""
    if job.kind in ("render", "refine"):
        return _control(job, config)
    if job.kind == "staging":
        return _inpaint(job, config)
    if job.kind == "enhance":
        return _upscale(job, config)
    raise EngineError(f"Stability AI's engine does not do {job.kind!r}")


def _common(job: Job, config: StabilitySettings) -> dict[str, str]:
    return {
        "prompt": prompts.instruction(job),
        "negative_prompt": prompts.compose(job).negative,
        "seed": str(int(job.seed) % (MAX_SEED + 1)),
        "output_format": config.output_format,
    }


def _image_file(picture: bytes) -> dict[str, File]:
    return {"image": ("image.jpg", picture, "image/jpeg")}


def _control(job: Job, config: StabilitySettings) -> Call:
    frame = frames.frame(job.width, job.height, frames.CONTROL)
    if job.kind == "refine":
        path, strength = STRUCTURE, refine_control(job.geometry_fidelity, job.strength)
    else:
        path = SKETCH if job.input_type == "sketch" else STRUCTURE
        strength = render_control(job.geometry_fidelity)
    fields = _common(job, config) | {"control_strength": f"{strength}"}
    return Call(path, fields, _image_file(frames.encode(frame.picture(job.image))), frame)


def _inpaint(job: Job, config: StabilitySettings) -> Call:
    frame = frames.frame(job.width, job.height, frames.INPAINT)
    mask = staging_mask(job.image).resize(frame.sent)
    files = _image_file(frames.encode(frame.picture(job.image)))
    files["mask"] = ("mask.png", frames.encode_mask(mask), "image/png")
    return Call(INPAINT, _common(job, config), files, frame)


def _upscale(job: Job, config: StabilitySettings) -> Call:
    source = job.image.size
    if config.model == "fast":
        frame = frames.frame(job.width, job.height, frames.FAST, source=source)
        only: dict[str, str] = {"output_format": config.output_format}
        return Call(FAST, only, _image_file(frames.encode(frame.picture(job.image))), frame)
    frame = frames.frame(job.width, job.height, frames.CONSERVATIVE, source=source)
    fields = _common(job, config) | {"creativity": f"{creativity(job.geometry_fidelity)}"}
    return Call(CONSERVATIVE, fields, _image_file(frames.encode(frame.picture(job.image))), frame)
