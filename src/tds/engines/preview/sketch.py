"""Sketches and line drawings: a watercolour presentation instead of a relit photograph.

A line drawing has no surfaces to relight and its paper is not a backdrop, so it is rendered
the way an architect would colour it by hand: toned paper, a loose sky wash above the drawing
and a ground wash below it in the lighting's colours, soft shading gathered along the lines,
and the ink on top, untouched.
"""

from __future__ import annotations

import cv2
import numpy as np

from tds.engines.preview.clouds import fbm
from tds.engines.preview.grading import Look, apply_look
from tds.engines.preview.pixels import smoothstep, to_u8
from tds.engines.preview.presets import Lighting

PAPER = (0.965, 0.95, 0.915)
EARTH = (0.66, 0.63, 0.52)  # the ground wash before the grade
INK_DEPTH = 0.85


def wash(rgb: np.ndarray, lighting: Lighting, look: Look, rng: np.random.Generator) -> np.ndarray:
    """float32 RGB in [0, 1] of the same size as uint8 `rgb`."""
    height, width = rgb.shape[:2]
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) * np.float32(1 / 255)
    ink = 1.0 - smoothstep(0.3, 0.85, grey)
    rows = np.flatnonzero(ink.mean(axis=1) > 0.004)
    top, bottom = (int(rows[0]), int(rows[-1])) if rows.size else (height // 4, height * 3 // 4)
    extent = max(1, bottom - top)

    # Watercolour never lies even: a seeded mottle varies the pigment and breaks the edges.
    texture = fbm(rng)
    # A patch of the texture with the image's aspect, so the mottle is not stretched.
    rows_t, columns_t = texture.shape
    patch = texture[: max(2, min(rows_t, round(columns_t * height / width))), :]
    patch = patch[:, : max(2, min(columns_t, round(patch.shape[0] * width / height)))]
    mottle = cv2.resize(patch, (width, height), interpolation=cv2.INTER_CUBIC)
    y = (np.arange(height, dtype=np.float32) / height)[:, None]
    sky_edge = (top + 0.35 * extent) / height
    ground_edge = (bottom - 0.1 * extent) / height
    wobble = 0.22 * (mottle - 0.5)
    sky_alpha = _pigment(1.0 - smoothstep(sky_edge - 0.04, sky_edge + 0.04, y + wobble), mottle)
    ground_alpha = _pigment(smoothstep(ground_edge - 0.04, ground_edge + 0.04, y - wobble), mottle)

    t = np.clip(y / max(sky_edge, 0.05), 0.0, 1.0)[..., None]
    zenith, horizon = np.array(lighting.sky.zenith), np.array(lighting.sky.horizon)
    sky = (zenith + (horizon - zenith) * t).astype(np.float32)
    paper = np.array(PAPER, np.float32)
    image = np.empty((height, width, 3), np.float32)
    image[:] = paper
    image += (0.6 * sky_alpha)[..., None] * (sky - paper)
    image += (0.5 * ground_alpha)[..., None] * (np.array(EARTH, np.float32) - image)
    # The pencil's graphite bleeds a little into the wet wash around each stroke.
    bleed = cv2.GaussianBlur(ink, (0, 0), 0.006 * max(height, width))
    image *= (1.0 - 0.18 * smoothstep(0.05, 0.5, bleed))[..., None]
    image *= (0.975 + 0.05 * mottle)[..., None]  # paper grain

    image = apply_look(to_u8(image), look)
    # Ink over the wash, darker than whatever lies under it (so it reads at night too).
    image *= (1.0 - INK_DEPTH * ink)[..., None]
    return image


def _pigment(area: np.ndarray, mottle: np.ndarray) -> np.ndarray:
    """A wash's opacity: uneven inside, with the darker rim where drying pigment gathers."""
    rim = np.clip(area - cv2.GaussianBlur(area, (0, 0), 3.0), 0.0, 1.0) * np.float32(1.5)
    opacity: np.ndarray = np.clip(area * (0.7 + 0.3 * mottle) + rim, 0.0, 1.0)
    return opacity
