"""PIL images to and from uint8 RGB arrays, and resizing that never aliases."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image


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


def quick_resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """For what goes to a hosted model and what comes back: OpenCV's bicubic when enlarging
    and area average when shrinking, about twice as fast as Pillow's and several times Lanczos
    at 2k and 4k; the model's own pixels are the detail that matters."""
    if image.size == size:
        return image
    shrink = size[0] < image.width and size[1] < image.height
    method = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    return Image.fromarray(cv2.resize(np.asarray(image.convert("RGB")), size, interpolation=method))
