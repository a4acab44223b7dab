"""Refine: adjust a previous render with the words of a prompt, from a fixed vocabulary.

The preview engine does not understand language; it knows the words in VOCABULARY, each a
set of effect amounts. "less", "no", "not" and "without" flip the next known word; "very",
"slightly" and friends scale it; the negative prompt counts as "less" of each word. Effects
scale with job.strength (0 = unchanged, 1 = full). Other words come back as one warning.
"""

from __future__ import annotations

import re

import cv2
import numpy as np

from tds.engines.base import Job, Output, Progress
from tds.engines.preview import grading
from tds.engines.preview.atmosphere import vignette
from tds.engines.preview.finish import Detail, finish
from tds.engines.preview.pixels import (
    Size,
    luminance,
    resize,
    size_of,
    to_array,
    to_float,
    to_image,
    to_u8,
    work_size,
)
from tds.engines.preview.render import seeded

Effects = dict[str, float]


def _words(words: str, **effects: float) -> dict[str, Effects]:
    return {word: effects for word in words.split()}


# word -> effect amounts at strength 1
VOCABULARY: dict[str, Effects] = {
    **_words("warm warmer warmth cozy cosy", temperature=1.0),
    **_words("cool cooler cold colder", temperature=-1.0),
    **_words("golden", temperature=1.0, saturation=0.3),
    **_words("bright brighter airy", exposure=1.0),
    **_words("sunny", exposure=0.5, contrast=0.4, temperature=0.3),
    **_words("dark darker dim", exposure=-1.0),
    **_words("vivid vibrant saturated colourful colorful", saturation=1.0),
    **_words("muted desaturated dull pastel", saturation=-1.0),
    **_words("dramatic contrast contrasty punchy", contrast=1.0),
    **_words("moody", contrast=0.7, exposure=-0.4, saturation=-0.3),
    **_words("soft softer gentle dreamy", contrast=-1.0),
    **_words("fog foggy mist misty haze hazy", fog=1.0),
    **_words("clear", fog=-1.0),
    **_words("snow snowy winter wintry", snow=1.0),
    **_words("rain rainy wet", rain=1.0),
    **_words("storm stormy", rain=1.0, contrast=0.5, exposure=-0.3),
    **_words("lush green greener greenery verdant leafy", greenery=1.0),
    **_words("dusk evening twilight sunset", dusk=1.0),
    **_words("sharp sharper crisp crisper detailed", sharpness=1.0),
}


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


NEGATIONS = _set("less no not without fewer")
INTENSIFIERS = {
    **dict.fromkeys(_set("very much really extra super"), 1.5),
    **dict.fromkeys(_set("slightly bit little touch subtle subtly"), 0.5),
}
STOP_WORDS = _set(
    "a an the and or more with light lights lighting lit of to in on at for by some it its is "
    "be make add please lot lots quite feel feeling look looking mood atmosphere tone tones "
    "scene image picture render overall"
)
MAX_AMOUNT = 1.5


def parse(prompt: str, sign: float = 1.0) -> tuple[Effects, list[str]]:
    """(summed effect amounts, unknown words in order of appearance, once each)."""
    effects: Effects = {}
    unknown: list[str] = []
    factor = sign
    for word in re.findall(r"[a-z]+", prompt.casefold()):
        if word in NEGATIONS:
            factor = -factor
        elif word in INTENSIFIERS:
            factor *= INTENSIFIERS[word]
        elif word in VOCABULARY:
            for effect, amount in VOCABULARY[word].items():
                effects[effect] = effects.get(effect, 0.0) + factor * amount
            factor = sign
        elif word not in STOP_WORDS and word not in unknown:
            unknown.append(word)
    return effects, unknown


