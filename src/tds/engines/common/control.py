"""Control images with OpenCV (no annotator weights): Canny edges and LSD straight lines, what
a ControlNet (diffusion) or a hosted edge-conditioned model (remote) is guided by."""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from tds.engines.base import Job
from tds.engines.common.images import to_array, to_image


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
