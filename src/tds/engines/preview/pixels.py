"""Array helpers shared by the preview pipelines: PIL <-> NumPy, sizes, resizing, luminance."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

Size = tuple[int, int]  # (width, height), as PIL and cv2.resize take it

# Rec. 709 luma weights, as a 1×3 matrix for cv2.transform (one pass, no temporaries).
LUMA = np.array([[0.2126, 0.7152, 0.0722]], np.float32)

# The colour and filtering work runs at most at this long edge; a 4k output is upscaled from it
# and the source's finer detail is put back afterwards (finish.py). Keeps memory and time bounded.
WORK_CAP = 2048


def to_array(image: Image.Image) -> np.ndarray:
    """H×W×3 uint8 RGB (read-only view when the image is already RGB)."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image)


def to_image(array: np.ndarray) -> Image.Image:
    return Image.fromarray(np.ascontiguousarray(array))


def size_of(array: np.ndarray) -> Size:
    return array.shape[1], array.shape[0]


def resize(array: np.ndarray, size: Size, enlarge: int = cv2.INTER_LANCZOS4) -> np.ndarray:
    """Area averaging when shrinking (no aliasing), `enlarge` (Lanczos-4: crisp) when growing."""
    if size_of(array) == size:
        return array
    src_w, src_h = size_of(array)
    shrinking = size[0] * size[1] < src_w * src_h
    interpolation = cv2.INTER_AREA if shrinking else enlarge
    return cv2.resize(array, size, interpolation=interpolation)


def upscale_steps(array: np.ndarray, size: Size) -> np.ndarray:
    """Lanczos in ×2 steps: each step stays within the kernel's sweet spot, so edges ring less."""
    while array.shape[1] * 2 < size[0] and array.shape[0] * 2 < size[1]:
        array = cv2.resize(
            array, (array.shape[1] * 2, array.shape[0] * 2), interpolation=cv2.INTER_LANCZOS4
        )
    return resize(array, size)


def work_size(source: Size, target: Size, cap: int = WORK_CAP) -> Size:
    """The target's aspect at no more pixels than the source has and no longer edge than `cap`.

    Working above the source's resolution only costs time: the pixels carry no new information,
    so the pipelines grade at this size and upscale once at the end.
    """
    scale = min(
        1.0,
        ((source[0] * source[1]) / (target[0] * target[1])) ** 0.5,
        cap / max(target),
    )
    size = max(2, round(target[0] * scale)), max(2, round(target[1] * scale))
    if all(abs(a - b) <= 0.01 * b + 1 for a, b in zip(size, source, strict=True)):
        # Within a pixel or so of the source: resampling would only blur it. The last
        # resize to the target absorbs the hair of aspect difference.
        return source
    return size


def luminance(rgb: np.ndarray) -> np.ndarray:
    """H×W float32 luma of an H×W×3 float32 image."""
    return cv2.transform(rgb, LUMA)


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """0 below edge0, 1 above edge1, a smooth S between (in place on one temporary)."""
    t = np.subtract(x, np.float32(edge0), dtype=np.float32)
    t *= np.float32(1.0 / (edge1 - edge0))
    np.clip(t, 0.0, 1.0, out=t)
    s: np.ndarray = t * np.float32(-2.0)
    s += np.float32(3.0)
    s *= t
    s *= t
    return s


def to_u8(rgb: np.ndarray) -> np.ndarray:
    """float32 in [0, 1] -> uint8, rounded."""
    out: np.ndarray = cv2.convertScaleAbs(np.clip(rgb, 0.0, 1.0), alpha=255.0)
    return out


def to_float(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) * np.float32(1.0 / 255.0)