def refine(job: Job, progress: Progress) -> Output:
    total = 3
    target: Size = (job.width, job.height)
    parent = to_array(job.image)
    base = resize(parent, work_size(size_of(parent), target))
    effects, unknown = parse(job.prompt)
    negative, unknown_negative = parse(job.negative_prompt, sign=-1.0)
    for effect, amount in negative.items():
        effects[effect] = effects.get(effect, 0.0) + amount
    unknown += [word for word in unknown_negative if word not in unknown]
    strength = float(np.clip(job.strength, 0.0, 1.0))
    amounts = {
        effect: float(np.clip(value * strength, -MAX_AMOUNT, MAX_AMOUNT))
        for effect, value in effects.items()
        if value
    }
    progress(1, total)

    image = to_float(base)
    apply_effects(image, amounts, seeded(job.seed))
    progress(2, total)

    detail = None
    if parent.shape[0] * parent.shape[1] > 1.2 * base.shape[0] * base.shape[1]:
        detail = Detail(source=parent, work=base)
    final = finish(to_u8(image), target, detail=detail)
    progress(3, total)
    warnings = []
    if unknown:
        warnings.append(
            "Ignored words the preview engine does not understand: " + ", ".join(unknown)
        )
    return Output(image=to_image(final), warnings=warnings)


def apply_effects(rgb: np.ndarray, amounts: Effects, rng: np.random.Generator) -> None:
    """In place, in a fixed order (so the prompt's word order does not change the result)."""
    for name, effect in EFFECTS:
        amount = amounts.get(name, 0.0)
        if amount:
            effect(rgb, amount, rng)
        np.clip(rgb, 0.0, 1.0, out=rgb)


# --- Effects: (H×W×3 float32 image in [0, 1], amount, rng), all in place ---------------------


def _look(rgb: np.ndarray, look: grading.Look) -> None:
    """Apply a look to float data (apply_look takes uint8: the curves are LUTs)."""
    rgb[...] = grading.apply_look(to_u8(rgb), look)


def greenery(rgb: np.ndarray, amount: float, rng: np.random.Generator) -> None:
    grading.boost_greens(rgb, 1.2 * amount)
    if amount > 0:
        weight = grading.foliage_weight(rgb) * np.float32(0.08 * amount)
        rgb[..., 1] += weight * rgb[..., 1]  # and a shade greener


def temperature(rgb: np.ndarray, amount: float, rng: np.random.Generator) -> None:
    rgb *= np.array([1 + 0.12 * amount, 1 + 0.01 * amount, 1 - 0.12 * amount], np.float32)


def exposure(rgb: np.ndarray, amount: float, rng: np.random.Generator) -> None:
    # A gamma, not a gain: brightening never clips the highlights, darkening keeps black.
    np.power(rgb, np.float32(2.0 ** (-0.7 * amount)), out=rgb)


def saturation(rgb: np.ndarray, amount: float, rng: np.random.Generator) -> None:
    rgb[...] = cv2.transform(rgb, grading.saturation_matrix(max(0.0, 1.0 + 0.5 * amount)))


def contrast(rgb: np.ndarray, amount: float, rng: np.random.Generator) -> None:
    _look(rgb, grading.Look(contrast=float(np.clip(0.5 * amount, -0.9, 0.9))))
    size = max(rgb.shape[:2])
    if amount > 0:
        # Dramatic: local contrast (clarity) and darker corners as well.
        luma = luminance(rgb)
        base = cv2.GaussianBlur(luma, (0, 0), size / 40)
        rgb += ((luma - base) * np.float32(0.5 * amount))[..., None]
        vignette(rgb, 0.3 * amount)
    else:
        # Soft: a gentle bloom, screened over the image.
        bloom = cv2.GaussianBlur(rgb, (0, 0), size / 100) * np.float32(0.25 * -amount)
        rgb[...] = 1.0 - (1.0 - rgb) * (1.0 - bloom)


def dusk(rgb: np.ndarray, amount: float, rng: np.random.Generator) -> None:
    if amount < 0:
        exposure(rgb, -0.5 * amount, rng)
        return
    _look(
        rgb,
        grading.Look(
            exposure=1.0 - 0.35 * amount,
            saturation=1.0 - 0.1 * amount,
            shadow_tint=(-0.03 * amount, 0.0, 0.06 * amount),  # blue shadows
            highlight_tint=(0.06 * amount, 0.01 * amount, -0.02 * amount),  # warm sky glow
        ),
    )
    vignette(rgb, 0.2 * amount)


