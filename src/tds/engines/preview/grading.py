"""Colour looks for lighting presets, styles and scene types, and the effects that go with them.

A `Look` is a per-channel tone curve (exposure, white balance, contrast, shadow depth, fade),
a saturation matrix and split toning. Looks combine into one, so a whole grade is one LUT pass
from uint8, one 3×3 transform and one toning pass, whatever the number of presets involved.
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
    )


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
    if look.greens:
        boost_greens(out, look.greens)
    return out


def foliage_weight(rgb: np.ndarray) -> np.ndarray:
    """H×W float32, 1 on yellow-green to green hues with some saturation (plants, lawns)."""
    hsv: np.ndarray = cv2.cvtColor(np.clip(rgb, 0.0, 1.0), cv2.COLOR_RGB2HSV)  # H in degrees
    hue, sat = hsv[..., 0], hsv[..., 1]
    band = smoothstep(45.0, 75.0, hue) * (1.0 - smoothstep(150.0, 180.0, hue))
    weight: np.ndarray = band * smoothstep(0.08, 0.25, sat)
    return weight


def boost_greens(rgb: np.ndarray, amount: float) -> None:
    """In place: push foliage further from grey (amount < 0 greys it)."""
    weight = foliage_weight(rgb) * np.float32(0.6 * amount)
    luma = luminance(rgb)
    rgb += (rgb - luma[..., None]) * weight[..., None]


# --- Lighting -------------------------------------------------------------------------


@dataclass(frozen=True)
class Sky:
    zenith: RGB  # colour at the top of the frame
    horizon: RGB  # colour where the sky meets the buildings
    sun: RGB = (0.0, 0.0, 0.0)  # a warm glow low on one side for low-sun presets


@dataclass(frozen=True)
class Lighting:
    look: Look
    sky: Sky
    vignette: float = 0.12  # darkening at the corners, 0..1
    glow: float = 0.0  # how strongly bright window-like regions light up (night, blue hour)
    grain: float = 1.5  # grain sigma in 8-bit levels


DEFAULT_LIGHTING = Lighting(
    look=NEUTRAL,
    sky=Sky(zenith=(0.36, 0.56, 0.86), horizon=(0.80, 0.87, 0.94)),
)

LIGHTING: dict[str, Lighting] = {
    "sunrise": Lighting(
        look=Look(
            exposure=0.96,
            gains=(1.08, 0.98, 0.93),
            contrast=-0.05,
            saturation=1.05,
            highlight_tint=(0.04, 0.0, 0.02),  # pink highlights
            shadow_tint=(0.0, 0.0, 0.02),
        ),
        sky=Sky(zenith=(0.42, 0.52, 0.78), horizon=(1.0, 0.76, 0.66), sun=(1.0, 0.80, 0.60)),
        vignette=0.15,
    ),
    "morning": Lighting(
        look=Look(exposure=1.02, gains=(1.0, 1.0, 1.02), contrast=0.05, saturation=1.03),
        sky=Sky(zenith=(0.40, 0.62, 0.90), horizon=(0.82, 0.89, 0.96)),
        vignette=0.1,
    ),
    "midday": Lighting(
        look=Look(exposure=1.03, contrast=0.25, shadow_depth=0.15, saturation=1.08),
        sky=Sky(zenith=(0.16, 0.40, 0.84), horizon=(0.64, 0.80, 0.96)),
        vignette=0.08,
    ),
    "golden_hour": Lighting(
        look=Look(
            gains=(1.12, 1.0, 0.82),
            contrast=0.1,
            shadow_depth=0.05,
            saturation=1.12,
            highlight_tint=(0.05, 0.025, 0.0),  # glowing highlights
        ),
        sky=Sky(zenith=(0.34, 0.44, 0.70), horizon=(1.0, 0.76, 0.46), sun=(1.0, 0.85, 0.55)),
        vignette=0.2,
    ),
    "overcast": Lighting(
        look=Look(
            exposure=0.98,
            gains=(0.98, 1.0, 1.03),
            contrast=-0.25,
            shadow_depth=-0.15,
            saturation=0.72,
        ),
        sky=Sky(zenith=(0.70, 0.73, 0.77), horizon=(0.86, 0.87, 0.88)),
        vignette=0.1,
    ),
    "blue_hour": Lighting(
        look=Look(exposure=0.5, gains=(0.82, 0.92, 1.18), contrast=0.05, saturation=0.9),
        sky=Sky(zenith=(0.05, 0.09, 0.30), horizon=(0.36, 0.40, 0.64)),
        vignette=0.25,
        glow=0.7,
        grain=2.0,
    ),
    "night": Lighting(
        look=Look(exposure=0.3, gains=(0.75, 0.88, 1.25), contrast=0.05, saturation=0.8),
        sky=Sky(zenith=(0.01, 0.02, 0.07), horizon=(0.06, 0.09, 0.20)),
        vignette=0.35,
        glow=1.0,
        grain=2.5,
    ),
}

# --- Styles: palette, saturation and contrast per style id --------------------------------

STYLES: dict[str, Look] = {
    "modern": Look(exposure=1.03, gains=(0.99, 1.0, 1.02), contrast=0.12, saturation=0.92),
    "contemporary": Look(gains=(1.02, 1.0, 0.97), contrast=0.06, shadow_tint=(0.01, 0.005, 0.0)),
    "minimalist": Look(exposure=1.05, contrast=-0.15, saturation=0.75, fade=0.04),
    "scandinavian": Look(
        exposure=1.07, gains=(1.01, 1.0, 0.98), contrast=-0.08, saturation=0.85, fade=0.03
    ),
    "industrial": Look(
        gains=(0.95, 1.0, 1.06),
        contrast=0.3,
        shadow_depth=0.1,
        saturation=0.78,
        shadow_tint=(-0.01, 0.01, 0.02),
    ),
    "brutalist": Look(exposure=0.95, contrast=0.35, shadow_depth=0.2, saturation=0.62),
    "mediterranean": Look(
        exposure=1.03,
        gains=(1.07, 1.0, 0.9),
        contrast=0.1,
        saturation=1.22,
        highlight_tint=(0.02, 0.01, 0.0),
    ),
    "traditional": Look(
        gains=(1.05, 1.0, 0.92), contrast=0.1, saturation=1.08, shadow_tint=(0.02, 0.01, 0.0)
    ),
    "japanese": Look(
        exposure=0.97,
        gains=(1.02, 1.0, 0.96),
        contrast=-0.05,
        saturation=0.72,
        fade=0.03,
        shadow_tint=(0.0, 0.01, 0.005),
    ),
    "tropical": Look(
        gains=(1.02, 1.03, 0.95), contrast=0.12, shadow_depth=0.1, saturation=1.2, greens=0.6
    ),
    "art_deco": Look(
        gains=(1.04, 1.0, 0.95),
        contrast=0.25,
        shadow_depth=0.1,
        saturation=1.15,
        highlight_tint=(0.04, 0.03, 0.0),  # gold
        shadow_tint=(0.0, 0.01, 0.025),  # deep teal
    ),
    "parametric": Look(exposure=1.1, gains=(1.0, 1.0, 1.01), contrast=0.22, saturation=0.88),
}

# --- Scene types --------------------------------------------------------------------------

SCENES: dict[str, Look] = {
    "exterior": NEUTRAL,
    # Light bouncing off floors and walls warms and lifts the shadows indoors.
    "interior": Look(gains=(1.03, 1.0, 0.95), shadow_depth=-0.1, shadow_tint=(0.05, 0.03, 0.0)),
    "aerial": Look(contrast=-0.1, saturation=0.92),  # plus haze (below)
    "landscape": Look(saturation=1.04, greens=0.5),
    "masterplan": Look(contrast=0.1, saturation=1.05),
}
SKY_SCENES = frozenset({"exterior", "aerial", "landscape"})


# --- Position-dependent effects --------------------------------------------------------


def haze(rgb: np.ndarray, colour: RGB, amount: float) -> None:
    """In place: aerial perspective, thicker towards the top (the far distance from above)."""
    height = rgb.shape[0]
    rows = np.linspace(1.0, 0.0, height, dtype=np.float32) ** 1.5 * np.float32(amount)
    weight = rows[:, None, None]
    rgb *= 1.0 - weight
    rgb += weight * np.array(colour, np.float32)


def vignette(rgb: np.ndarray, strength: float) -> None:
    """In place: darken towards the corners (a lens falloff that pulls the eye to the centre)."""
    if strength <= 0:
        return
    height, width = rgb.shape[:2]
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32) ** 2
    ys = np.linspace(-1.0, 1.0, height, dtype=np.float32) ** 2
    falloff = 1.0 - np.float32(strength * 0.5) * smoothstep(0.1, 2.0, ys[:, None] + xs[None, :])
    rgb *= falloff[..., None]


WINDOW_LIGHT: RGB = (1.0, 0.72, 0.38)  # tungsten-warm interior light seen from outside


def window_glow(rgb: np.ndarray, grey: np.ndarray, sky: np.ndarray | None, strength: float) -> None:
    """In place: bright, compact regions of the input (windows, lamps) glow warm.

    A white top-hat keeps bright structures smaller than ~1/20 of the frame, so a large white
    massing model stays dark while its window openings light up; a light blur first keeps
    fine bright texture (sunlit stone, foliage) from sparkling.
    """
    height, width = grey.shape
    size = max(3, (max(height, width) // 20) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    grey = cv2.GaussianBlur(grey, (0, 0), max(0.8, max(height, width) / 340))
    tophat = cv2.morphologyEx(grey, cv2.MORPH_TOPHAT, kernel).astype(np.float32)
    lit = smoothstep(35.0, 80.0, tophat) * smoothstep(150.0, 210.0, grey.astype(np.float32))
    if sky is not None:
        lit *= 1.0 - sky
    if not lit.any():
        return
    colour = np.array(WINDOW_LIGHT, np.float32)
    core = lit * np.float32(strength)
    rgb *= 1.0 - core[..., None]
    rgb += core[..., None] * colour
    bloom = cv2.GaussianBlur(lit, (0, 0), max(1.0, max(height, width) / 120))
    rgb += (bloom * np.float32(0.4 * strength))[..., None] * colour
