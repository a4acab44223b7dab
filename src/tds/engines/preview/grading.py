"""Colour looks: the grade behind every lighting preset, style and scene type (presets.py).

A `Look` is a per-channel tone curve (exposure, white balance, contrast, shadow depth, fade),
a saturation matrix, split toning and hue-band material grading. Looks combine into one, so a
whole grade is one LUT pass from uint8, one 3×3 transform, one toning pass and one hue pass,
whatever the number of presets involved.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tds.engines.preview.pixels import LUMA, luminance, smoothstep

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class Look:
    exposure: float = 1.0  # linear gain
    gains: RGB = (1.0, 1.0, 1.0)  # white balance: R up / B down is warmer
    contrast: float = 0.0  # S-curve strength in [-0.9, 0.9]; negative flattens
    shadow_depth: float = 0.0  # > 0 deepens the darks, < 0 lifts them
    fade: float = 0.0  # black lift: a soft matte look
    saturation: float = 1.0
    shadow_tint: RGB = (0.0, 0.0, 0.0)  # added in proportion to (1 - luma)²
    highlight_tint: RGB = (0.0, 0.0, 0.0)  # added in proportion to luma²
    greens: float = 0.0  # extra saturation for foliage hues (landscape, tropical)
    # Material grading by hue: timber, brick, terracotta and stone sit in the warm band, glass
    # and steel in the cool one. (saturation change, brightness change) of each, e.g. (0.3, -0.1)
    # is richer and a little darker; (-0.4, 0.1) is bleached, like pale Nordic timber.
    warm_materials: tuple[float, float] = (0.0, 0.0)
    cool_materials: tuple[float, float] = (0.0, 0.0)


NEUTRAL = Look()


def combine(*looks: Look) -> Look:
    """One look with the effect of all: gains multiply, strengths add."""

    def reduce3(tints: list[RGB], multiply: bool) -> RGB:
        values = np.array(tints, np.float64).reshape(-1, 3)
        r, g, b = values.prod(axis=0) if multiply else values.sum(axis=0)
        return float(r), float(g), float(b)

    return Look(
        exposure=float(np.prod([look.exposure for look in looks])),
        gains=reduce3([look.gains for look in looks], multiply=True),
        contrast=float(np.clip(sum(look.contrast for look in looks), -0.9, 0.9)),
        shadow_depth=float(np.clip(sum(look.shadow_depth for look in looks), -0.5, 0.5)),
        fade=min(0.15, sum(look.fade for look in looks)),
        saturation=float(np.prod([look.saturation for look in looks])),
        shadow_tint=reduce3([look.shadow_tint for look in looks], multiply=False),
        highlight_tint=reduce3([look.highlight_tint for look in looks], multiply=False),
        greens=sum(look.greens for look in looks),
        warm_materials=_sum2([look.warm_materials for look in looks]),
        cool_materials=_sum2([look.cool_materials for look in looks]),
    )


def _sum2(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    return sum(p[0] for p in pairs), sum(p[1] for p in pairs)


def tone_curve(x: np.ndarray, look: Look, gain: float) -> np.ndarray:
    """The per-channel curve of `look` on values in [0, 1] (float64 for building tables)."""
    y = x * look.exposure * gain
    # Soft shoulder instead of a hard clip, so brightening keeps some highlight detail.
    y = np.where(y < 0.8, y, 0.8 + 0.2 * np.tanh((y - 0.8) / 0.2))
    # y + k·y(1-y)(2y-1): fixed at 0, ½ and 1, monotonic for |k| ≤ 1.
    y = y + look.contrast * y * (1.0 - y) * (2.0 * y - 1.0)
    # Strongest around y = ⅓: moves the darks without touching black or white.
    y = y - 1.5 * look.shadow_depth * y * (1.0 - y) ** 2
    y = look.fade + (1.0 - look.fade) * y
    return np.clip(y, 0.0, 1.0)


def saturation_matrix(saturation: float) -> np.ndarray:
    """3×3 matrix moving each colour away from (s > 1) or towards (s < 1) its luma."""
    grey = np.repeat(LUMA, 3, axis=0)  # each row: the luma weights
    return (saturation * np.eye(3, dtype=np.float32) + (1.0 - saturation) * grey).astype(np.float32)


def apply_look(rgb: np.ndarray, look: Look) -> np.ndarray:
    """uint8 H×W×3 -> float32 H×W×3 in [0, 1] with the look applied."""
    x = np.arange(256, dtype=np.float64) / 255.0
    table = np.stack([tone_curve(x, look, gain) for gain in look.gains], axis=-1)
    out: np.ndarray = cv2.LUT(rgb, table.reshape(256, 1, 3).astype(np.float32))
    if look.saturation != 1.0:
        out = cv2.transform(out, saturation_matrix(look.saturation))
    if any(look.shadow_tint) or any(look.highlight_tint):
        luma = np.clip(luminance(out), 0.0, 1.0)
        weights = cv2.merge([(1.0 - luma) ** 2, luma * luma])
        tints = np.array([look.shadow_tint, look.highlight_tint], np.float32).T  # 3×2
        out += cv2.transform(weights, tints)
    if look.greens or any(look.warm_materials) or any(look.cool_materials):
        grade_materials(out, look)
    return out


def grade_materials(rgb: np.ndarray, look: Look) -> None:
    """In place: the foliage boost and the warm/cool material grades, from one HSV pass.

    Hue and saturation are read from a uint8 copy and weighted through lookup tables: the
    bands are smooth, so 8-bit hue is plenty, and tables are far cheaper than float maths.
    """
    hsv = cv2.cvtColor(cv2.convertScaleAbs(rgb, alpha=255.0), cv2.COLOR_RGB2HSV_FULL)
    hue, sat = hsv[..., 0], hsv[..., 1]
    degrees = np.arange(256, dtype=np.float32) * np.float32(360 / 256)
    saturate = np.zeros(256, np.float32)
    brighten = np.zeros(256, np.float32)
    if look.greens:
        saturate += _foliage_band(degrees) * np.float32(0.6 * look.greens)
    for band, (more, lighter) in (
        (_warm_band(degrees), look.warm_materials),
        (_cool_band(degrees), look.cool_materials),
    ):
        saturate += band * np.float32(more)
        brighten += band * np.float32(lighter)
    coloured = smoothstep(0.06, 0.2, np.arange(256, dtype=np.float32) / 255)
    weight = cv2.LUT(sat, coloured)
    luma = luminance(rgb)
    chroma = rgb - luma[..., None]
    rgb += chroma * (cv2.LUT(hue, saturate) * weight)[..., None]
    if brighten.any():
        rgb *= 1.0 + (cv2.LUT(hue, brighten) * weight)[..., None]


def _foliage_band(hue: np.ndarray) -> np.ndarray:
    """Yellow-greens to greens: lawns, leaves, planting (H 45°..180°)."""
    return smoothstep(45.0, 75.0, hue) * (1.0 - smoothstep(150.0, 180.0, hue))


def _warm_band(hue: np.ndarray) -> np.ndarray:
    """Reds, oranges and ochres: brick, terracotta, timber, sandstone (H 340°..50°)."""
    band: np.ndarray = np.maximum(1.0 - smoothstep(35.0, 55.0, hue), smoothstep(330.0, 350.0, hue))
    return band


def _cool_band(hue: np.ndarray) -> np.ndarray:
    """Cyans and blues: glazing, steel, water (H 180°..250°)."""
    return smoothstep(170.0, 190.0, hue) * (1.0 - smoothstep(240.0, 260.0, hue))


def foliage_weight(rgb: np.ndarray) -> np.ndarray:
    """H×W float32, 1 on yellow-green to green hues with some saturation (plants, lawns)."""
    hsv: np.ndarray = cv2.cvtColor(np.clip(rgb, 0.0, 1.0), cv2.COLOR_RGB2HSV)  # H in degrees
    hue, sat = hsv[..., 0], hsv[..., 1]
    weight: np.ndarray = _foliage_band(hue) * smoothstep(0.08, 0.25, sat)
    return weight


def boost_greens(rgb: np.ndarray, amount: float) -> None:
    """In place: push foliage further from grey (amount < 0 greys it)."""
    weight = foliage_weight(rgb) * np.float32(0.6 * amount)
    luma = luminance(rgb)
    rgb += (rgb - luma[..., None]) * weight[..., None]
