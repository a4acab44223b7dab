"""The staging mask (where furniture may go) and soft-edged weights for pasting back: what
the diffusion and stability engines share for staging."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from tds.engines.common.images import to_array


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
