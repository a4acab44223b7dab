"""The preview engine's contract, by measured properties of its outputs (no pixel snapshots):
honest metadata, exact sizes for every kind and resolution, progress and cancel, determinism."""

from __future__ import annotations

import io
from typing import Any

import av
import pytest

from tds.catalogue import RESOLUTIONS, output_size
from tds.engines.base import EngineError, Job, JobCanceled, Kind
from tds.engines.preview import video
from tds.engines.preview.engine import PreviewEngine
from tds.engines.preview.inputs import classify
from tds.engines.preview.pixels import to_array
from tds.engines.registry import load
from tests.engines.helpers import fixture, job, noop
from tests.engines.viewports import VIEWPORTS, revit, sketchup


def test_registry_loads_the_engine_with_honest_metadata() -> None:
    engine = load("preview")
    assert engine.name == "preview"
    assert engine.kinds == frozenset({"render", "refine", "enhance", "video"})
    assert engine.description.startswith("CPU image pipeline, not a generative model")


def test_staging_is_refused(engine: PreviewEngine) -> None:
    with pytest.raises(EngineError, match="generative model"):
        engine.run(job(sketchup(), kind="staging", scene_type="interior"), noop)


@pytest.mark.parametrize("resolution", list(RESOLUTIONS))
@pytest.mark.parametrize("kind", ["render", "refine", "enhance"])
def test_output_is_exactly_the_target_size(
    engine: PreviewEngine, kind: str, resolution: str
) -> None:
    image = fixture("building.png")  # 564×848: an odd aspect, rounded to even sides
    work = job(image, kind=kind, resolution=resolution, prompt="warm", lighting="golden_hour")
    output = engine.run(work, noop)
    assert output.image.size == (work.width, work.height)
    assert output.image.mode == "RGB"


@pytest.mark.parametrize("resolution", list(RESOLUTIONS))
def test_video_frames_are_exactly_the_target_size(resolution: str) -> None:
    # A two-frame clip: the size is what is measured here, the length has its own tests.
    width, height = output_size(564, 848, resolution)
    still = to_array(fixture("building.png").resize((width, height)))
    clip = video.encode(still, noop, 0, 2, seconds=0.05)
    with av.open(io.BytesIO(clip), "r") as container:
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == (width, height)


def test_odd_sizes_from_odd_inputs(engine: PreviewEngine) -> None:
    image = sketchup(333, 217)
    kinds: tuple[Kind, ...] = ("render", "refine", "enhance", "video")
    for kind in kinds:
        work = Job(kind=kind, image=image, width=250, height=166)
        assert engine.run(work, noop).image.size == (250, 166)


@pytest.mark.parametrize("kind", ["render", "refine", "enhance", "video"])
def test_progress_is_reported_and_cancel_stops_the_run(engine: PreviewEngine, kind: str) -> None:
    image = sketchup(320, 240)
    work = Job(kind=kind, image=image, width=320, height=240)  # type: ignore[arg-type]
    calls: list[tuple[int, int]] = []
    engine.run(work, lambda done, total: calls.append((done, total)))
    assert len(calls) >= 3
    assert all(0 <= done <= total for done, total in calls)
    assert calls[-1][0] == calls[-1][1]

    seen: list[int] = []

    def cancel(done: int, total: int) -> None:
        seen.append(done)
        if len(seen) == 2:
            raise JobCanceled

    with pytest.raises(JobCanceled):
        engine.run(work, cancel)
    assert len(seen) == 2  # nothing ran past the canceling report


@pytest.mark.parametrize("kind", ["render", "refine", "enhance"])
def test_same_seed_same_bytes(engine: PreviewEngine, kind: str) -> None:
    image = fixture("house.png")
    fields: dict[str, Any] = {
        "lighting": "night",
        "architectural_style": "modern",
        "prompt": "snow rain",
        "seed": 7,
    }
    first = engine.run(job(image, kind=kind, **fields), noop).image.tobytes()
    again = engine.run(job(image, kind=kind, **fields), noop).image.tobytes()
    assert first == again


def test_the_seed_changes_the_details(engine: PreviewEngine) -> None:
    # Clouds and grain in a photo's new sky; which rooms are lit in a viewport at night.
    for image, lighting in ((fixture("house.png"), "golden_hour"), (revit(), "night")):
        first, second = (
            engine.run(job(image, seed=seed, lighting=lighting), noop).image for seed in (1, 2)
        )
        assert first.tobytes() != second.tobytes()


def test_unknown_options_are_neutral(engine: PreviewEngine) -> None:
    image = sketchup()
    plain = engine.run(job(image), noop).image.tobytes()
    unknown = engine.run(
        job(image, architectural_style="baroque", lighting="eclipse"), noop
    ).image.tobytes()
    assert unknown == plain


def test_inputs_are_classified_by_measurement() -> None:
    for name in ("house.png", "building.png", "room.png"):
        assert classify(to_array(fixture(name))) == "photo", name
    assert classify(to_array(fixture("house_line.png"))) == "sketch"
    for name, draw in VIEWPORTS.items():
        assert classify(to_array(draw())) == "viewport", name
