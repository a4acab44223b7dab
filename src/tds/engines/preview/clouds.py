"""Seeded clouds on a plane above the camera: large overhead, small and flat near the horizon."""

from __future__ import annotations

import cv2
import numpy as np

from tds.engines.preview.pixels import Size, smoothstep

TEXTURE = (128, 256)  # (rows, columns) of the noise texture the sky samples
OCTAVES = 5
CLOUD_EDGE = 384  # clouds are soft: made at most this wide, then scaled to the sky
PLANE_SCALE = 70.0  # texture pixels per unit of the cloud plane: sets the size of the clouds


def fbm(rng: np.random.Generator) -> np.ndarray:
    """Tileable fractal value noise in [0, 1]: octaves of bicubically enlarged random grids.

    Each grid is padded with its own opposite edges before enlarging, so the texture wraps
    without a seam (the sky samples it with wrap-around).
    """
    rows, columns = TEXTURE
    total = np.zeros(TEXTURE, np.float32)
    weight = 1.0
    for octave in range(OCTAVES):
        cells = (4 * 2**octave, 8 * 2**octave)
        cell = (rows // cells[0], columns // cells[1])
        grid = np.pad(rng.random(cells, dtype=np.float32), 2, mode="wrap")
        big = cv2.resize(
            grid, (grid.shape[1] * cell[1], grid.shape[0] * cell[0]), interpolation=cv2.INTER_CUBIC
        )
        total += big[2 * cell[0] : 2 * cell[0] + rows, 2 * cell[1] : 2 * cell[1] + columns] * weight
        weight *= 0.5
    total -= total.min()
    total /= max(float(total.max()), 1e-6)
    return total


def clouds(size: Size, coverage: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(density, light): H×W float32 maps in [0, 1] for a sky band of `size` (w, h).

    Row 0 is the zenith, the last row the horizon. Density is the cloud's opacity; light is
    1 on tops facing the sun above and lower on the undersides.
    """
    width, height = size
    scale = min(1.0, CLOUD_EDGE / width)
    small = (max(4, round(width * scale)), max(2, round(height * scale)))
    texture = fbm(rng)
    rows, columns = TEXTURE
    # A cloud layer at height 1 over the camera: a pixel sy above the horizon (in widths)
    # sees it at distance 1/sy, so clouds flatten and shrink towards the horizon.
    sx = (np.arange(small[0], dtype=np.float32) + 0.5) / small[0] - 0.5
    sy = (small[1] - np.arange(small[1], dtype=np.float32) - 0.5) / small[0]
    distance = 1.0 / np.maximum(sy, 0.02) + 0.6
    u0, v0 = rng.random(2) * (columns, rows)
    u = np.mod(sx[None, :] * distance[:, None] * PLANE_SCALE + u0, columns).astype(np.float32)
    v = np.mod(distance * PLANE_SCALE + v0, rows).astype(np.float32)
    noise = cv2.remap(
        texture,
        u,
        np.ascontiguousarray(np.broadcast_to(v[:, None], u.shape)),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_WRAP,
    )
    threshold = float(np.quantile(noise, 1.0 - coverage)) if coverage < 1 else 0.0
    density = smoothstep(threshold - 0.03, threshold + 0.18, noise)
    # Far clouds are too small to draw cleanly and haze swallows them: fade them out.
    density *= 1.0 - 0.85 * smoothstep(4.0, 12.0, distance)[:, None]
    # Lit from above: brighter where the cloud thins upwards (its top), darker below.
    lift = min(3, small[1] - 1)
    above = np.vstack([noise[:1].repeat(lift, axis=0), noise[: small[1] - lift]])
    light = np.clip(0.6 + 6.0 * (noise - above), 0.0, 1.0)
    density = cv2.resize(density, size, interpolation=cv2.INTER_LINEAR)
    light = cv2.resize(light, size, interpolation=cv2.INTER_LINEAR)
    return density, light
