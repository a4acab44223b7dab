"""Find the sky (the flat, bright background touching the top border) and paint a new one.

A viewport's backdrop often wraps round the model to the bottom border: above the model's
base it becomes sky, below it ground (paint_ground), so the model stands on something.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tds.engines.preview.clouds import clouds as cloud_layer
from tds.engines.preview.pixels import smoothstep
from tds.engines.preview.presets import Sky

ANALYSIS_EDGE = 320  # segmentation runs on a small copy: sky is a large, smooth region
REFINE_EDGE = 768  # the mask is grown to the image's edges at up to this size
GROW_DISTANCE = 14.0  # Lab (8-bit) distance from the nearby sky a grown pixel may have
FLAT = 3.0  # max luma gradient (8-bit levels per analysis pixel) inside the sky
MIN_L = 90  # Lab L (0..255) below which a region is too dark to be daytime sky or a backdrop
REACH = 0.04  # how far from the open sky gaps in tree crowns are looked for (× long edge)
BUSY_VARIANCE = 150.0  # local Lab-L variance (8-bit units) of a tree crown, not of a wall
GAP_DISTANCE = 10.0  # Lab distance to the nearby sky of a gap between leaves
SKY_EDGE = 384  # the new sky is painted at most this wide, then enlarged
STEP = (5, 3, 3)  # flood fill: max Lab difference between neighbours, so gradients pass


@dataclass(frozen=True)
class Backdrop:
    sky: np.ndarray  # H×W float32 in [0, 1]
    ground: np.ndarray | None = None  # the backdrop below the model's base, when it wraps


def find_sky(rgb: np.ndarray) -> np.ndarray | None:
    """H×W float32 mask in [0, 1] of the sky of a uint8 RGB image, or None if it has none."""
    backdrop = find_backdrop(rgb)
    return None if backdrop is None else backdrop.sky


def find_backdrop(rgb: np.ndarray) -> Backdrop | None:
    """The sky (and ground) of a uint8 RGB image, or None if it has no sky to replace.

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
    ground = None
    if base is not None:
        # Feathered cut a little below the subject's base (in full-size rows).
        rows = (np.arange(height, dtype=np.float32) + 0.5) / height * region.shape[0]
        below = smoothstep(base + 0.5, base + 1.5, rows)[:, None]
        ground = mask * below
        mask *= 1.0 - below
    if mask.mean() <= 0.01:
        return None
    return Backdrop(sky=mask, ground=ground)


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
    full_size = size
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    coarse: np.ndarray = cv2.resize(region.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    steps = max(3, round(5 * max(size) / max(region.shape)))
    sigma = float(steps)
    reach = max(3.0, REACH * max(size))
    # Only the band down to the sky's lowest row (and as far as the mask can grow) is worked.
    rows = np.flatnonzero(coarse.any(axis=1))
    band = min(size[1], int(rows[-1]) + 1 + steps + int(reach) + 8) if rows.size else size[1]
    small, coarse = small[:band], coarse[:band]
    size = (size[0], band)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2Lab).astype(np.float32)
    local, weight = _masked_mean(lab, coarse, sigma)
    close = ((_distance2(lab, local) < GROW_DISTANCE**2) & (weight > 0.02)).astype(np.uint8)
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    grown: np.ndarray = coarse
    for _ in range(steps):
        grown = grown | np.bitwise_and(cv2.dilate(grown, cross), close)
    grown |= _gaps_in_foliage(grown, lab, reach)
    mask: np.ndarray = grown.astype(np.float32) + _edge_alpha(grown, lab[..., 0], local[..., 0])
    mask = cv2.GaussianBlur(mask, (0, 0), 0.5)
    if band < full_size[1]:
        mask = np.vstack([mask, np.zeros((full_size[1] - band, full_size[0]), np.float32)])
    if full_size != (width, height):
        mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
    return mask


