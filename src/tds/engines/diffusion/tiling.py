"""Where a model draws: working sizes and the overlapping tiles of a tiled upscale."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


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
