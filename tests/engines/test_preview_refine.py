"""Refine: a documented vocabulary of prompt words, scaled by strength; other words reported."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tds.engines.preview.engine import PreviewEngine
from tds.engines.preview.refine import INTENSIFIERS, NEGATIONS, VOCABULARY, parse
from tests.engines.helpers import (
    fixture,
    job,
    luma,
    noop,
    pixels,
    red_over_blue,
    saturation,
    sharpness,
)

DOC = Path(__file__).parents[2] / "docs" / "preview-engine.md"


def test_refine_applies_known_words_and_reports_unknown_ones(engine: PreviewEngine) -> None:
    parent = fixture("house.png")
    before = pixels(parent)
    output = engine.run(
        job(parent, kind="refine", prompt="A warm light with more ivy and the banana"), noop
    )
    assert output.warnings == ["Ignored words the preview engine does not understand: ivy, banana"]
    assert red_over_blue(pixels(output)) >= 1.08 * red_over_blue(before)


def test_negative_prompt_words_count_against_and_are_reported_too(engine: PreviewEngine) -> None:
    parent = fixture("house.png")
    plain = engine.run(job(parent, kind="refine", strength=0.8), noop)
    darker = engine.run(
        job(parent, kind="refine", negative_prompt="bright glitter", strength=0.8), noop
    )
    assert luma(pixels(darker)) < luma(pixels(plain)) - 2
    assert darker.warnings == ["Ignored words the preview engine does not understand: glitter"]


@pytest.mark.parametrize(
    ("prompt", "measure", "direction"),
    [
        ("darker", luma, -1),
        ("bright", luma, +1),
        ("muted", saturation, -1),
        ("vivid", saturation, +1),
        ("cool", red_over_blue, -1),
        ("foggy", lambda a: a.min(axis=-1).mean(), +1),  # fog lifts the darks
        ("snow", luma, +1),
        ("rain", luma, -1),
        ("dusk", luma, -1),
        ("lush green", lambda a: (a[..., 1] - a[..., [0, 2]].mean(-1)).mean(), +1),
        ("dramatic", lambda a: a.std(), +1),
        ("soft", lambda a: a.std(), -1),
        ("sharp", sharpness, +1),
    ],
)
def test_refine_words_move_the_image(
    engine: PreviewEngine, prompt: str, measure: Callable[[np.ndarray], float], direction: int
) -> None:
    parent = fixture("house.png")
    before = measure(pixels(engine.run(job(parent, kind="refine"), noop)))  # resized only
    output = engine.run(job(parent, kind="refine", prompt=prompt, strength=0.8), noop)
    assert output.warnings == []
    after = measure(pixels(output))
    assert (after - before) * direction > 0.02 * abs(before)


def test_strength_scales_the_change(engine: PreviewEngine) -> None:
    parent = fixture("house.png")
    base = luma(pixels(engine.run(job(parent, kind="refine"), noop)))
    weak, strong = (
        luma(pixels(engine.run(job(parent, kind="refine", prompt="darker", strength=s), noop)))
        for s in (0.3, 0.9)
    )
    assert base - strong > 2 * (base - weak) > 0


def test_refine_strength_zero_changes_nothing_much(engine: PreviewEngine) -> None:
    parent = fixture("house.png")
    output = engine.run(job(parent, kind="refine", prompt="snow fog dusk", strength=0.0), noop)
    resized = np.asarray(parent.resize(output.image.size, Image.Resampling.LANCZOS))
    assert np.abs(pixels(output) - resized).mean() < 2.0


def test_prompt_parsing() -> None:
    assert parse("make it warmer and less foggy") == ({"temperature": 1.0, "fog": -1.0}, [])
    assert parse("very bright, slightly cool")[0] == {"exposure": 1.5, "temperature": -0.5}
    assert parse("Purple purple sky") == ({}, ["purple", "sky"])
    assert all(effects for effects in VOCABULARY.values())


def test_every_word_is_documented() -> None:
    text = DOC.read_text()
    documented = set(re.findall(r"`([a-z]+)`", text))
    missing = (set(VOCABULARY) | NEGATIONS | set(INTENSIFIERS)) - documented
    assert not missing, f"docs/preview-engine.md lacks: {sorted(missing)}"
