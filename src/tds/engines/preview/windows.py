"""Lit windows for dusk and night: find the openings in a facade and light some from inside.

A window is a pane enclosed by edges (its frame, or a viewport's lines): the regions between
Canny edges are kept when they look like glass set in a wall: mid-sized, rectangular, even in
tone, not foliage, not cut by the frame, not next to the backdrop (a model's face) and
repeated (facades repeat their windows). Panes close together merge into one window; a
seeded draw decides which are lit, so a block never lights up all at once and the same seed
lights the same rooms.
"""

from __future__ import annotations

import cv2
import numpy as np

from tds.engines.preview.grading import RGB, foliage_weight
from tds.engines.preview.pixels import luminance, smoothstep

ANALYSIS_EDGE = 640  # windows are small: a larger copy than the other analyses use
WARM: RGB = (1.0, 0.70, 0.36)  # tungsten light seen from outside
COOL: RGB = (1.0, 0.86, 0.66)  # LED and daylight lamps
MIN_AREA, MAX_AREA = 0.00006, 0.03  # share of the frame one window may cover
OPENING_EDGE = 384  # interiors: their windows are large


def find_windows(rgb: np.ndarray, backdrop: np.ndarray | None) -> tuple[np.ndarray, int]:
    """(int32 labels at analysis size, 0 = wall; count) of window-like openings in uint8 RGB.

    `backdrop` (sky and ground of a viewport, or None) is where no window can be.
    """
    height, width = rgb.shape[:2]
    scale = min(1.0, ANALYSIS_EDGE / max(height, width))
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    edges = cv2.Canny(cv2.GaussianBlur(grey, (0, 0), 1.0), 40, 110)
    edges = cv2.dilate(edges, np.ones((2, 2), np.uint8))
    count, regions, stats, _ = cv2.connectedComponentsWithStats(
        (edges == 0).astype(np.uint8), connectivity=4
    )
    outside = np.zeros(count, bool)
    if backdrop is not None:
        back = cv2.resize(backdrop, size, interpolation=cv2.INTER_AREA) > 0.5
        outside = np.bincount(regions[back], minlength=count) > 0
        outside[0] = False  # label 0 is the edges themselves
    foliage = foliage_weight(small.astype(np.float32) * np.float32(1 / 255))
    frame = size[0] * size[1]
    boxes: dict[int, tuple[int, int, int, int]] = {}
    for index in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[index])
        if outside[index] or x == 0 or y == 0 or x + w >= size[0] or y + h >= size[1]:
            continue
        if not MIN_AREA * frame <= area <= MAX_AREA * frame or area < 0.6 * w * h:
            continue
        if not 0.25 <= w / h <= 4.0:
            continue
        inside = regions[y : y + h, x : x + w] == index
        if foliage[y : y + h, x : x + w][inside].mean() > 0.25:
            continue
        if float(grey[y : y + h, x : x + w][inside].std()) > 35:
            continue  # glass is even; stone, leaves and clutter are not
        if _beside_backdrop(regions, index, (x, y, w, h), outside):
            continue
        boxes[index] = (x, y, w, h)
    panes = np.zeros(count, bool)
    panes[_repeated(boxes)] = True
    # Panes of one window, split by glazing bars, join up into one window.
    glass = panes[regions].astype(np.uint8)
    joined = cv2.dilate(glass, np.ones((5, 5), np.uint8))
    kept, labels = cv2.connectedComponents(joined, connectivity=8)
    windows: np.ndarray = labels * glass
    return windows, kept - 1


def _repeated(boxes: dict[int, tuple[int, int, int, int]]) -> list[int]:
    """The regions with a twin: about the same size and in line with it, across or up.

    Facades repeat their windows; a lone even patch (a pilaster, a gap in a roof) is not one.
    """
    keys = list(boxes)
    if not keys:
        return []
    x, y, w, h = (np.array([boxes[k][i] for k in keys], np.float32) for i in range(4))
    cx, cy = x + w / 2, y + h / 2
    similar = (np.abs(np.log(w[:, None] / w[None, :])) < 0.3) & (
        np.abs(np.log(h[:, None] / h[None, :])) < 0.3
    )
    in_row = np.abs(cy[:, None] - cy[None, :]) < 0.3 * h[:, None]
    in_column = np.abs(cx[:, None] - cx[None, :]) < 0.3 * w[:, None]
    twins = similar & (in_row | in_column)
    np.fill_diagonal(twins, False)
    return [key for key, has_twin in zip(keys, twins.any(axis=1), strict=True) if has_twin]


