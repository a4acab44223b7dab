"""Contact shadows without geometry: soft darkening along and under the input's strong edges.

A real renderer darkens creases and the ground where walls stand on it (ambient occlusion).
Without depth, the input's strong lines and tone steps are where surfaces meet, and light
comes mostly from above, so two terms stand in for it: a thin soft rim along each strong edge,
and a shadow hanging under it that fades over a short drop (under eaves, lintels and the
foot of every wall). Edges against the sky are silhouettes, convex, and are left out; weak
edges (brick joints, leaves) are texture, not geometry, and are left out too.
"""

from __future__ import annotations

import cv2
import numpy as np

from tds.engines.preview.pixels import smoothstep

ANALYSIS_EDGE = 384  # the darkening is soft: a small copy carries all of it
RIM = 0.006  # fall-off of the rim along an edge (× long edge)
DROP = 0.03  # how far a hanging shadow reaches down


def contact_shadows(rgb: np.ndarray, sky: np.ndarray | None, strength: float) -> np.ndarray | None:
    """H×W float32 multiplier in (0, 1] for uint8 RGB `rgb` (None: nothing to darken)."""
    if strength <= 0:
        return None
    height, width = rgb.shape[:2]
    scale = min(1.0, ANALYSIS_EDGE / max(height, width))
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    grey = cv2.cvtColor(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    # Lines: thin dark strokes (a viewport's edges). Steps: changes of tone between faces.
    lines = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, np.ones((5, 5), np.uint8))
    soft = cv2.GaussianBlur(grey, (0, 0), 1.0).astype(np.float32)
    steps = cv2.magnitude(
        cv2.Sobel(soft, cv2.CV_32F, 1, 0, ksize=3, scale=0.125),
        cv2.Sobel(soft, cv2.CV_32F, 0, 1, ksize=3, scale=0.125),
    )
    edges = np.maximum(lines.astype(np.float32) * np.float32(1 / 80), steps * np.float32(1 / 30))
    strong = smoothstep(0.35, 0.85, edges)
    small_sky = None
    if sky is not None:
        small_sky = cv2.resize(sky, size, interpolation=cv2.INTER_AREA)
        near_sky = cv2.dilate((small_sky > 0.3).astype(np.uint8), np.ones((5, 5), np.uint8))
        strong[near_sky > 0] = 0.0
    if not strong.any():
        return None
    reach = max(size)
    distance = cv2.distanceTransform((strong < 0.5).astype(np.uint8), cv2.DIST_L2, 3)
    rim = np.exp(distance * np.float32(-1.0 / (RIM * reach)))
    # The hanging shadow: each row keeps the darker of itself and the row above, faded.
    hang = strong.copy()
    drop = max(2, round(DROP * reach))
    fade = np.float32(np.exp(-3.0 / drop))
    for _ in range(drop):
        np.maximum(hang[1:], hang[:-1] * fade, out=hang[1:])
    hang = cv2.GaussianBlur(hang, (0, 0), max(1.0, 0.004 * reach))
    occlusion = (0.25 * rim + 0.75 * hang) * np.float32(strength)
    if small_sky is not None:
        occlusion *= 1.0 - small_sky
    factor: np.ndarray = cv2.resize(
        1.0 - occlusion, (width, height), interpolation=cv2.INTER_LINEAR
    )
    return factor
