"""What each catalogue id does: lighting presets (grade, sky, effects), styles and scene types.

The ids are the catalogue's (tds.catalogue); a test checks that every one has an entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

from tds.engines.preview.grading import NEUTRAL, RGB, Look


@dataclass(frozen=True)
class Sky:
    zenith: RGB  # colour at the top of the frame
    horizon: RGB  # colour where the sky meets the buildings
    sun: RGB = (0.0, 0.0, 0.0)  # a glow low on one side for low-sun presets
    clouds: float = 0.22  # share of the sky under cloud
    cloud: RGB = (0.97, 0.97, 0.96)  # the sunlit tops
    cloud_shade: RGB = (0.70, 0.74, 0.80)  # the undersides
    stars: bool = False


@dataclass(frozen=True)
class Lighting:
    look: Look
    sky: Sky
    vignette: float = 0.12  # darkening at the corners, 0..1
    windows: float = 0.0  # share of the window openings lit from inside (dusk and night)
    grain: float = 1.5  # grain sigma in 8-bit levels
    bloom: float = 0.12  # glow spilling from highlights
    occlusion: float = 1.0  # scale of the contact darkening: soft light shows it most
    # Interiors: the room with its lamps on, not the exterior's darkness (None: use `look`).
    indoor: Look | None = None


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
        sky=Sky(
            zenith=(0.42, 0.52, 0.78),
            horizon=(1.0, 0.76, 0.66),
            sun=(1.0, 0.80, 0.60),
            clouds=0.3,
            cloud=(1.0, 0.80, 0.72),
            cloud_shade=(0.55, 0.50, 0.62),
        ),
        vignette=0.15,
        bloom=0.25,
    ),
    "morning": Lighting(
        look=Look(exposure=1.02, gains=(1.0, 1.0, 1.02), contrast=0.05, saturation=1.03),
        sky=Sky(zenith=(0.40, 0.62, 0.90), horizon=(0.82, 0.89, 0.96), clouds=0.25),
        vignette=0.1,
    ),
    "midday": Lighting(
        look=Look(exposure=1.03, contrast=0.25, shadow_depth=0.15, saturation=1.08),
        sky=Sky(zenith=(0.16, 0.40, 0.84), horizon=(0.64, 0.80, 0.96), clouds=0.18),
        vignette=0.08,
        bloom=0.08,
        occlusion=1.1,
    ),
    "golden_hour": Lighting(
        look=Look(
            gains=(1.12, 1.0, 0.82),
            contrast=0.1,
            shadow_depth=0.05,
            saturation=1.12,
            highlight_tint=(0.05, 0.025, 0.0),  # glowing highlights
        ),
        sky=Sky(
            zenith=(0.34, 0.44, 0.70),
            horizon=(1.0, 0.76, 0.46),
            sun=(1.0, 0.85, 0.55),
            clouds=0.3,
            cloud=(1.0, 0.82, 0.58),
            cloud_shade=(0.58, 0.48, 0.52),
        ),
        vignette=0.2,
        bloom=0.3,
    ),
    "overcast": Lighting(
        look=Look(
            exposure=0.98,
            gains=(0.98, 1.0, 1.03),
            contrast=-0.25,
            shadow_depth=-0.15,
            saturation=0.72,
        ),
        sky=Sky(
            zenith=(0.70, 0.73, 0.77),
            horizon=(0.86, 0.87, 0.88),
            clouds=0.85,
            cloud=(0.86, 0.87, 0.89),
            cloud_shade=(0.70, 0.72, 0.76),
        ),
        vignette=0.1,
        bloom=0.04,
        occlusion=1.25,  # no sun shadows: contact shadows are all the modelling there is
    ),
    "blue_hour": Lighting(
        look=Look(exposure=0.5, gains=(0.82, 0.92, 1.18), contrast=0.05, saturation=0.9),
        sky=Sky(
            zenith=(0.05, 0.09, 0.30),
            horizon=(0.36, 0.40, 0.64),
            clouds=0.2,
            cloud=(0.42, 0.40, 0.58),
            cloud_shade=(0.12, 0.14, 0.30),
        ),
        vignette=0.25,
        windows=0.6,
        grain=2.0,
        bloom=0.35,
        occlusion=0.8,
        indoor=Look(exposure=0.85, gains=(1.08, 1.0, 0.88), contrast=0.1, saturation=0.95),
    ),
    "night": Lighting(
        look=Look(exposure=0.3, gains=(0.75, 0.88, 1.25), contrast=0.05, saturation=0.8),
        sky=Sky(
            zenith=(0.01, 0.02, 0.07),
            horizon=(0.06, 0.09, 0.20),
            clouds=0.12,
            cloud=(0.10, 0.12, 0.20),
            cloud_shade=(0.03, 0.04, 0.09),
            stars=True,
        ),
        vignette=0.35,
        windows=0.7,
        grain=2.5,
        bloom=0.45,
        occlusion=0.6,
        indoor=Look(
            exposure=0.55,
            gains=(1.12, 1.0, 0.8),
            contrast=0.15,
            shadow_depth=0.15,
            saturation=0.9,
        ),
    ),
}

# --- Styles: palette, contrast and material grading per style id ----------------------------

STYLES: dict[str, Look] = {
    "modern": Look(
        exposure=1.03,
        gains=(0.99, 1.0, 1.02),
        contrast=0.12,
        saturation=0.92,
        cool_materials=(0.2, 0.0),  # clear blue glazing
    ),
    "contemporary": Look(
        gains=(1.02, 1.0, 0.97),
        contrast=0.06,
        shadow_tint=(0.01, 0.005, 0.0),
        warm_materials=(0.15, 0.0),
    ),
    "minimalist": Look(exposure=1.05, contrast=-0.15, saturation=0.75, fade=0.04),
    "scandinavian": Look(
        exposure=1.07,
        gains=(1.01, 1.0, 0.98),
        contrast=-0.08,
        saturation=0.85,
        fade=0.03,
        warm_materials=(-0.3, 0.08),  # pale, bleached timber
    ),
    "industrial": Look(
        gains=(0.95, 1.0, 1.06),
        contrast=0.3,
        shadow_depth=0.1,
        saturation=0.78,
        shadow_tint=(-0.01, 0.01, 0.02),
        warm_materials=(0.1, -0.08),  # dark brick
        cool_materials=(-0.3, 0.0),  # grey steel
    ),
    "brutalist": Look(
        exposure=0.95,
        contrast=0.35,
        shadow_depth=0.2,
        saturation=0.62,
        warm_materials=(-0.4, 0.0),  # everything towards concrete
    ),
    "mediterranean": Look(
        exposure=1.03,
        gains=(1.07, 1.0, 0.9),
        contrast=0.1,
        saturation=1.15,
        highlight_tint=(0.02, 0.01, 0.0),
        warm_materials=(0.2, 0.0),  # terracotta
        cool_materials=(0.3, 0.0),  # the sea and shutters
    ),
    "traditional": Look(
        gains=(1.05, 1.0, 0.92),
        contrast=0.1,
        saturation=1.08,
        shadow_tint=(0.02, 0.01, 0.0),
        warm_materials=(0.25, -0.05),  # rich brick and oak
    ),
    "japanese": Look(
        exposure=0.97,
        gains=(1.02, 1.0, 0.96),
        contrast=-0.05,
        saturation=0.72,
        fade=0.03,
        shadow_tint=(0.0, 0.01, 0.005),
        warm_materials=(0.1, -0.15),  # dark timber
    ),
    "tropical": Look(
        gains=(1.02, 1.03, 0.95),
        contrast=0.12,
        shadow_depth=0.1,
        saturation=1.2,
        greens=0.6,
        cool_materials=(0.25, 0.05),  # pool water
    ),
    "art_deco": Look(
        gains=(1.04, 1.0, 0.95),
        contrast=0.25,
        shadow_depth=0.1,
        saturation=1.15,
        highlight_tint=(0.04, 0.03, 0.0),  # gold
        shadow_tint=(0.0, 0.01, 0.025),  # deep teal
        warm_materials=(0.3, 0.05),
    ),
    "parametric": Look(exposure=1.1, gains=(1.0, 1.0, 1.01), contrast=0.22, saturation=0.88),
}

# --- Scene types --------------------------------------------------------------------------

SCENES: dict[str, Look] = {
    "exterior": NEUTRAL,
    # Light bouncing off floors and walls warms and lifts the shadows indoors.
    "interior": Look(gains=(1.03, 1.0, 0.95), shadow_depth=-0.1, shadow_tint=(0.05, 0.03, 0.0)),
    "aerial": Look(contrast=-0.1, saturation=0.92),  # plus haze (atmosphere.haze)
    "landscape": Look(saturation=1.04, greens=0.5),
    "masterplan": Look(contrast=0.1, saturation=1.05),
}
SKY_SCENES = frozenset({"exterior", "aerial", "landscape"})