def snow(rgb: np.ndarray, amount: float, rng: np.random.Generator) -> None:
    if amount < 0:
        return  # nothing to melt in a picture without snow
    # Lawns and planting turn white first; then a cold, pale grade and falling flakes.
    cover = grading.foliage_weight(rgb) * np.float32(min(0.85, 0.8 * amount))
    white = np.array([0.92, 0.94, 0.97], np.float32)
    shade = 0.75 + 0.35 * luminance(rgb)  # keep the ground's light and shade under the snow
    rgb *= 1.0 - cover[..., None]
    rgb += (cover * shade)[..., None] * white
    _look(
        rgb,
        grading.Look(
            gains=(1 - 0.03 * amount, 1 - 0.01 * amount, 1 + 0.04 * amount),
            saturation=1.0 - 0.3 * amount,
            fade=0.05 * amount,
        ),
    )
    rgb += (_flakes(rgb.shape[:2], 0.0015 * amount, rng) * np.float32(0.9))[..., None]


def _flakes(shape: tuple[int, int], density: float, rng: np.random.Generator) -> np.ndarray:
    """Soft white dots of two sizes at seeded random places; H×W float32 in [0, 1]."""
    size = max(shape)
    field = np.zeros(shape, np.float32)
    for radius, share in ((size / 1400, 0.7), (size / 600, 0.3)):
        dots = (rng.random(shape, dtype=np.float32) < density * share).astype(np.float32)
        blurred: np.ndarray = cv2.GaussianBlur(dots, (0, 0), max(0.6, radius))
        field += blurred / max(float(blurred.max()), 1e-6)
    return np.clip(field, 0.0, 1.0)


def rain(rgb: np.ndarray, amount: float, rng: np.random.Generator) -> None:
    if amount < 0:
        return
    _look(
        rgb,
        grading.Look(
            exposure=1.0 - 0.15 * amount,
            gains=(1 - 0.04 * amount, 1.0, 1 + 0.04 * amount),
            contrast=0.1 * amount,
            saturation=1.0 - 0.25 * amount,
        ),
    )
    # Streaks: sparse seeded points smeared along a slanted line kernel.
    height, width = rgb.shape[:2]
    length = max(5, max(height, width) // 25)
    kernel = np.zeros((length, length), np.float32)
    cv2.line(kernel, (length // 3, 0), (2 * length // 3, length - 1), 1.0, 1)
    kernel /= kernel.sum()
    drops = (rng.random((height, width), dtype=np.float32) < 0.004).astype(np.float32)
    streaks: np.ndarray = cv2.filter2D(drops, -1, kernel)
    streaks /= max(float(streaks.max()), 1e-6)
    rgb += (streaks * np.float32(0.25 * amount))[..., None] * np.array(
        [0.85, 0.88, 0.92], np.float32
    )


def fog(rgb: np.ndarray, amount: float, rng: np.random.Generator) -> None:
    if amount < 0:
        # "clear", "no fog": a light dehaze is more contrast and colour.
        _look(rgb, grading.Look(contrast=0.25 * -amount, saturation=1.0 + 0.15 * -amount))
        return
    # Thicker towards the horizon and the top: distance, in the usual eye-level framing.
    height = rgb.shape[0]
    rows = np.linspace(1.0, 0.0, height, dtype=np.float32)
    weight = np.clip(amount * (0.25 + 0.45 * rows**0.7), 0.0, 0.85)[:, None, None]
    colour = np.array([0.80, 0.82, 0.84], np.float32)
    rgb *= 1.0 - weight
    rgb += weight * colour


def sharpness(rgb: np.ndarray, amount: float, rng: np.random.Generator) -> None:
    blur = cv2.GaussianBlur(rgb, (0, 0), 1.2)
    rgb += (rgb - blur) * np.float32(0.8 * amount)


EFFECTS = (
    ("greenery", greenery),
    ("snow", snow),
    ("temperature", temperature),
    ("exposure", exposure),
    ("saturation", saturation),
    ("contrast", contrast),
    ("dusk", dusk),
    ("rain", rain),
    ("fog", fog),
    ("sharpness", sharpness),
)
