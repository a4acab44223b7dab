"""Render: smooth the input like a rendered surface, grade it for lighting, style and scene,
paint a sky, and finish at the exact target size."""

from __future__ import annotations

import cv2
import numpy as np

from tds.catalogue import find_lighting, find_scene_type, find_style
from tds.engines.base import Job, Output, Progress
from tds.engines.preview import grading
from tds.engines.preview.enhance import sharpen_luma
from tds.engines.preview.finish import Detail, finish
from tds.engines.preview.pixels import Size, resize, size_of, to_array, to_image, to_u8, work_size
from tds.engines.preview.sky import find_sky, paint_sky

AERIAL_HAZE = 0.3


def seeded(seed: int) -> np.random.Generator:
    """A private generator per job (never the global one), so a job always renders the same."""
    return np.random.default_rng(seed % 2**64)


def choose(job: Job) -> tuple[str | None, grading.Lighting, grading.Look]:
    """(scene id, lighting preset, style look); unknown or missing names give neutral ones."""
    scene = find_scene_type(job.scene_type or "")
    lighting = find_lighting(job.lighting) if job.lighting else None
    style = find_style(job.style) if job.style else None
    return (
        scene.id if scene else None,
        grading.LIGHTING.get(lighting.id, grading.DEFAULT_LIGHTING)
        if lighting
        else grading.DEFAULT_LIGHTING,
        grading.STYLES.get(style.id, grading.NEUTRAL) if style else grading.NEUTRAL,
    )


def surface(rgb: np.ndarray, fidelity: float) -> np.ndarray:
    """Edge-preserving smoothing, blended by geometry fidelity, with the input's lines kept.

    Rendered surfaces are cleaner than viewport captures and photos: a bilateral filter flattens
    noise and texture but not edges. The smoothing lightens thin dark lines, so their depth
    (a morphological black-hat of the input) is subtracted again in proportion to fidelity.
    """
    smooth = cv2.bilateralFilter(rgb, 7, 40, 5)
    amount = 0.35 + 0.55 * (1.0 - fidelity)
    out = cv2.addWeighted(rgb, 1.0 - amount, smooth, amount, 0.0)
    if fidelity > 0:
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        lines = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, np.ones((5, 5), np.uint8))
        lines = cv2.convertScaleAbs(lines, alpha=fidelity)
        out = cv2.subtract(out, cv2.merge([lines, lines, lines]))
    return out


def render(job: Job, progress: Progress) -> Output:
    total = 5
    target: Size = (job.width, job.height)
    source = to_array(job.image)
    base = resize(source, work_size(size_of(source), target))
    fidelity = float(np.clip(job.geometry_fidelity, 0.0, 1.0))
    scene, lighting, style = choose(job)
    progress(1, total)

    surfaced = surface(base, fidelity)
    sky = None
    if scene in grading.SKY_SCENES and job.input_type != "sketch":
        # Sketches are skipped: open line drawings leak, and the paper is not a backdrop.
        sky = find_sky(base)
    progress(2, total)

    look = grading.combine(lighting.look, style, grading.SCENES.get(scene or "", grading.NEUTRAL))
    image = grading.apply_look(surfaced, look)
    if sky is not None:
        paint_sky(image, sky, lighting.sky)
    if scene == "aerial":
        grading.haze(image, lighting.sky.horizon, AERIAL_HAZE)
    if lighting.glow:
        grey = cv2.cvtColor(base, cv2.COLOR_RGB2GRAY)
        grading.window_glow(image, grey, sky, lighting.glow)
    grading.vignette(image, lighting.vignette)
    progress(3, total)

    graded = to_u8(image)
    del image
    # Lanczos softens what it enlarges; a light pre-sharpen keeps lines crisp at the target.
    if target[0] > 1.5 * graded.shape[1]:
        graded = sharpen_luma(graded, amount=0.3 + 0.4 * fidelity, sigma=1.0)
    detail = None
    if (
        source.shape[0] * source.shape[1] > 1.2 * base.shape[0] * base.shape[1]
        and size_of(base) != target
    ):
        # The working copy was capped below the target: bring the source's detail back.
        keep = None if sky is None else (1.0 - sky).astype(np.float32)
        detail = Detail(source=source, work=base, keep=keep)
    progress(4, total)
    final = finish(graded, target, detail=detail, grain=lighting.grain, rng=seeded(job.seed))
    progress(5, total)
    return Output(image=to_image(final))
