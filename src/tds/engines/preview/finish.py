"""The last, full-size steps: upscale to the exact target, restore source detail, add grain.

Everything before runs at the working size (pixels.work_size); this is the only code that
touches the full output, and it goes in strips so a 4096² output needs no float copy of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tds.engines.preview.pixels import Size, resize

STRIP_ROWS = 256


@dataclass(frozen=True)
class Detail:
    """A source with more pixels than the working copy that was graded.

    The graded result gets the source's fine detail back as a ratio (source / its own
    working-size copy), so the detail follows the grade: dark in a night render, too.
    """

    source: np.ndarray  # uint8 RGB, the original input
    work: np.ndarray  # uint8 RGB, the working-size copy the grade started from
    keep: np.ndarray | None = None  # float32 work-size weight, 0 where detail must not return


def finish(
    work: np.ndarray,
    size: Size,
    *,
    detail: Detail | None = None,
    grain: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """uint8 RGB at exactly `size`."""
    out = resize(work, size).copy()
    if detail is None and grain <= 0:
        return out
    source = up = keep = None
    if detail is not None:
        source = resize(detail.source, size)
        up = resize(detail.work, size)
        if detail.keep is not None:
            keep = cv2.resize(detail.keep, size, interpolation=cv2.INTER_LINEAR)
    height, width = out.shape[:2]
    for y0 in range(0, height, STRIP_ROWS):
        y1 = min(height, y0 + STRIP_ROWS)
        strip = out[y0:y1].astype(np.float32)
        if source is not None and up is not None:
            ratio = (source[y0:y1].astype(np.float32) + 8.0) / (up[y0:y1].astype(np.float32) + 8.0)
            np.clip(ratio, 0.6, 1.6, out=ratio)
            if keep is not None:
                ratio -= 1.0
                ratio *= keep[y0:y1, :, None]
                ratio += 1.0
            strip *= ratio
        if grain > 0 and rng is not None:
            # Monochrome grain: one value per pixel for all channels, like film, not colour noise.
            noise = rng.standard_normal((y1 - y0, width), dtype=np.float32)
            strip += (noise * np.float32(grain))[..., None]
        np.clip(strip, 0.0, 255.0, out=strip)
        out[y0:y1] = cv2.convertScaleAbs(strip)
    return out
