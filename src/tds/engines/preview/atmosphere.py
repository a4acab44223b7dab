"""Whole-frame light effects on float32 RGB in [0, 1], all in place: haze, bloom, vignette."""

from __future__ import annotations

import cv2
import numpy as np

from tds.engines.preview.grading import RGB
from tds.engines.preview.pixels import luminance, smoothstep

BLOOM_EDGE = 256  # bloom is a wide blur: computed on a small copy, then scaled up
BLOOM_THRESHOLD = 0.72  # luma where highlights start to spill


def haze(rgb: np.ndarray, colour: RGB, amount: float) -> None:
    """Aerial perspective, thicker towards the top (the far distance, seen from above)."""
    height = rgb.shape[0]
    rows = np.linspace(1.0, 0.0, height, dtype=np.float32) ** 1.5 * np.float32(amount)
    weight = rows[:, None, None]
    rgb *= 1.0 - weight
    rgb += weight * np.array(colour, np.float32)


def vignette(rgb: np.ndarray, strength: float) -> None:
    """Darken towards the corners (a lens falloff that pulls the eye to the centre)."""
    if strength <= 0:
        return
    height, width = rgb.shape[:2]
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32) ** 2
    ys = np.linspace(-1.0, 1.0, height, dtype=np.float32) ** 2
    falloff = 1.0 - np.float32(strength * 0.5) * smoothstep(0.1, 2.0, ys[:, None] + xs[None, :])
    rgb *= falloff[..., None]


def bloom(rgb: np.ndarray, amount: float, threshold: float = BLOOM_THRESHOLD) -> None:
    """Light spilling from the highlights: sunlit render, a bright sky, lit windows at night.

    The part of each pixel above `threshold` is blurred at two radii (a tight glow and a wide
    veil) and screened over the image, so it brightens without clipping.
    """
    if amount <= 0:
        return
    height, width = rgb.shape[:2]
    scale = min(1.0, BLOOM_EDGE / max(height, width))
    size = (max(4, round(width * scale)), max(4, round(height * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    bright = small * smoothstep(threshold, 1.0, luminance(small))[..., None]
    reach = max(size)
    glow = cv2.GaussianBlur(bright, (0, 0), 0.012 * reach)
    glow = cv2.addWeighted(glow, 0.6, cv2.GaussianBlur(bright, (0, 0), 0.05 * reach), 0.4, 0.0)
    glow = cv2.resize(glow, (width, height), interpolation=cv2.INTER_LINEAR)
    glow *= np.float32(amount)
    # Screen: a + g·(1 − a).
    glow *= 1.0 - np.clip(rgb, 0.0, 1.0)
    rgb += glow
