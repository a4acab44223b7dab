"""One function per kind: a job in, an Output exactly job.width × job.height out.

Each runs its pipeline at a size the model was trained near (multiples of what its UNet
needs), then resizes to the job's size. Steps are reported as they finish; a cancel raised
by progress stops the pipeline between steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from tds.engines.base import EngineError, Job, Kind, Output, Progress
from tds.engines.common import control, images, masks, prompts
from tds.engines.common.media import encode_frames
from tds.engines.diffusion import tiling
from tds.engines.diffusion.pipelines import (
    UNION_EDGES,
    Pipelines,
    denoise_steps,
    guidance,
)
from tds.engines.diffusion.steps import Steps, generator

UPSCALE_WARNING = 1.5  # warn when the model's picture is stretched more than this
ENHANCE_OVERLAP = 1 / 8  # share of a tile that overlaps its neighbours


@dataclass(frozen=True)
class Conditioning:
    strength: float  # img2img denoising strength: how much of the input is redrawn
    control_scale: float  # ControlNet conditioning scale: how hard the lines are held
    control_end: float  # share of the steps the ControlNet guides


def render_conditioning(job: Job) -> Conditioning:
    """geometry_fidelity 0 → free (strong redraw, loose lines); 1 → every line kept."""
    fidelity = min(1.0, max(0.0, job.geometry_fidelity))
    if job.input_type == "photo":
        strength = 0.85 - 0.45 * fidelity  # a photo already looks right: redraw less
    elif job.input_type == "sketch":
        strength = 0.98 - 0.25 * fidelity  # a sketch's paper and pencil must all go
    else:
        strength = 0.95 - 0.4 * fidelity  # flat-shaded viewport: redraw most, hold lines
    return Conditioning(strength, 0.4 + 0.6 * fidelity, 0.5 + 0.5 * fidelity)


def refine_conditioning(job: Job) -> Conditioning:
    fidelity = min(1.0, max(0.0, job.geometry_fidelity))
    strength = 0.1 + 0.5 * min(1.0, max(0.0, job.strength))
    return Conditioning(strength, 0.5 + 0.5 * fidelity, 0.6 + 0.4 * fidelity)


def enhance_conditioning(job: Job) -> Conditioning:
    fidelity = min(1.0, max(0.0, job.geometry_fidelity))
    return Conditioning(0.2 + 0.3 * (1.0 - fidelity), 0.6 + 0.4 * fidelity, 1.0)


def staging_conditioning(job: Job) -> Conditioning:
    fidelity = min(1.0, max(0.0, job.geometry_fidelity))
    return Conditioning(0.99, 0.3 + 0.4 * fidelity, 0.6 + 0.3 * fidelity)


def _control_end(conditioning: Conditioning, run: int) -> float:
    """control_guidance_end, but never so early that not even the first step is guided
    (diffusers drops step i when (i + 1) / steps > end: a 1-step refine would lose it)."""
    return min(1.0, max(conditioning.control_end, 1.0 / max(1, run)))


def _control_args(union: bool, image: Image.Image, mode: int) -> dict[str, Any]:
    if union:
        return {"control_image": [image], "control_mode": [mode]}
    return {"control_image": image}


def _prompt_args(job: Job, kind: Kind, pipelines: Pipelines) -> dict[str, Any]:
    composed = prompts.compose(job, kind)
    return {
        "prompt": composed.prompt,
        "negative_prompt": composed.negative,
        "guidance_scale": guidance(pipelines.config),
    }


def _finish(
    image: Image.Image, job: Job, steps: Steps, warnings: list[str] | None = None
) -> Output:
    warnings = list(warnings or [])
    stretch = max(job.width / image.width, job.height / image.height)
    if stretch > UPSCALE_WARNING and job.kind != "video":
        warnings.append(
            f"The model drew {image.width}×{image.height} px and the result was resized "
            f"to {job.width}×{job.height}; run enhance on it for full detail."
        )
    result = images.resize(image, (job.width, job.height))
    steps.finish()
    return Output(image=result, warnings=warnings)


def _controlled(
    pipelines: Pipelines,
    pipeline: Any,
    job: Job,
    progress: Progress,
    kind: Kind,
    conditioning: Conditioning,
    source: Image.Image,
    **extra: Any,
) -> tuple[Image.Image, Steps]:
    """Run a ControlNet pipeline over `source`, guided by its own edges: what it drew."""
    edges = control.control_image(job, source, pipelines.config.control)
    total, run = denoise_steps(pipelines.config, conditioning.strength)
    steps = Steps(progress, run + 1)
    steps.report(0)
    pipelines.activate(pipeline)
    result = pipeline(
        image=source,
        strength=conditioning.strength,
        num_inference_steps=total,
        controlnet_conditioning_scale=conditioning.control_scale,
        control_guidance_end=_control_end(conditioning, run),
        generator=generator(job.seed),
        output_type="pil",
        callback_on_step_end=steps.callback(run),
        **extra,
        **_control_args(pipelines.union, edges, UNION_EDGES),
        **_prompt_args(job, kind, pipelines),
    )
    return result.images[0], steps


def _img2img(
    pipelines: Pipelines,
    job: Job,
    progress: Progress,
    kind: Kind,
    conditioning: Conditioning,
) -> Output:
    pipeline = pipelines.img2img
    if pipeline is None:
        raise EngineError(f"the diffusion engine is not set up for {kind}")
    size = tiling.work_size(job.width, job.height, pipelines.native_area, pipelines.multiple)
    source = images.resize(job.image, size)
    drawn, steps = _controlled(pipelines, pipeline, job, progress, kind, conditioning, source)
    return _finish(drawn, job, steps)


def render(pipelines: Pipelines, job: Job, progress: Progress) -> Output:
    return _img2img(pipelines, job, progress, "render", render_conditioning(job))


def refine(pipelines: Pipelines, job: Job, progress: Progress) -> Output:
    return _img2img(pipelines, job, progress, "refine", refine_conditioning(job))


def enhance(pipelines: Pipelines, job: Job, progress: Progress) -> Output:
    """Tiled upscale: a Lanczos upscale to the target, then every overlapping tile redrawn
    at low strength under the tile ControlNet (or the tile's own edges), blended back with
    linear ramps. GPU memory is bounded by one tile whatever the output size."""
    pipeline = pipelines.tile
    if pipeline is None:
        raise EngineError("the diffusion engine is not set up for enhance")
    multiple = pipelines.multiple
    canvas_size = (tiling.round_up(job.width, multiple), tiling.round_up(job.height, multiple))
    side = max(multiple, pipelines.tile_side // multiple * multiple)
    overlap = min(side // 2, max(multiple, round(side * ENHANCE_OVERLAP / multiple) * multiple))
    layout = tiling.tiles(*canvas_size, side, overlap)
    conditioning = enhance_conditioning(job)
    total, run = denoise_steps(pipelines.config, conditioning.strength)
    steps = Steps(progress, len(layout) * run + 1)
    steps.report(0)
    upscaled = images.resize(job.image, canvas_size)
    base = images.to_array(upscaled).astype(np.float32)
    summed = np.zeros_like(base)
    weights = np.zeros((*base.shape[:2], 1), np.float32)
    arguments = _prompt_args(job, "enhance", pipelines)
    sees_tile, mode = pipelines.tile_mode
    pipelines.activate(pipeline)
    for index, tile in enumerate(layout):
        piece = upscaled.crop(tile.box)
        guide = piece if sees_tile else control.canny(piece)
        result = pipeline(
            image=piece,
            strength=conditioning.strength,
            num_inference_steps=total,
            controlnet_conditioning_scale=conditioning.control_scale,
            generator=generator(job.seed + index),
            output_type="pil",
            callback_on_step_end=steps.callback(run),
            **_control_args(pipelines.tile_union, guide, mode),
            **arguments,
        )
        drawn = images.to_array(images.resize(result.images[0], (tile.width, tile.height)))
        ramp = tiling.tile_weights(tile, *canvas_size, overlap)[..., None]
        rows = slice(tile.y, tile.y + tile.height)
        cols = slice(tile.x, tile.x + tile.width)
        summed[rows, cols] += drawn.astype(np.float32) * ramp
        weights[rows, cols] += ramp
        steps.report((index + 1) * run)
    merged = np.where(weights > 0, summed / np.maximum(weights, 1e-6), base)
    image = images.to_image(np.clip(merged + 0.5, 0, 255))
    image = image.crop((0, 0, job.width, job.height))
    steps.finish()
    return Output(image=image)


def staging(pipelines: Pipelines, job: Job, progress: Progress) -> Output:
    """Furnish a room: inpaint the floor and the open space above it (mask from the image)
    under the room's own edges, then paste the original back outside the mask so walls,
    windows and openings are the input's pixels."""
    pipeline = pipelines.inpaint
    if pipeline is None:
        raise EngineError("the diffusion engine is not set up for staging")
    size = tiling.work_size(job.width, job.height, pipelines.native_area, pipelines.multiple)
    source = images.resize(job.image, size)
    mask = masks.staging_mask(source)
    drawn_image, steps = _controlled(
        pipelines,
        pipeline,
        job,
        progress,
        "staging",
        staging_conditioning(job),
        source,
        mask_image=mask,
    )
    drawn = images.to_array(images.resize(drawn_image, size)).astype(np.float32)
    keep = images.to_array(source).astype(np.float32)
    alpha = masks.feather(mask, radius=max(1.0, min(size) / 256))[..., None]
    composed = images.to_image(np.clip(drawn * alpha + keep * (1 - alpha) + 0.5, 0, 255))
    return _finish(composed, job, steps)


def video_size(pipelines: Pipelines, job: Job) -> tuple[int, int]:
    """The clip's size: the job's aspect ratio in TDS_DIFFUSION_VIDEO_AREA pixels, sides a
    multiple of what the video model needs (VAE scale × patch size)."""
    pipeline = pipelines.video
    assert pipeline is not None
    multiple = 64
    spatial = getattr(pipeline, "vae_scale_factor_spatial", None)
    transformer = getattr(pipeline, "transformer", None)
    if isinstance(spatial, int) and transformer is not None:
        patch = getattr(transformer.config, "patch_size", None) or 1
        patch_side = patch[-1] if isinstance(patch, list | tuple) else patch
        multiple = int(spatial * patch_side)
    aspect = job.height / job.width
    area = pipelines.config.video_area
    height = max(multiple, round(math.sqrt(area * aspect) / multiple) * multiple)
    width = max(multiple, round(math.sqrt(area / aspect) / multiple) * multiple)
    return width, height


def _frame_count(name: str, wanted: int) -> int:
    """Frame counts each model accepts: Wan 4k+1, LTX 8k+1."""
    if name.startswith("Wan"):
        return max(5, (wanted - 1) // 4 * 4 + 1)
    if name.startswith("LTX"):
        return max(9, (wanted - 1) // 8 * 8 + 1)
    return max(2, wanted)


def video(pipelines: Pipelines, job: Job, progress: Progress) -> Output:
    """An image-to-video model animates the still; the frames are resized to the job's size
    and encoded as H.264 MP4; the first frame is the poster."""
    pipeline = pipelines.video
    if pipeline is None:
        raise EngineError("the diffusion engine is not set up for video")
    config = pipelines.config
    name = type(pipeline).__name__
    width, height = video_size(pipelines, job)
    still = images.resize(job.image, (width, height))
    frames_wanted = _frame_count(name, config.video_frames)
    steps = Steps(progress, config.video_steps + frames_wanted + 1)
    steps.report(0)
    composed = prompts.compose(job, "video")
    arguments: dict[str, Any] = {
        "image": still,
        "height": height,
        "width": width,
        "num_frames": frames_wanted,
        "num_inference_steps": config.video_steps,
        "generator": generator(job.seed),
        "output_type": "np",
        "callback_on_step_end": steps.callback(config.video_steps),
    }
    if name.startswith("StableVideo"):
        arguments |= {"fps": config.video_fps, "decode_chunk_size": 8}
    else:
        arguments |= {
            "prompt": composed.prompt,
            "negative_prompt": composed.negative,
            "guidance_scale": config.video_guidance,
        }
        if name.startswith("LTX"):
            arguments["frame_rate"] = config.video_fps
    pipelines.activate(pipeline)
    frames = np.asarray(pipeline(**arguments).frames[0])
    if frames.ndim != 4 or frames.shape[0] == 0:
        raise EngineError(f"the video model returned frames of shape {frames.shape}")
    done = steps.done
    data = encode_frames(
        list(frames),
        config.video_fps,
        (job.width, job.height),
        on_frame=lambda count: steps.report(done + count),
    )
    poster = images.resize(images.to_image(_uint8(frames[0])), (job.width, job.height))
    steps.finish()
    return Output(image=poster, video=data)


def _uint8(frame: np.ndarray) -> np.ndarray:
    if frame.dtype == np.uint8:
        return frame
    scaled: np.ndarray = (np.clip(frame, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return scaled


RUNS: dict[Kind, Callable[[Pipelines, Job, Progress], Output]] = {
    "render": render,
    "refine": refine,
    "enhance": enhance,
    "staging": staging,
    "video": video,
}