def _masked_mean(lab: np.ndarray, mask: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """(the colour of the masked pixels nearby, their share nearby): a normalised Gaussian blur.

    Wide blurs are smooth, so they run on a copy reduced to about two pixels per sigma, and
    the mean is taken there before enlarging (where the share is tiny the mean is not used).
    """
    height, width = mask.shape
    factor = max(1.0, sigma / 2.0)
    small = (max(4, round(width / factor)), max(4, round(height / factor)))
    weight: np.ndarray = mask.astype(np.float32)
    total: np.ndarray = cv2.multiply(lab, cv2.merge([weight, weight, weight]))
    if factor > 1:
        weight = cv2.resize(weight, small, interpolation=cv2.INTER_AREA)
        total = cv2.resize(total, small, interpolation=cv2.INTER_AREA)
    weight = cv2.GaussianBlur(weight, (0, 0), sigma / factor)
    total = cv2.GaussianBlur(total, (0, 0), sigma / factor)
    share = np.maximum(weight, 1e-3)
    mean: np.ndarray = cv2.divide(total, cv2.merge([share, share, share]))
    if factor > 1:
        weight = cv2.resize(weight, (width, height), interpolation=cv2.INTER_LINEAR)
        mean = cv2.resize(mean, (width, height), interpolation=cv2.INTER_LINEAR)
    return mean, weight


def _distance2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared colour distance per pixel of two H×W×3 float32 images."""
    difference = a - b
    difference *= difference
    return cv2.transform(difference, np.ones((1, 3), np.float32))


def _gaps_in_foliage(grown: np.ndarray, lab: np.ndarray, reach: float) -> np.ndarray:
    """Sky seen through tree crowns near the sky: isolated, so the fill never reached it.

    Only small pale spots in busy neighbourhoods (high local variance), so a flat wall as pale
    as the sky next to it is never taken for sky.
    """
    near = cv2.distanceTransform(1 - grown, cv2.DIST_L2, 3) < reach
    sky, weight = _masked_mean(lab, grown, reach / 2)
    lightness = lab[..., 0]
    mean = cv2.blur(lightness, (7, 7))
    variance = cv2.blur(lightness * lightness, (7, 7)) - mean * mean
    similar = (_distance2(lab, sky) < GAP_DISTANCE**2).astype(np.float32)
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


def paint_sky(
    rgb: np.ndarray, mask: np.ndarray, sky: Sky, rng: np.random.Generator, clouds: float = 1.0
) -> None:
    """In place: a zenith-to-horizon gradient, a low sun's glow, seeded clouds (`clouds` scales
    their opacity) and stars at night, where mask is 1."""
    rows_with_sky = np.flatnonzero(mask.max(axis=1) > 0.01)
    if rows_with_sky.size == 0:
        return
    bottom = int(rows_with_sky[-1]) + 1
    width = rgb.shape[1]
    # A sky has no detail finer than its clouds' edges: painted small, then enlarged.
    scale = min(1.0, SKY_EDGE / width)
    size = (max(4, round(width * scale)), max(2, round(bottom * scale)))
    colour = _sky_colour(size, sky, rng, clouds)
    if size != (width, bottom):
        colour = cv2.resize(colour, (width, bottom), interpolation=cv2.INTER_LINEAR)
    if sky.stars:
        _stars(colour, rng)
    weight = mask[:bottom, :, None]
    top = rgb[:bottom]
    top *= 1.0 - weight
    top += weight * colour


def _sky_colour(
    size: tuple[int, int], sky: Sky, rng: np.random.Generator, opacity: float
) -> np.ndarray:
    width, bottom = size
    # The gradient reaches the horizon colour at the lowest sky row, whatever the framing.
    t = np.clip(np.arange(bottom, dtype=np.float32) / max(1, bottom - 1), 0.0, 1.0) ** 0.8
    zenith = np.array(sky.zenith, np.float32)
    horizon = np.array(sky.horizon, np.float32)
    band = (zenith + (horizon - zenith) * t[:, None])[:, None, :]  # rows × 1 × 3
    colour = np.repeat(band, width, axis=1)
    sun = np.array(sky.sun, np.float32)
    glow = None
    if sun.any():
        xs = (np.arange(width, dtype=np.float32) / width - 0.72) ** 2
        ys = (1.0 - t) ** 2
        glow = np.exp(-(xs[None, :] + ys[:, None]) / np.float32(0.08)) * np.float32(0.45)
        colour += glow[..., None] * (sun - band)
    if sky.clouds > 0 and opacity > 0:
        density, light = cloud_layer((width, bottom), sky.clouds, rng)
        shade = np.array(sky.cloud_shade, np.float32)
        cloud = shade + (np.array(sky.cloud, np.float32) - shade) * light[..., None]
        if glow is not None:
            cloud += glow[..., None] * (sun - cloud) * np.float32(0.8)  # rims lit by the sun
        density *= np.float32(0.92 * opacity)
        colour += density[..., None] * (cloud - colour)
    return colour


def _stars(colour: np.ndarray, rng: np.random.Generator) -> None:
    """A few faint points, fewer towards the horizon (haze), none on the clouds' brighter parts."""
    height, width = colour.shape[:2]
    count = int(height * width * 0.0004)
    ys = (rng.random(count) ** 1.6 * height).astype(np.intp)
    xs = (rng.random(count) * width).astype(np.intp)
    shine = (0.15 + 0.45 * rng.random(count) ** 3).astype(np.float32)
    dark = colour[ys, xs].max(axis=-1) < 0.12
    colour[ys[dark], xs[dark]] += shine[dark, None]


def paint_ground(rgb: np.ndarray, mask: np.ndarray) -> None:
    """In place on uint8 RGB: the backdrop under a floating model becomes a floor that darkens
    towards the viewer, in a neutral warm grey that the grade then lights."""
    rows = np.flatnonzero(mask.max(axis=1) > 0.01)
    if rows.size == 0:
        return
    top = int(rows[0])
    height = rgb.shape[0]
    t = np.linspace(0.0, 1.0, height - top, dtype=np.float32)[:, None, None]
    floor = np.array([196.0, 190.0, 178.0], np.float32) * (0.98 - 0.2 * t)
    weight = mask[top:, :, None]
    part = rgb[top:].astype(np.float32)
    part += weight * (floor - part)
    rgb[top:] = np.clip(part, 0.0, 255.0).astype(np.uint8)