def _beside_backdrop(
    regions: np.ndarray, index: int, box: tuple[int, int, int, int], outside: np.ndarray
) -> bool:
    """Whether the region borders the backdrop: then it is a face of the model, not glass."""
    x, y, w, h = box
    pad = 4
    around = regions[max(0, y - pad) : y + h + pad, max(0, x - pad) : x + w + pad]
    return bool(outside[around[around != index]].any())


def light_windows(
    rgb: np.ndarray,
    source: np.ndarray,
    backdrop: np.ndarray | None,
    share: float,
    rng: np.random.Generator,
) -> None:
    """In place on float32 `rgb`: a seeded `share` of the openings of uint8 `source` glow."""
    if share <= 0:
        return
    labels, count = find_windows(source, backdrop)
    if count == 0:
        return
    lit = rng.random(count) < share
    # Each room its own lamp: brightness and warmth vary a little from window to window.
    warmth = rng.random(count, dtype=np.float32)
    brightness = 0.8 + 0.25 * rng.random(count, dtype=np.float32)
    table = np.zeros((count + 1, 3), np.float32)
    warm, cool = np.array(WARM, np.float32), np.array(COOL, np.float32)
    table[1:] = (cool + (warm - cool) * warmth[:, None]) * brightness[:, None]
    table[1:][~lit] = 0.0
    colour = table[labels]
    mask = (colour.max(axis=-1) > 0).astype(np.float32)
    height, width = rgb.shape[:2]
    colour = cv2.resize(colour, (width, height), interpolation=cv2.INTER_NEAREST)
    mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
    mask = cv2.GaussianBlur(mask, (0, 0), 0.6)
    # Keep some of the glass's own shading (frames, reflections) inside the light.
    detail = 0.7 + 0.3 * smoothstep(0.0, 0.6, luminance(source.astype(np.float32) / 255.0))
    rgb *= 1.0 - mask[..., None]
    rgb += colour * (mask * detail)[..., None]


def outside_at_dusk(rgb: np.ndarray, source: np.ndarray, zenith: RGB, horizon: RGB) -> None:
    """In place, for interiors: the daylit openings (windows seen from inside) turn to the dusk
    or night sky outside, keeping the view's own light and shade, darker.

    Openings are where the softened input is brightest and busy (a view has detail, a sunlit
    wall has not), in the upper part of the frame (a bed sheet or a white floor is not a
    window); the weight follows the brightness smoothly, so there is no hard outline to get
    wrong.
    """
    height, width = source.shape[:2]
    scale = min(1.0, OPENING_EDGE / max(height, width))
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    grey = cv2.cvtColor(cv2.resize(source, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    level: np.ndarray = grey.astype(np.float32)
    # A view has detail (trees, blinds, frames); a sunlit white wall beside it does not.
    mean = cv2.blur(level, (5, 5))
    busy = smoothstep(20.0, 80.0, cv2.blur(level * level, (5, 5)) - mean * mean)
    sigma = max(size) / 150
    busy = cv2.GaussianBlur(busy, (0, 0), 1.5 * sigma)
    level = cv2.GaussianBlur(level, (0, 0), sigma)
    high = max(170.0, float(np.percentile(level, 95)))
    weight = smoothstep(high - 35.0, high - 5.0, level) * smoothstep(0.3, 0.6, busy)
    rows = np.linspace(0.0, 1.0, size[1], dtype=np.float32)[:, None]
    weight *= 1.0 - smoothstep(0.55, 0.8, rows)
    # Only large openings: slivers of bright detail elsewhere stay as they are.
    _, labels, stats, _ = cv2.connectedComponentsWithStats((weight > 0.2).astype(np.uint8))
    large = stats[:, cv2.CC_STAT_AREA] > 0.01 * weight.size
    large[0] = False
    if not large.any():
        return
    weight *= cv2.dilate(large[labels].astype(np.uint8), np.ones((3, 3), np.uint8))
    mask = cv2.resize(weight, (width, height), interpolation=cv2.INTER_LINEAR)
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    top, low = np.array(zenith, np.float32), np.array(horizon, np.float32)
    light = luminance(source.astype(np.float32) * np.float32(1 / 255))[..., None]
    view = (top + (low - top) * rows) * (0.4 + 0.8 * light)
    rgb *= 1.0 - mask[..., None]
    rgb += mask[..., None] * view
