"""Render: lighting, sky, styles, scenes, effects and structure, measured on real photos, a
line drawing and viewport captures drawn in code."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest
from PIL import Image

from tds.catalogue import LIGHTING, STYLES
from tds.engines.base import EngineError
from tds.engines.preview import presets
from tds.engines.preview.atmosphere import bloom
from tds.engines.preview.engine import PreviewEngine
from tds.engines.preview.grading import Look, apply_look
from tds.engines.preview.occlusion import contact_shadows
from tds.engines.preview.sky import find_backdrop, find_sky
from tds.images.fidelity import edge_f1
from tests.engines.helpers import (
    fixture,
    job,
    luma,
    luma_map,
    noop,
    pixels,
    red_over_blue,
    same_size_job,
    saturation,
    sharpness,
)
from tests.engines.viewports import VIEWPORTS, revit, rhino, sketchup

PHOTOS = ("house.png", "building.png", "room.png")


def inputs() -> dict[str, Image.Image]:
    """Every kind of input the engine renders (sketches it refuses: see the last test)."""
    images = {name: fixture(name) for name in PHOTOS}
    images.update({name: draw() for name, draw in VIEWPORTS.items()})
    return images


def scene_of(name: str) -> str:
    return "interior" if name == "room.png" else "exterior"


# --- lighting -------------------------------------------------------------------------------


@pytest.mark.parametrize("draw", [rhino, revit])
def test_golden_hour_warms_a_neutral_input(engine: PreviewEngine, draw: object) -> None:
    image = draw()  # type: ignore[operator]
    source = pixels(image)
    golden = pixels(engine.run(job(image, lighting="golden_hour"), noop))
    assert red_over_blue(golden) >= 1.1 * red_over_blue(source)


def test_night_halves_the_light_of_every_input(engine: PreviewEngine) -> None:
    for name, image in inputs().items():
        work = same_size_job(image, lighting="night", scene_type=scene_of(name))
        night = pixels(engine.run(work, noop))
        assert luma(night) <= 0.5 * luma(pixels(image)), name


def test_night_is_dark_blue_with_lit_windows(engine: PreviewEngine) -> None:
    night = pixels(engine.run(job(revit(), lighting="night"), noop))
    assert night[..., 2].mean() > night[..., 0].mean()  # blue overall
    glow = luma_map(night)
    brightest = night[glow >= np.percentile(glow, 99.5)]
    assert brightest[:, 0].mean() > 1.3 * brightest[:, 2].mean()  # the lit windows are warm
    assert brightest[:, 0].mean() > 150


def test_only_some_windows_light_up(engine: PreviewEngine) -> None:
    image = revit()
    source = pixels(image)
    night = pixels(engine.run(same_size_job(image, lighting="night"), noop))
    glass = source[..., 2] - source[..., 0] > 25  # the blue panes of the capture
    lit = glass & (night[..., 0] > night[..., 2] + 40)
    share = lit.sum() / glass.sum()
    assert 0.3 < share < 0.95


@pytest.mark.parametrize("name", PHOTOS)
def test_overcast_desaturates(engine: PreviewEngine, name: str) -> None:
    image = fixture(name)
    work = same_size_job(image, scene_type=scene_of(name))
    overcast = saturation(pixels(engine.run(replace(work, lighting="overcast"), noop)))
    midday = saturation(pixels(engine.run(replace(work, lighting="midday"), noop)))
    assert overcast < 0.9 * saturation(pixels(image))
    assert overcast < 0.8 * midday


def test_every_lighting_and_style_renders_differently(engine: PreviewEngine) -> None:
    image = fixture("house.png").resize((256, 256))
    seen = []
    for field, options in (("lighting", LIGHTING), ("architectural_style", STYLES)):
        for option in options:
            work = same_size_job(image, **{field: option.id})
            seen.append(pixels(engine.run(work, noop)))
    for i, a in enumerate(seen):
        for b in seen[i + 1 :]:
            assert np.abs(a - b).mean() > 1.0


def test_every_catalogue_id_has_a_preset() -> None:
    assert {option.id for option in LIGHTING} == set(presets.LIGHTING)
    assert {option.id for option in STYLES} == set(presets.STYLES)


# --- styles -------------------------------------------------------------------------------


def test_two_styles_differ_measurably(engine: PreviewEngine) -> None:
    image = fixture("house.png")
    brutalist = pixels(engine.run(job(image, architectural_style="brutalist"), noop))
    mediterranean = pixels(engine.run(job(image, architectural_style="mediterranean"), noop))
    assert np.abs(brutalist - mediterranean).mean() > 8.0
    assert saturation(mediterranean) > 1.3 * saturation(brutalist)


def test_material_grading_acts_by_hue() -> None:
    brick, glass = (176, 98, 70), (90, 130, 190)
    patch = np.array([[brick, glass]], np.uint8)
    richer = apply_look(patch, Look(warm_materials=(0.5, 0.0)))
    bluer = apply_look(patch, Look(cool_materials=(0.5, 0.0)))
    plain = apply_look(patch, Look())

    def spread(rgb: np.ndarray) -> float:
        return float(rgb.max() - rgb.min())

    assert spread(richer[0, 0]) > 1.2 * spread(plain[0, 0])  # the brick saturates
    assert spread(richer[0, 1]) == pytest.approx(spread(plain[0, 1]), abs=1e-3)  # glass does not
    assert spread(bluer[0, 1]) > 1.2 * spread(plain[0, 1])
    assert spread(bluer[0, 0]) == pytest.approx(spread(plain[0, 0]), abs=1e-3)


# --- sky and ground -------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(VIEWPORTS))
def test_a_viewport_backdrop_becomes_a_sky_that_matches_the_light(
    engine: PreviewEngine, name: str
) -> None:
    image = VIEWPORTS[name]()
    source = pixels(image)
    assert find_sky(np.asarray(image)) is not None
    midday = pixels(engine.run(same_size_job(image, lighting="midday"), noop))
    golden = pixels(engine.run(same_size_job(image, lighting="golden_hour"), noop))
    top = slice(0, source.shape[0] // 8)
    assert (midday[top, :, 2] - midday[top, :, 0]).mean() > 50  # blue
    assert red_over_blue(golden[top]) > red_over_blue(midday[top]) + 0.3  # warmer
    # The model is not sky: the big block's faces keep their grey (drawn at 44–63 % across).
    face = (slice(int(0.45 * source.shape[0]), int(0.6 * source.shape[0])), slice(390, 410))
    assert abs((midday[face][..., 2] - midday[face][..., 0]).mean()) < 25


def test_the_sky_is_a_gradient_with_clouds(engine: PreviewEngine) -> None:
    out = pixels(engine.run(same_size_job(rhino(), lighting="midday"), noop))
    band = out[: out.shape[0] // 3]
    assert band[:10, :, 0].mean() < band[-10:, :, 0].mean()  # deeper blue at the zenith
    whiteness = band.min(axis=-1)  # clear blue sky has a low red channel, cloud does not
    assert (whiteness > 150).mean() > 0.02  # some cloud
    assert (whiteness > 150).mean() < 0.5  # but mostly sky


def test_a_floating_model_stands_on_ground(engine: PreviewEngine) -> None:
    backdrop = find_backdrop(np.asarray(revit()))
    assert backdrop is not None
    assert backdrop.ground is not None
    out = pixels(engine.run(same_size_job(revit(), lighting="midday"), noop))
    ground = out[-40:, :100]
    assert abs((ground[..., 2] - ground[..., 0]).mean()) < 20  # not sky blue
    assert luma(ground) < 210  # nor the white backdrop it was


def test_sky_detection_on_photos() -> None:
    mask = find_sky(np.asarray(fixture("house.png")))
    assert mask is not None
    assert mask[:40, :150].mean() > 0.95  # the open sky at the top left
    assert mask[450:, :].mean() < 0.01  # the lawn
    assert mask[200:260, 380:480].mean() < 0.05  # the stone gable
    busy = find_sky(np.asarray(fixture("building.png")))  # trees and roof reach the top
    assert busy is None or busy[400:].mean() < 0.01


def test_interiors_get_no_sky(engine: PreviewEngine) -> None:
    out = pixels(engine.run(job(sketchup(), lighting="midday", scene_type="interior"), noop))
    top = out[: out.shape[0] // 5]
    source_top = pixels(sketchup())[: out.shape[0] // 5]
    assert (top[..., 2] - top[..., 0]).mean() < (source_top[..., 2] - source_top[..., 0]).mean()


def test_an_interior_at_night_keeps_its_lamps_on_and_the_window_goes_dark(
    engine: PreviewEngine,
) -> None:
    image = fixture("room.png")
    night = pixels(engine.run(same_size_job(image, lighting="night", scene_type="interior"), noop))
    window = (slice(190, 290), slice(360, 470))  # the glazing, bright by day
    room = (slice(500, 700), slice(0, 250))  # the bed and floor
    assert luma(night[window]) < 0.5 * luma(pixels(image)[window])
    assert red_over_blue(night[window]) < 1.0  # night sky outside
    assert red_over_blue(night[room]) > 1.1  # warm lamplight inside
    assert luma(night[room]) > 0.3 * luma(pixels(image)[room])  # lit, not a dark room


def test_aerial_haze_lifts_the_blacks(engine: PreviewEngine) -> None:
    image = fixture("house.png")
    aerial = pixels(engine.run(job(image, scene_type="aerial", lighting="midday"), noop))
    exterior = pixels(engine.run(job(image, scene_type="exterior", lighting="midday"), noop))
    top = slice(200, 500)  # the house, where haze is thick
    assert aerial[top].min(axis=-1).mean() > exterior[top].min(axis=-1).mean() + 5


# --- effects --------------------------------------------------------------------------------


def test_contact_shadows_gather_under_the_model(engine: PreviewEngine) -> None:
    image = sketchup()
    source = pixels(image)
    column = 460  # through the big block, whose base is the last black pixel in this column
    base = int(np.flatnonzero(source[:, column].max(axis=-1) < 60)[-1])
    out = pixels(engine.run(same_size_job(image, lighting="overcast"), noop))
    near = luma(out[base + 4 : base + 12, column - 20 : column + 20])
    far = luma(out[base + 60 : base + 80, column - 20 : column + 20])
    assert source[base + 4 : base + 80, column].std(axis=0).max() < 1  # flat ground before
    assert near < 0.93 * far


def test_contact_shadows_are_soft_and_local() -> None:
    canvas = np.full((200, 200, 3), 200, np.uint8)
    cv2.rectangle(canvas, (60, 40), (140, 120), (0, 0, 0), 2)
    factor = contact_shadows(canvas, None, 0.5)
    assert factor is not None
    assert factor[126, 100] < 0.9  # just under the base
    assert factor[190, 100] > 0.99  # far below
    assert factor[10, 10] > 0.99  # far away
    assert float(factor.min()) > 0.4


def test_bloom_spills_light_around_highlights_only() -> None:
    image = np.zeros((200, 200, 3), np.float32)
    image[90:110, 90:110] = 1.0
    bloom(image, 0.5)
    assert image[90:110, 115, 0].mean() > 0.02  # a glow beside the highlight
    assert image[5, 5, 0] < 0.005  # nothing far away
    assert image.max() <= 1.0 + 1e-6  # screened, never past white


def test_vignette_and_fine_grain(engine: PreviewEngine) -> None:
    flat = Image.new("RGB", (400, 300), (128, 128, 128))
    out = pixels(engine.run(same_size_job(flat, scene_type="interior"), noop))
    assert luma(out[:30, :30]) < luma(out[135:165, 185:215]) - 3  # darker corners
    centre = luma_map(out[120:180, 170:230])
    assert 0.3 < centre.std() < 4.0  # grain: present, fine


# --- structure ------------------------------------------------------------------------------


@pytest.mark.parametrize("lighting", [None, "golden_hour", "overcast"])
def test_structure_is_kept(engine: PreviewEngine, lighting: str | None) -> None:
    """Edge F1 against the input ≥ 0.5 at the default fidelity, and higher at fidelity 1."""
    default, faithful = [], []
    for name, image in inputs().items():
        source = np.asarray(image)
        work = same_size_job(image, lighting=lighting, scene_type=scene_of(name))
        default.append(edge_f1(source, pixels(engine.run(work, noop))))
        faithful.append(
            edge_f1(source, pixels(engine.run(replace(work, geometry_fidelity=1.0), noop)))
        )
        assert default[-1] >= 0.5, name
        assert faithful[-1] >= default[-1] - 0.05, name
    assert np.mean(faithful) > np.mean(default)


def test_geometry_fidelity_trades_smoothing_for_lines(engine: PreviewEngine) -> None:
    image = fixture("house.png")
    crisp = pixels(engine.run(job(image, geometry_fidelity=1.0, lighting="overcast"), noop))
    free = pixels(engine.run(job(image, geometry_fidelity=0.0, lighting="overcast"), noop))
    assert sharpness(crisp) > 1.2 * sharpness(free)


# --- sketches -------------------------------------------------------------------------------


def test_a_sketch_is_refused_for_render_and_said_why(engine: PreviewEngine) -> None:
    """A line drawing would come back as its lines on a graded ground: the engine refuses it
    (the API asks before holding anything) and says what would serve it."""
    sketch = fixture("house_line.png")
    reason = engine.refusal(same_size_job(sketch), sketch)
    assert reason is not None
    assert "not generative" in reason
    assert "stability" in reason
    with pytest.raises(EngineError, match="not generative"):
        engine.run(same_size_job(sketch), noop)
    declared = same_size_job(fixture("house.png"), input_type="sketch")
    assert engine.refusal(declared, declared.image) is not None  # the client's word counts
    assert engine.refusal(same_size_job(fixture("house.png")), fixture("house.png")) is None
    assert engine.refusal(replace(same_size_job(sketch), kind="refine"), sketch) is None


def test_a_large_source_keeps_its_detail_at_4k(engine: PreviewEngine) -> None:
    image = sketchup(3000, 2000)  # more pixels than the 2048 working copy
    work = job(image, resolution="4k", lighting="golden_hour")
    out = engine.run(work, noop).image
    assert out.size == (work.width, work.height) == (4096, 2730)
    crop = (1800, 900, 2300, 1400)  # the big block's windows
    assert sharpness(pixels(out.crop(crop))) > 0.5 * sharpness(
        pixels(image.resize(out.size).crop(crop))
    )
