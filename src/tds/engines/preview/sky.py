"""Find the sky (the flat, bright background touching the top border) and paint a new one."""

from __future__ import annotations

import cv2
import numpy as np

from tds.engines.preview.grading import Sky
from tds.engines.preview.pixels import smoothstep

ANALYSIS_EDGE = 320  # segmentation runs on a small copy: sky is a large, smooth region
REFINE_EDGE = 1024  # the mask is grown to the image's edges at up to this size
GROW_DISTANCE = 14.0  # Lab (8-bit) distance from the nearby sky a grown pixel may have
FLAT = 3.0  # max luma gradient (8-bit levels per analysis pixel) inside the sky
MIN_L = 90  # Lab L (0..255) below which a region is too dark to be daytime sky or a backdrop
REACH = 0.04  # how far from the open sky gaps in tree crowns are looked for (× long edge)
BUSY_VARIANCE = 150.0  # local Lab-L variance (8-bit units) of a tree crown, not of a wall
GAP_DISTANCE = 10.0  # Lab distance to the nearby sky of a gap between leaves
STEP = (5, 3, 3)  # flood fill: max Lab difference between neighbours, so gradients pass


def find_sky(rgb: np.ndarray) -> np.ndarray | None:
    """H×W float32 mask in [0, 1] of the sky of a uint8 RGB image, or None if it has none.

    The region is grown by flood fill from the top border through pixels that are flat (low
    gradient), bright and close in colour to their neighbours; texture and edges stop it.
    """
    height, width = rgb.shape[:2]
    scale = min(1.0, ANALYSIS_EDGE / max(height, width))
    small_size = (max(8, round(width * scale)), max(8, round(height * scale)))
    small = cv2.resize(rgb, small_size, interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(cv2.GaussianBlur(small, (0, 0), 0.8), cv2.COLOR_RGB2Lab)
    region = _grow_from_top(lab)
    if region is None:
        return None
    base = _subject_base(region)
    mask = _refine(region, rgb)
    if base is not None:
        # Feathered cut a little below the subject's base (in full-size rows).
        rows = (np.arange(height, dtype=np.float32) + 0.5) / height * region.shape[0]
        mask *= (1.0 - smoothstep(base + 0.5, base + 1.5, rows))[:, None]
    return mask if mask.mean() > 0.01 else None


def _grow_from_top(lab: np.ndarray) -> np.ndarray | None:
    h, w = lab.shape[:2]
    lightness = lab[..., 0].astype(np.float32)
    gradient = cv2.magnitude(
        cv2.Sobel(lightness, cv2.CV_32F, 1, 0, ksize=3, scale=0.125),
        cv2.Sobel(lightness, cv2.CV_32F, 0, 1, ksize=3, scale=0.125),
    )
    # Dilate the texture so one-pixel gaps in an outline do not let the fill leak through.
    texture = cv2.dilate(gradient, np.ones((3, 3), np.uint8))
    candidate = (texture < FLAT) & (lightness > MIN_L)
    if candidate[0].mean() < 0.2:
        return None  # the top border is mostly busy or dark: no sky to replace

    barrier = np.ones((h + 2, w + 2), np.uint8)  # floodFill never crosses non-zero mask pixels
    barrier[1:-1, 1:-1] = ~candidate
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | (2 << 8)  # filled pixels become 2
    for x in np.flatnonzero(candidate[0]):
        if barrier[1, x + 1] == 0:
            cv2.floodFill(lab, barrier, (int(x), 0), 0, STEP, STEP, flags)
    region = barrier[1:-1, 1:-1] == 2

    area = region.mean()
    if area < 0.02 or area > 0.92:
        return None  # a sliver, or a blank image: nothing to segment
    return _fill_small_holes(region)


def _fill_small_holes(region: np.ndarray) -> np.ndarray:
    """Birds, wires and specks inside the sky become sky; large enclosed areas stay."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        (~region).astype(np.uint8), connectivity=4
    )
    h, w = region.shape
    small = np.zeros(count, bool)
    for index in range(1, count):
        x, y, bw, bh, area = stats[index]
        inside = x > 0 and y > 0 and x + bw < w and y + bh < h
        small[index] = inside and area < 0.005 * h * w
    filled: np.ndarray = region | small[labels]
    return filled


def _subject_base(region: np.ndarray) -> int | None:
    """The subject's lowest row when the backdrop wraps round it to the bottom border.

    Viewport captures float the model on a plain background: above the model's base it reads
    as sky, below it as ground, so the original background is kept there. None: no cut.
    """
    if region[-1].mean() < 0.05:
        return None
    subject_rows = np.flatnonzero((~region).mean(axis=1) > 0.02)
    return int(subject_rows[-1]) if subject_rows.size else None


def _refine(region: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Upsample the coarse mask and grow it up to the subject's outline.

    The coarse region stops a few pixels short of every edge (the texture test is blurred and
    dilated), which would leave a rim of the old sky. It is grown, one pixel at a time, into
    pixels whose colour is close to the nearby sky, so it stops at the first real edge.
    """
    height, width = rgb.shape[:2]
    scale = min(1.0, REFINE_EDGE / max(height, width))
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2Lab).astype(np.float32)
    coarse: np.ndarray = cv2.resize(region.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    steps = max(2, round(3 * max(size) / max(region.shape)))
    sigma = float(steps)
    # The sky's local colour: a normalised blur of the sky pixels alone.
    weight = cv2.GaussianBlur(coarse.astype(np.float32), (0, 0), sigma)
    local: np.ndarray = cv2.GaussianBlur(lab * coarse[..., None], (0, 0), sigma)
    local /= np.maximum(weight, 1e-3)[..., None]
    distance = np.linalg.norm(lab - local, axis=-1)
    close = ((distance < GROW_DISTANCE) & (weight > 0.02)).astype(np.uint8)
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    grown = coarse
    for _ in range(steps):
        grown = grown | (cv2.dilate(grown, cross) & close)
    grown |= _gaps_in_foliage(grown, lab)
    mask: np.ndarray = grown.astype(np.float32) + _edge_alpha(grown, lab[..., 0], local[..., 0])
    mask = cv2.GaussianBlur(mask, (0, 0), 0.5)
    if size != (width, height):
        mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
    return mask


def _gaps_in_foliage(grown: np.ndarray, lab: np.ndarray) -> np.ndarray:
    """Sky seen through tree crowns near the sky: isolated, so the fill never reached it.

    Only small pale spots in busy neighbourhoods (high local variance), so a flat wall as pale
    as the sky next to it is never taken for sky.
    """
    reach = max(3.0, REACH * max(grown.shape))
    near = cv2.distanceTransform(1 - grown, cv2.DIST_L2, 3) < reach
    weight = cv2.GaussianBlur(grown.astype(np.float32), (0, 0), reach / 2)
    sky: np.ndarray = cv2.GaussianBlur(lab * grown[..., None], (0, 0), reach / 2)
    sky /= np.maximum(weight, 1e-3)[..., None]
    lightness = lab[..., 0]
    mean = cv2.blur(lightness, (7, 7))
    variance = cv2.blur(lightness * lightness, (7, 7)) - mean * mean
    similar = (np.linalg.norm(lab - sky, axis=-1) < GAP_DISTANCE).astype(np.float32)
    # Gaps are small: most of their surroundings are leaves. The inside edge of a large pale
    # area next to a dark line is busy too, but mostly pale around.
    sparse = cv2.blur(similar, (15, 15)) < 0.5
    gaps: np.ndarray = near & (weight > 0.01) & (variance > BUSY_VARIANCE) & sparse & (similar > 0)
    return gaps.astype(np.uint8)


def _edge_alpha(grown: np.ndarray, lightness: np.ndarray, sky: np.ndarray) -> np.ndarray:
    """Partial sky cover for the thin ring just outside the grown mask.

    Those pixels mix the sky and the outline next to them (anti-aliasing); unmixing their
    lightness against the darkest or brightest neighbour gives the sky's share, so no rim of
    the old background is left along the lines of a viewport capture.
    """
    square = np.ones((5, 5), np.uint8)  # a two-pixel ring: soft outlines blend over two
    ring = (cv2.dilate(grown, square) & (1 - grown)).astype(bool)
    darkest = cv2.erode(lightness, square)
    brightest = cv2.dilate(lightness, square)
    below, above = sky - darkest, brightest - sky
    share: np.ndarray = np.where(
        below >= above,
        (lightness - darkest) / np.maximum(below, 1.0),
        (brightest - lightness) / np.maximum(above, 1.0),
    )
    share = np.clip(share, 0.0, 1.0) * (np.maximum(below, above) > 20.0)
    alpha: np.ndarray = (share * ring).astype(np.float32)
    return alpha


def paint_sky(rgb: np.ndarray, mask: np.ndarray, sky: Sky) -> None:
    """In place: a vertical zenith-to-horizon gradient (plus a low sun glow) where mask is 1."""
    rows_with_sky = np.flatnonzero(mask.max(axis=1) > 0.01)
    if rows_with_sky.size == 0:
        return
    bottom = int(rows_with_sky[-1]) + 1
    width = rgb.shape[1]
    # The gradient reaches the horizon colour at the lowest sky row, whatever the framing.
    t = np.clip(np.arange(bottom, dtype=np.float32) / max(1, bottom - 1), 0.0, 1.0) ** 0.8
    zenith = np.array(sky.zenith, np.float32)
    horizon = np.array(sky.horizon, np.float32)
    band = (zenith + (horizon - zenith) * t[:, None])[:, None, :]  # rows × 1 × 3
    colour = np.broadcast_to(band, (bottom, width, 3))
    if any(sky.sun):
        xs = (np.arange(width, dtype=np.float32) / width - 0.72) ** 2
        ys = (1.0 - t) ** 2
        glow = np.exp(-(xs[None, :] + ys[:, None]) / np.float32(0.08)) * np.float32(0.45)
        colour = colour + glow[..., None] * (np.array(sky.sun, np.float32) - band)
    weight = mask[:bottom, :, None]
    top = rgb[:bottom]
    top *= 1.0 - weight
    top += weight * colour
