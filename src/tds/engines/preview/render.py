"""Render: smooth the input like a rendered surface, grade it for lighting, style and scene,
darken its contacts, paint a sky, light its windows, bloom its highlights, and finish at the
exact target size."""

from __future__ import annotations

import cv2
import numpy as np

from tds.catalogue import find_lighting, find_scene_type, find_style
from tds.engines.base import Job, Output, Progress
from tds.engines.preview import presets
from tds.engines.preview.atmosphere import bloom, haze, vignette
from tds.engines.preview.enhance import sharpen_luma
from tds.engines.preview.finish import Detail, finish
from tds.engines.preview.grading import NEUTRAL, Look, apply_look, combine
from tds.engines.preview.inputs import input_type
from tds.engines.preview.occlusion import contact_shadows
from tds.engines.preview.pixels import Size, resize, size_of, to_array, to_image, to_u8, work_size
from tds.engines.preview.sky import find_backdrop, paint_ground, paint_sky
from tds.engines.preview.windows import light_windows, outside_at_dusk

AERIAL_HAZE = 0.3
# Contact darkening by input: a viewport's edges are all geometry; a photo already has its
# own shading and much of its edge density is texture, so it gets a light touch.
OCCLUSION = {"viewport": 0.3, "photo": 0.12}


def seeded(seed: int) -> np.random.Generator:
    """A private generator per job (never the global one), so a job always renders the same."""
    return np.random.default_rng(seed % 2**64)


def choose(job: Job) -> tuple[str | None, presets.Lighting, Look]:
    """(scene id, lighting preset, style look); unknown or missing names give neutral ones."""
    scene = find_scene_type(job.scene_type or "")
    lighting = find_lighting(job.lighting) if job.lighting else None
    style = find_style(job.architectural_style) if job.architectural_style else None
    return (
        scene.id if scene else None,
        presets.LIGHTING.get(lighting.id, presets.DEFAULT_LIGHTING)
        if lighting
        else presets.DEFAULT_LIGHTING,
        presets.STYLES.get(style.id, NEUTRAL) if style else NEUTRAL,
    )


def surface(rgb: np.ndarray, fidelity: float) -> np.ndarray:
    """Edge-preserving smoothing, less of it the higher the geometry fidelity, lines kept.

    Rendered surfaces are cleaner than viewport captures and photos: a bilateral filter flattens
    noise and texture but not edges. It also lightens thin dark lines, so their depth (a
    morphological black-hat of the input) is put back, and at high fidelity deepened a little:
    at fidelity 1 nothing is smoothed and every line is crisper than it came; at 0 surfaces
    are smoothest and thin lines fade.
    """
    amount = 0.9 * (1.0 - fidelity) ** 0.5
    out = rgb.copy()
    if amount > 0.01:
        # Two small passes: as smooth as one large one at a third of the cost.
        smooth = cv2.bilateralFilter(cv2.bilateralFilter(rgb, 5, 40, 5), 5, 40, 5)
        out = cv2.addWeighted(rgb, 1.0 - amount, smooth, amount, 0.0)
    emphasis = fidelity * (amount + 0.25 * fidelity)
    if emphasis > 0.01:
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        lines = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, np.ones((5, 5), np.uint8))
        lines = cv2.convertScaleAbs(lines, alpha=emphasis)
        out = cv2.subtract(out, cv2.merge([lines, lines, lines]))
    return out


def relight(
    base: np.ndarray,
    kind: str,
    scene: str | None,
    lighting: presets.Lighting,
    look: Look,
    fidelity: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray | None]:
    """(float32 graded image, sky mask or None) of a viewport or photo at the working size."""
    backdrop = find_backdrop(base) if scene in presets.SKY_SCENES else None
    sky = backdrop.sky if backdrop else None
    surfaced = surface(base, fidelity)
    if backdrop and backdrop.ground is not None:
        paint_ground(surfaced, backdrop.ground)
    image = apply_look(surfaced, look)
    shadows = contact_shadows(surfaced, sky, OCCLUSION.get(kind, 0.15) * lighting.occlusion)
    if shadows is not None:
        image *= shadows[..., None]
    # Fidelity trades stylisation for the input's lines: clouds add lines, bloom softens them.
    restraint = 1.0 - 0.5 * fidelity**3
    if sky is not None:
        paint_sky(image, sky, lighting.sky, rng, clouds=restraint)
    if scene == "aerial":
        haze(image, lighting.sky.horizon, AERIAL_HAZE)
    if lighting.windows and scene == "interior":
        outside_at_dusk(image, base, lighting.sky.zenith, lighting.sky.horizon)
    elif lighting.windows:
        back = sky  # no window is in the backdrop, sky or ground
        if backdrop is not None and backdrop.ground is not None:
            back = np.maximum(backdrop.sky, backdrop.ground)
        light_windows(image, base, back, lighting.windows, rng)
    bloom(image, lighting.bloom * restraint)
    return image, sky


def render(job: Job, progress: Progress) -> Output:
    total = 5
    target: Size = (job.width, job.height)
    source = to_array(job.image)
    base = resize(source, work_size(size_of(source), target))
    fidelity = float(np.clip(job.geometry_fidelity, 0.0, 1.0))
    scene, lighting, style = choose(job)
    kind = input_type(job.input_type, base)
    rng = seeded(job.seed)
    indoor = lighting.indoor if scene == "interior" and lighting.indoor else lighting.look
    look = combine(indoor, style, presets.SCENES.get(scene or "", NEUTRAL))
    progress(1, total)

    image, sky = relight(base, kind, scene, lighting, look, fidelity, rng)
    progress(2, total)
    vignette(image, lighting.vignette)
    graded = to_u8(image)
    del image
    progress(3, total)

    # Enlarging softens; a light pre-sharpen keeps lines crisp at the target.
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
    final = finish(graded, target, detail=detail, grain=lighting.grain, rng=rng)
    progress(5, total)
    return Output(image=to_image(final))
