"""Control images and masks with OpenCV (no annotator weights): Canny edges, LSD straight
lines, the staging mask, working sizes and the tiles of a tiled upscale."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from tds.engines.base import Job


def to_array(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def to_image(array: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(array.astype(np.uint8)), "RGB")


def resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    shrink = size[0] < image.size[0] and size[1] < image.size[1]
    method = Image.Resampling.BOX if shrink else Image.Resampling.LANCZOS
    return image.convert("RGB").resize(size, method)


def canny(image: Image.Image) -> Image.Image:
    """White edges on black; thresholds follow the image's median grey (the usual ±33 %)."""
    grey = cv2.cvtColor(to_array(image), cv2.COLOR_RGB2GRAY)
    grey = cv2.GaussianBlur(grey, (0, 0), 1.0)
    median = float(np.median(grey))
    low, high = max(10.0, 0.66 * median), min(250.0, max(40.0, 1.33 * median))
    edges = cv2.Canny(grey, low, high)
    return to_image(np.repeat(edges[..., None], 3, axis=2))


def lines(image: Image.Image) -> Image.Image:
    """White straight segments on black (LSD, OpenCV's MLSD stand-in): what a sketch or a
    viewport means by its walls and openings, without hatching, texture or noise."""
    rgb = to_array(image)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    height, width = grey.shape
    canvas = np.zeros((height, width), np.uint8)
    found = cv2.createLineSegmentDetector().detect(grey)[0]
    shortest = 0.02 * math.hypot(width, height)
    thickness = max(1, round(max(width, height) / 512))
    if found is not None:
        for x1, y1, x2, y2 in found.reshape(-1, 4):
            if math.hypot(x2 - x1, y2 - y1) >= shortest:
                start = (round(float(x1)), round(float(y1)))
                end = (round(float(x2)), round(float(y2)))
                cv2.line(canvas, start, end, 255, thickness, cv2.LINE_AA)
    return to_image(np.repeat(canvas[..., None], 3, axis=2))


def control_image(job: Job, image: Image.Image, mode: str) -> Image.Image:
    """The ControlNet image for a render: straight lines for sketches (mode "auto") or when
    asked, Canny edges otherwise."""
    if mode == "lines" or (mode == "auto" and job.input_type == "sketch"):
        return lines(image)
    return canny(image)


def staging_mask(image: Image.Image) -> Image.Image:
    """Where furniture may go, white on black: the floor and the open space above it.

    The floor is the region joined to the bottom edge in a smoothed copy of the room (a
    flood fill from the bottom row), widened upwards by furniture height (a third of the
    image). Bright window panes and a frame along the top stay black, so walls, windows
    and ceiling are kept. Falls back to the lower 45 % when no floor region is found.
    """
    rgb = to_array(image)
    height, width = rgb.shape[:2]
    smooth = cv2.bilateralFilter(rgb, 9, 40, 9)
    lab = cv2.cvtColor(smooth, cv2.COLOR_RGB2LAB)
    floor = np.zeros((height + 2, width + 2), np.uint8)
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (255 << 8)
    for x in np.linspace(width * 0.2, width * 0.8, 5):
        seed = (int(x), height - 1)
        if floor[seed[1] + 1, seed[0] + 1] == 0:
            cv2.floodFill(lab.copy(), floor, seed, (0, 0, 0), (9, 6, 6), (9, 6, 6), flags)
    mask = floor[1:-1, 1:-1]
    if mask.mean() < 255 * 0.05:
        mask = np.zeros((height, width), np.uint8)
        mask[int(height * 0.55) :] = 255
    # Furniture stands on the floor: widen upwards (kernel anchored at its top row: a pixel
    # joins when floor lies below it within `lift`).
    lift = max(3, height // 3)
    kernel = np.ones((lift, 1), np.uint8)
    mask = cv2.dilate(mask, kernel, anchor=(0, 0))
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    windows = grey >= max(235.0, float(np.percentile(grey, 97)))
    mask[windows] = 0
    mask[: max(1, height // 6)] = 0  # ceiling band
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    return Image.fromarray(mask, "L")


def feather(mask: Image.Image, radius: float) -> np.ndarray:
    """A mask as weights in [0, 1] with soft edges (for pasting the original back)."""
    weights: np.ndarray = np.asarray(mask, np.float32) / 255.0
    if radius > 0:
        weights = cv2.GaussianBlur(weights, (0, 0), radius)
    clipped: np.ndarray = np.clip(weights, 0.0, 1.0)
    return clipped


def work_size(width: int, height: int, area: int, multiple: int) -> tuple[int, int]:
    """A size with the target's aspect ratio, no larger than `area` pixels (nor than the
    target itself), both sides multiples of `multiple`: what the model runs at."""
    scale = min(1.0, math.sqrt(area / max(1, width * height)))

    def side(value: float) -> int:
        return max(multiple, int(value * scale + 1e-6) // multiple * multiple)

    return side(width), side(height)


def round_up(value: int, multiple: int) -> int:
    return max(multiple, -(-value // multiple) * multiple)


@dataclass(frozen=True)
class Tile:
    x: int
    y: int
    width: int
    height: int

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.x + self.width, self.y + self.height)


def tiles(width: int, height: int, tile: int, overlap: int) -> list[Tile]:
    """Overlapping tiles covering width × height; none larger than tile × tile."""

    def starts(length: int) -> list[int]:
        if length <= tile:
            return [0]
        count = math.ceil((length - overlap) / (tile - overlap))
        step = (length - tile) / (count - 1)
        return [round(i * step) for i in range(count)]

    size_x, size_y = min(tile, width), min(tile, height)
    return [Tile(x, y, size_x, size_y) for y in starts(height) for x in starts(width)]


def tile_weights(tile: Tile, width: int, height: int, overlap: int) -> np.ndarray:
    """Blend weights for one tile: a linear ramp over the overlap on every inner edge."""
    ramp_x = np.ones(tile.width, np.float32)
    ramp_y = np.ones(tile.height, np.float32)
    if overlap > 0:
        fade = (np.arange(overlap, dtype=np.float32) + 1.0) / (overlap + 1.0)
        n_x, n_y = min(overlap, tile.width), min(overlap, tile.height)
        if tile.x > 0:
            ramp_x[:n_x] = fade[:n_x]
        if tile.x + tile.width < width:
            ramp_x[-n_x:] = np.minimum(ramp_x[-n_x:], fade[:n_x][::-1])
        if tile.y > 0:
            ramp_y[:n_y] = fade[:n_y]
        if tile.y + tile.height < height:
            ramp_y[-n_y:] = np.minimum(ramp_y[-n_y:], fade[:n_y][::-1])
    weights: np.ndarray = ramp_y[:, None] * ramp_x[None, :]
    return weights
