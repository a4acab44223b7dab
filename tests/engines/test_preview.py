"""The preview engine, by measured properties of its outputs (no pixel snapshots)."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from tds.catalogue import LIGHTING, STYLES, output_size
from tds.engines.base import EngineError, Job, JobCanceled, Output
from tds.engines.preview.engine import PreviewEngine
from tds.engines.preview.refine import VOCABULARY, parse
from tds.engines.preview.sky import find_sky
from tds.engines.registry import load

TESTS = Path(__file__).parents[1]


def fixture(name: str) -> Image.Image:
    """A real test image: tests/fixtures first, else the shared fixtures beside the repo."""
    for folder in (TESTS / "fixtures", TESTS.parent.parent / "shared" / "fixtures"):
        if (folder / name).is_file():
            with Image.open(folder / name) as image:
                return image.convert("RGB")
    pytest.skip(f"fixture {name} not found")


def viewport(width: int = 640, height: int = 480) -> Image.Image:
    """A CAD-viewport-like capture: flat light-grey backdrop, ground band, a shaded massing
    box with black edges."""
    a = np.full((height, width, 3), 222, np.uint8)
    ground = int(height * 0.78)
    a[ground:] = (160, 160, 155)
    x0, y0, x1, y1 = int(width * 0.3), int(height * 0.3), int(width * 0.7), int(height * 0.85)
    split = int(width * 0.55)
    a[y0:y1, x0:split] = 245
    a[y0:y1, split:x1] = 200
    black = (0, 0, 0)
    cv2.line(a, (0, ground), (width, ground), black, 2)
    cv2.rectangle(a, (x0, y0), (x1, y1), black, 2)
    cv2.line(a, (split, y0), (split, y1), black, 2)
    return Image.fromarray(a)


@pytest.fixture(scope="module")
def engine() -> PreviewEngine:
    engine = PreviewEngine()
    engine.setup()
    return engine


def noop(done: int, total: int) -> None:
    pass


def job(image: Image.Image, kind: str = "render", resolution: str = "1k", **fields: Any) -> Job:
    width, height = output_size(*image.size, resolution)
    return Job(kind=kind, image=image, width=width, height=height, **fields)  # type: ignore[arg-type]


def pixels(output: Output) -> np.ndarray:
    assert output.image.mode == "RGB"
    return np.asarray(output.image).astype(np.float64)


def luma(a: np.ndarray) -> float:
    return float((a @ np.array([0.2126, 0.7152, 0.0722])).mean())


def red_over_blue(a: np.ndarray) -> float:
    return float(a[..., 0].mean() / a[..., 2].mean())


def saturation(a: np.ndarray) -> float:
    hsv = cv2.cvtColor(a.astype(np.uint8), cv2.COLOR_RGB2HSV)
    return float(hsv[..., 1].mean())


def sharpness(a: np.ndarray) -> float:
    grey = cv2.cvtColor(a.astype(np.uint8), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


# --- the contract ---------------------------------------------------------------------


def test_registry_loads_the_engine_with_honest_metadata() -> None:
    engine = load("preview")
    assert engine.name == "preview"
    assert engine.kinds == frozenset({"render", "refine", "enhance", "video"})
    assert engine.description.startswith("CPU image pipeline, not a generative model")


def test_staging_is_refused(engine: PreviewEngine) -> None:
    with pytest.raises(EngineError, match="generative model"):
        engine.run(job(viewport(), kind="staging", scene_type="interior"), noop)


@pytest.mark.parametrize("kind", ["render", "refine", "enhance"])
@pytest.mark.parametrize("name", ["building.png", "house.png"])
def test_output_is_exactly_the_target_size(engine: PreviewEngine, kind: str, name: str) -> None:
    image = fixture(name)  # building.png is 564×848: an odd aspect
    work = job(image, kind=kind, prompt="warm", lighting="golden_hour", style="modern")
    output = engine.run(work, noop)
    assert output.image.size == (work.width, work.height)
    assert output.image.mode == "RGB"


def test_large_target_size_is_exact(engine: PreviewEngine) -> None:
    image = fixture("building.png")
    work = job(image, resolution="4k", lighting="night")
    assert engine.run(work, noop).image.size == (work.width, work.height) == (2724, 4096)


@pytest.mark.parametrize("kind", ["render", "refine", "enhance", "video"])
def test_progress_is_reported_and_cancel_stops_the_run(engine: PreviewEngine, kind: str) -> None:
    image = viewport(320, 240)
    calls: list[tuple[int, int]] = []
    engine.run(job(image, kind=kind), lambda done, total: calls.append((done, total)))
    assert len(calls) >= 3
    assert all(0 <= done <= total for done, total in calls)
    assert calls[-1][0] == calls[-1][1]

    seen: list[int] = []

    def cancel(done: int, total: int) -> None:
        seen.append(done)
        if len(seen) == 2:
            raise JobCanceled

    with pytest.raises(JobCanceled):
        engine.run(job(image, kind=kind), cancel)
    assert len(seen) == 2  # nothing ran past the canceling report


# --- render -------------------------------------------------------------------------------


def test_golden_hour_is_warmer_than_midday(engine: PreviewEngine) -> None:
    image = viewport()
    golden = red_over_blue(pixels(engine.run(job(image, lighting="golden_hour"), noop)))
    midday = red_over_blue(pixels(engine.run(job(image, lighting="midday"), noop)))
    assert golden >= 1.1 * midday


def test_night_is_dark_and_windows_glow_warm(engine: PreviewEngine) -> None:
    image = fixture("house.png")
    source = np.asarray(image).astype(np.float64)
    night = pixels(engine.run(job(image, resolution="1k", lighting="night"), noop))
    assert luma(night) <= 0.5 * luma(source)
    # Dark blue overall, but the brightest pixels are warm (lit windows), not blue.
    assert night[..., 2].mean() > night[..., 0].mean()
    brightest = night[luma_map(night) >= np.percentile(luma_map(night), 99.8)]
    assert brightest[:, 0].mean() > brightest[:, 2].mean()


def luma_map(a: np.ndarray) -> np.ndarray:
    weighted: np.ndarray = a @ np.array([0.2126, 0.7152, 0.0722])
    return weighted


def test_overcast_is_less_saturated_than_midday(engine: PreviewEngine) -> None:
    image = fixture("house.png")
    overcast = saturation(pixels(engine.run(job(image, lighting="overcast"), noop)))
    midday = saturation(pixels(engine.run(job(image, lighting="midday"), noop)))
    assert overcast < 0.8 * midday


def test_every_lighting_and_style_renders_differently(engine: PreviewEngine) -> None:
    image = fixture("house.png").resize((256, 256))
    seen = []
    for field, options in (("lighting", LIGHTING), ("style", STYLES)):
        for option in options:
            work = job(image, **{field: option.id})
            seen.append(pixels(engine.run(replace(work, width=256, height=256), noop)))
    for i, a in enumerate(seen):
        for b in seen[i + 1 :]:
            assert np.abs(a - b).mean() > 1.0


def test_two_styles_differ_measurably(engine: PreviewEngine) -> None:
    image = fixture("house.png")
    brutalist = pixels(engine.run(job(image, style="brutalist"), noop))
    mediterranean = pixels(engine.run(job(image, style="mediterranean"), noop))
    assert np.abs(brutalist - mediterranean).mean() > 8.0
    assert saturation(mediterranean) > 1.3 * saturation(brutalist)


def test_unknown_options_are_neutral(engine: PreviewEngine) -> None:
    image = viewport()
    plain = engine.run(job(image), noop).image.tobytes()
    unknown = engine.run(job(image, style="baroque", lighting="eclipse"), noop).image.tobytes()
    assert unknown == plain


def test_same_seed_same_bytes_other_seed_other_bytes(engine: PreviewEngine) -> None:
    image = fixture("house.png")
    first = engine.run(job(image, seed=7, lighting="golden_hour"), noop).image.tobytes()
    again = engine.run(job(image, seed=7, lighting="golden_hour"), noop).image.tobytes()
    other = engine.run(job(image, seed=8, lighting="golden_hour"), noop).image.tobytes()
    assert first == again
    assert first != other


def test_sky_is_replaced_with_a_blue_gradient_at_midday(engine: PreviewEngine) -> None:
    image = viewport()
    source = np.asarray(image).astype(np.float64)
    out = pixels(engine.run(job(image, lighting="midday"), noop))
    top_in = source[: source.shape[0] // 5]
    top_out = out[: out.shape[0] // 5]
    assert (top_in[..., 2] - top_in[..., 0]).mean() == 0
    assert (top_out[..., 2] - top_out[..., 0]).mean() > 60  # clearly blue now
    # A gradient: the zenith is deeper blue than just above the box.
    assert top_out[:10, ..., 0].mean() < out[int(out.shape[0] * 0.28), ..., 0].mean()
    # The ground below the horizon line is not sky.
    ground = out[int(out.shape[0] * 0.9) :, : out.shape[1] // 5]
    assert abs((ground[..., 2] - ground[..., 0]).mean()) < 20


def test_interiors_get_no_sky(engine: PreviewEngine) -> None:
    image = viewport()
    out = pixels(engine.run(job(image, lighting="midday", scene_type="interior"), noop))
    top = out[: out.shape[0] // 5]
    assert (top[..., 2] - top[..., 0]).mean() < 10


def test_sky_detection_on_a_photo() -> None:
    rgb = np.asarray(fixture("house.png"))
    mask = find_sky(rgb)
    assert mask is not None
    assert mask[:40, :150].mean() > 0.95  # the open sky at the top left
    assert mask[450:, :].mean() < 0.01  # the lawn
    assert mask[200:260, 380:480].mean() < 0.05  # the stone gable
    busy = np.asarray(fixture("building.png"))  # trees and roof reach the top: little sky
    busy_mask = find_sky(busy)
    assert busy_mask is None or busy_mask[400:].mean() < 0.01


def test_geometry_fidelity_keeps_lines(engine: PreviewEngine) -> None:
    image = viewport()
    crisp = pixels(engine.run(job(image, geometry_fidelity=1.0, lighting="overcast"), noop))
    free = pixels(engine.run(job(image, geometry_fidelity=0.0, lighting="overcast"), noop))
    assert sharpness(crisp) > sharpness(free)


def test_aerial_haze_lifts_the_blacks(engine: PreviewEngine) -> None:
    image = fixture("house.png")
    aerial = pixels(engine.run(job(image, scene_type="aerial", lighting="midday"), noop))
    exterior = pixels(engine.run(job(image, scene_type="exterior", lighting="midday"), noop))
    top = slice(200, 500)  # the house, where haze is thick
    assert aerial[top].min(axis=-1).mean() > exterior[top].min(axis=-1).mean() + 5


# --- refine -------------------------------------------------------------------------------


def test_refine_applies_known_words_and_reports_unknown_ones(engine: PreviewEngine) -> None:
    parent = fixture("house.png")
    before = np.asarray(parent).astype(np.float64)
    output = engine.run(
        job(parent, kind="refine", prompt="A warm light with more ivy and the banana"), noop
    )
    assert output.warnings == ["Ignored words the preview engine does not understand: ivy, banana"]
    assert red_over_blue(pixels(output)) >= 1.08 * red_over_blue(before)


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


# --- enhance ------------------------------------------------------------------------------


def test_enhance_is_sharper_than_a_plain_resize(engine: PreviewEngine) -> None:
    image = fixture("house.png")
    output = engine.run(job(image, kind="enhance", resolution="1k"), noop)
    assert output.image.size == (1024, 1024)
    plain = np.asarray(image.resize((1024, 1024), Image.Resampling.LANCZOS)).astype(np.float64)
    assert sharpness(pixels(output)) > 1.2 * sharpness(plain)
    # ... without changing the picture.
    assert np.abs(pixels(output) - plain).mean() < 6.0


# --- video --------------------------------------------------------------------------------


def test_video_is_a_4s_h264_mp4_with_a_poster(engine: PreviewEngine) -> None:
    image = fixture("building.png")
    work = job(image, kind="video", resolution="1k")
    output = engine.run(work, noop)
    assert output.image.size == (work.width, work.height)
    assert output.video is not None
    with av.open(io.BytesIO(output.video), "r") as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert container.duration is not None
        assert container.duration / av.time_base == pytest.approx(4.0, abs=0.1)
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    assert len(decoded) == 96
    assert all(frame.shape == (work.height, work.width, 3) for frame in decoded)
    # A dolly-in: the first frame is the poster, the last is magnified.
    poster = np.asarray(output.image).astype(np.float64)
    assert np.abs(decoded[0].astype(np.float64) - poster).mean() < 4.0
    assert np.abs(decoded[-1].astype(np.float64) - poster).mean() > 10.0


def test_video_is_deterministic(engine: PreviewEngine) -> None:
    image = fixture("house.png")
    first = engine.run(Job(kind="video", image=image, width=320, height=240), noop).video
    again = engine.run(Job(kind="video", image=image, width=320, height=240), noop).video
    assert first is not None
    assert first == again
