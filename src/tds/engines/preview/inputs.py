"""What kind of picture came in, when the client did not say: viewport, sketch or photo.

Measured on a small copy: a viewport is mostly flat (shaded faces, a plain backdrop), a sketch
is flat too but almost only paper and ink with no colour, a photo is textured everywhere.
"""

from __future__ import annotations

import cv2
import numpy as np

from tds.catalogue import find_input_type

ANALYSIS_EDGE = 256
FLAT_SHARE = 0.6  # share of near-constant pixels above which a picture is drawn, not shot


def classify(rgb: np.ndarray) -> str:
    """'viewport', 'sketch' or 'photo' for a uint8 RGB image."""
    height, width = rgb.shape[:2]
    scale = min(1.0, ANALYSIS_EDGE / max(height, width))
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    saturation = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)[..., 1]
    level = grey.astype(np.float32)
    gradient = cv2.magnitude(
        cv2.Sobel(level, cv2.CV_32F, 1, 0, ksize=3, scale=0.125),
        cv2.Sobel(level, cv2.CV_32F, 0, 1, ksize=3, scale=0.125),
    )
    flat = float((gradient < 1.0).mean())
    if flat < FLAT_SHARE:
        return "photo"
    paper = float(((grey > 200) & (saturation < 30)).mean())
    middle = float(((grey >= 80) & (grey <= 200)).mean())
    if paper > 0.5 and middle < 0.1 and float(saturation.mean()) < 25:
        return "sketch"
    return "viewport"


def input_type(declared: str | None, rgb: np.ndarray) -> str:
    """The client's input type when it is a known one, else the measured one."""
    option = find_input_type(declared) if declared else None
    return option.id if option else classify(rgb)
