"""The diffusion engine end to end on tiny random models, offline, on the CPU at 64 px.

The models are written to disk in diffusers layout by tiny_diffusion and loaded through the
engine's real loading code with local_files_only=True; the network is closed meanwhile.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before diffusers and huggingface_hub are imported

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

try:
    import diffusers  # noqa: F401
    import torch
    import transformers  # noqa: F401
except ImportError as missing:  # CI installs the gpu extra: this must never pass silently
    pytest.fail(
        f"the diffusion engine tests need torch, diffusers and transformers ({missing}); "
        "install them with: pip install -e '.[gpu]'",
        pytrace=False,
    )

from tds import catalogue
from tds.engines import registry
from tds.engines.base import EngineError, Job, JobCanceled, Kind
from tds.engines.common import control, images, masks, prompts
from tds.engines.common.media import decode_frames
from tds.engines.diffusion import runs, tiling
from tds.engines.diffusion.config import DiffusionConfig
from tds.engines.diffusion.engine import DiffusionEngine
from tds.engines.diffusion.pipelines import ModelMissing, denoise_steps
from tests.engines import tiny_diffusion
from tests.engines.helpers import Recorder

# diffusers' schedulers call np.array(tensor), which torch 2.13 answers with this
# DeprecationWarning under numpy 2; it is theirs, harmless, and every test would fail on it.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """One torch thread: two-core CI machines run other work, and tiny models gain nothing."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection beyond loopback fails the test: weights never come from a hub."""
    connect = socket.socket.connect

    def guarded(sock: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else str(address)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in (
            "127.0.0.1",
            "::1",
            "localhost",
        ):
            raise AssertionError(f"network access to {address!r} during a diffusion test")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tiny_diffusion.Models:
    return tiny_diffusion.build(tmp_path_factory.mktemp("tiny-models"))


def make_engine(models: tiny_diffusion.Models, **changes: Any) -> DiffusionEngine:
    engine = DiffusionEngine(models.config(**changes))
    engine.setup()
    return engine


@pytest.fixture(scope="module")
def engine(models: tiny_diffusion.Models) -> DiffusionEngine:
    return make_engine(models)


def viewport(size: int = 64) -> Image.Image:
    """A flat-shaded viewport: sky, ground, a box with a door and windows, hard edges."""
    image = np.full((size, size, 3), 225, np.uint8)
    image[int(size * 0.7) :] = (150, 150, 145)
    cv2.rectangle(image, (12, 20), (52, 46), (240, 240, 240), -1)
    cv2.rectangle(image, (12, 20), (52, 46), (40, 40, 40), 1)
    cv2.rectangle(image, (18, 26), (28, 34), (90, 110, 140), -1)
    cv2.rectangle(image, (36, 26), (46, 34), (90, 110, 140), -1)
    cv2.rectangle(image, (29, 36), (35, 46), (110, 80, 60), -1)
    return Image.fromarray(image, "RGB")


def empty_room(size: int = 64) -> Image.Image:
    """An empty room: ceiling, walls, a bright window, a wooden floor in the lower third."""
    image = np.full((size, size, 3), 205, np.uint8)
    image[: size // 6] = 235
    image[int(size * 0.62) :] = (150, 110, 80)
    cv2.rectangle(image, (36, 18), (52, 34), (255, 255, 255), -1)
    cv2.line(image, (0, int(size * 0.62)), (size, int(size * 0.62)), (90, 70, 50), 1)
    return Image.fromarray(image, "RGB")


def job(kind: Kind = "render", size: tuple[int, int] = (72, 56), **fields: Any) -> Job:
    image = fields.pop("image", None) or (empty_room() if kind == "staging" else viewport())
    fields.setdefault("architectural_style", "modern")
    fields.setdefault("lighting", "golden_hour")
    return Job(kind=kind, image=image, width=size[0], height=size[1], **fields)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float64)


class Calls:
    """Counts a module's forward calls and keeps the kwargs of each."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.kwargs: list[dict[str, Any]] = []
        self.outputs: list[Any] = []
        self._handles = [
            module.register_forward_pre_hook(self._pre, with_kwargs=True),
            module.register_forward_hook(self._post),
        ]

    def _pre(self, module: Any, args: Any, kwargs: dict[str, Any]) -> None:
        self.kwargs.append(kwargs)

    def _post(self, module: Any, args: Any, output: Any) -> None:
        self.outputs.append(output)

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()

    def __enter__(self) -> Calls:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


# -- every kind, end to end -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "size"),
    [
        ("render", (72, 56)),
        ("refine", (72, 56)),
        ("enhance", (128, 96)),
        ("staging", (64, 64)),
        ("video", (72, 56)),
    ],
)
def test_every_kind_runs_end_to_end_at_the_exact_size(
    engine: DiffusionEngine, kind: Kind, size: tuple[int, int]
) -> None:
    recorder = Recorder()
    output = engine.run(job(kind, size), recorder)
    assert output.image.mode == "RGB"
    assert output.image.size == size
    recorder.check()
    assert recorder.reports[-1][1] > 1, "progress must count denoising steps"
    if kind == "video":
        assert output.video is not None
        frames, fps = decode_frames(output.video)
        assert len(frames) == 5
        assert fps == 8
        assert frames[0].shape == (size[1], size[0], 3)
    else:
        assert output.video is None


def test_engine_kinds_are_the_configured_ones(models: tiny_diffusion.Models) -> None:
    engine = DiffusionEngine(models.config(kinds=frozenset({"render", "video"})))
    assert engine.kinds == {"render", "video"}
    with pytest.raises(EngineError, match="does not do 'staging'"):
        engine.run(job("staging"), Recorder())


def test_progress_is_reported_per_denoising_step(models: tiny_diffusion.Models) -> None:
    engine = make_engine(models, steps=4)
    recorder = Recorder()
    with Calls(engine.pipelines.img2img.unet) as unet:
        engine.run(job(geometry_fidelity=0.0), recorder)
    _, run = denoise_steps(
        engine.config, runs.render_conditioning(job(geometry_fidelity=0.0)).strength
    )
    assert run == 3
    assert len(unet.kwargs) == run  # classifier-free guidance batches both halves in one call
    assert recorder.reports[-1] == (run + 1, run + 1)
    assert [done for done, _ in recorder.reports[1:-1]] == [0, 1, 2, 3]


def test_same_seed_same_image_and_another_seed_another(engine: DiffusionEngine) -> None:
    first = engine.run(job(seed=7), Recorder()).image
    again = engine.run(job(seed=7), Recorder()).image
    other = engine.run(job(seed=8), Recorder()).image
    assert np.array_equal(pixels(first), pixels(again))
    assert np.abs(pixels(first) - pixels(other)).mean() > 0.5


def test_cancel_stops_the_pipeline_between_steps(models: tiny_diffusion.Models) -> None:
    engine = make_engine(models, steps=4)
    # Reports: (0, 1) on entry, (0, total) before the pipeline, then one per step.
    recorder = Recorder(cancel_at=3)
    with Calls(engine.pipelines.img2img.unet) as unet, pytest.raises(JobCanceled):
        engine.run(job(geometry_fidelity=0.0), recorder)
    assert len(unet.kwargs) == 1, "the pipeline ran on after the cancel"
    # The engine is usable afterwards.
    assert engine.run(job(), Recorder()).image.size == (72, 56)


def test_cancel_while_waiting_does_no_work(engine: DiffusionEngine) -> None:
    with Calls(engine.pipelines.img2img.unet) as unet, pytest.raises(JobCanceled):
        engine.run(job(), Recorder(cancel_at=1))
    assert unet.kwargs == []


def test_controlnet_conditioning_reaches_the_unet(engine: DiffusionEngine) -> None:
    pipelines = engine.pipelines
    with Calls(pipelines.img2img.controlnet) as net, Calls(pipelines.img2img.unet) as unet:
        engine.run(job(geometry_fidelity=1.0), Recorder())
    assert net.kwargs, "the ControlNet never ran"
    down, mid = net.outputs[0]
    given = unet.kwargs[0]
    assert given["down_block_additional_residuals"] is not None
    for passed, made in zip(given["down_block_additional_residuals"], down, strict=True):
        assert torch.equal(passed, made)
    assert torch.equal(given["mid_block_additional_residual"], mid)
    assert float(mid.abs().sum()) > 0
    # What the ControlNet saw is the Canny edge map of the (resized) viewport.
    condition = net.kwargs[0]["controlnet_cond"]
    assert pipelines.multiple == 4  # the tiny VAE halves, the tiny UNet halves once more
    source = images.resize(viewport(), (72, 56))  # 72 × 56 fits in the 64² area: kept
    edges = np.asarray(control.canny(source))[..., 0] / 255.0
    assert np.allclose(condition[0, 0].float().numpy(), edges, atol=1e-3)


def test_control_image_changes_the_result(engine: DiffusionEngine) -> None:
    def blank_control(module: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        return args, {**kwargs, "controlnet_cond": torch.zeros_like(kwargs["controlnet_cond"])}

    guided = engine.run(job(seed=3), Recorder()).image
    handle = engine.pipelines.img2img.controlnet.register_forward_pre_hook(
        blank_control, with_kwargs=True
    )
    try:
        unguided = engine.run(job(seed=3), Recorder()).image
    finally:
        handle.remove()
    assert np.abs(pixels(guided) - pixels(unguided)).mean() > 0.1


def test_geometry_fidelity_sets_controlnet_scale_and_strength(
    models: tiny_diffusion.Models,
) -> None:
    engine = make_engine(models, steps=4)  # ≥ 2 steps: the ControlNet guides the first ones
    loose, strict = (
        runs.render_conditioning(job(geometry_fidelity=0.0)),
        runs.render_conditioning(job(geometry_fidelity=1.0)),
    )
    assert loose.strength > strict.strength
    assert loose.control_scale < strict.control_scale
    assert loose.control_end < strict.control_end
    scales = {}
    for fidelity in (0.0, 1.0):
        with Calls(engine.pipelines.img2img.controlnet) as net:
            engine.run(job(geometry_fidelity=fidelity), Recorder())
        scales[fidelity] = float(net.kwargs[0]["conditioning_scale"])
    assert scales[0.0] == pytest.approx(0.4)
    assert scales[1.0] == pytest.approx(1.0)
    sketch = runs.render_conditioning(job(input_type="sketch"))
    photo = runs.render_conditioning(job(input_type="photo"))
    assert sketch.strength > photo.strength


def test_refine_strength_follows_the_job(engine: DiffusionEngine) -> None:
    gentle = runs.refine_conditioning(job("refine", strength=0.0))
    strong = runs.refine_conditioning(job("refine", strength=1.0))
    assert gentle.strength == pytest.approx(0.1)
    assert strong.strength == pytest.approx(0.6)


def test_enhance_redraws_every_tile_and_blends(models: tiny_diffusion.Models) -> None:
    engine = make_engine(models)
    layout = tiling.tiles(128, 96, 64, 8)
    assert len(layout) == 6
    recorder = Recorder()
    with Calls(engine.pipelines.tile.unet) as unet:
        output = engine.run(job("enhance", (128, 96)), recorder)
    _, run = denoise_steps(engine.config, runs.enhance_conditioning(job("enhance")).strength)
    assert len(unet.kwargs) == len(layout) * run
    assert recorder.reports[-1] == (len(layout) * run + 1,) * 2
    assert output.image.size == (128, 96)
    # The tile ControlNet sees the tile itself, not its edges.
    with Calls(engine.pipelines.tile.controlnet) as net:
        engine.run(job("enhance", (64, 64)), Recorder())
    condition = net.kwargs[0]["controlnet_cond"][0].float().numpy()
    assert condition.std() > 0.05
    assert len(np.unique(condition.round(2))) > 2


def test_enhance_without_a_tile_controlnet_guides_by_edges(
    models: tiny_diffusion.Models,
) -> None:
    engine = make_engine(models, tile_controlnet="")
    assert engine.pipelines.tile is engine.pipelines.img2img
    with Calls(engine.pipelines.tile.controlnet) as net:
        output = engine.run(job("enhance", (96, 96)), Recorder())
    assert output.image.size == (96, 96)
    condition = net.kwargs[0]["controlnet_cond"][0, 0].float().numpy()
    assert set(np.unique(condition.round(3))) <= {0.0, 1.0}  # a binary edge map


def test_staging_keeps_walls_and_ceiling(engine: DiffusionEngine) -> None:
    room = empty_room()
    mask = np.asarray(masks.staging_mask(room)) > 0
    output = engine.run(job("staging", (64, 64), image=room), Recorder())
    before, after = pixels(room), pixels(output.image)
    top = slice(0, 64 // 6)
    assert not mask[top].any()
    assert np.abs(before[top] - after[top]).max() <= 1.0
    changed = np.abs(before - after).mean(axis=2) > 3
    assert changed[mask].mean() > 0.5, "the floor was not redrawn"


def test_video_frames_follow_the_settings(models: tiny_diffusion.Models) -> None:
    engine = make_engine(models, video_frames=10, video_fps=12)
    recorder = Recorder()
    output = engine.run(job("video", (80, 48)), recorder)
    assert output.video is not None
    frames, fps = decode_frames(output.video)
    assert (len(frames), fps) == (9, 12)  # Wan takes 4k + 1 frames
    assert frames[0].shape == (48, 80, 3)
    assert output.image.size == (80, 48)
    recorder.check()
    assert runs.video_size(engine.pipelines, job("video", (80, 48))) == (80, 48)


# -- variants: union ControlNet, SD 1.5, few-step presets, a UNet file --------------------


def test_union_controlnet_renders_and_upscales_in_tile_mode(
    models: tiny_diffusion.Models,
) -> None:
    engine = make_engine(models, controlnet=str(models.union_controlnet), tile_controlnet="")
    pipelines = engine.pipelines
    assert pipelines.union
    assert pipelines.tile_union
    assert type(pipelines.img2img).__name__ == "StableDiffusionXLControlNetUnionImg2ImgPipeline"
    modes = []
    with Calls(pipelines.img2img.controlnet) as net:
        assert engine.run(job(), Recorder()).image.size == (72, 56)
        modes.append(net.kwargs[-1]["control_type"])
        assert engine.run(job("enhance", (96, 64)), Recorder()).image.size == (96, 64)
        modes.append(net.kwargs[-1]["control_type"])
    assert [int(m[0].argmax()) for m in modes] == [3, 6]  # canny/lines, then tile
    assert engine.run(job("staging", (64, 64)), Recorder()).image.size == (64, 64)


def test_sd15_family_renders_and_stages(models: tiny_diffusion.Models) -> None:
    engine = make_engine(
        models,
        base_model=str(models.sd15),
        controlnet=str(models.sd15_controlnet),
        tile_controlnet="",
        kinds=frozenset({"render", "refine", "enhance", "staging"}),
    )
    assert engine.pipelines.family == "sd15"
    for kind, size in (("render", (72, 56)), ("staging", (64, 64)), ("enhance", (96, 96))):
        recorder = Recorder()
        assert engine.run(job(kind, size), recorder).image.size == size  # type: ignore[arg-type]
        recorder.check()


@pytest.mark.parametrize(
    ("speed", "scheduler", "steps"),
    [("lcm", "LCMScheduler", 6), ("lightning", "EulerDiscreteScheduler", 4)],
)
def test_few_step_presets(
    models: tiny_diffusion.Models, speed: str, scheduler: str, steps: int
) -> None:
    engine = make_engine(models, speed=speed, steps=0, kinds=frozenset({"render"}))
    pipeline = engine.pipelines.img2img
    assert type(pipeline.scheduler).__name__ == scheduler
    if speed == "lightning":
        assert pipeline.scheduler.config.timestep_spacing == "trailing"
    with Calls(pipeline.unet) as unet:
        engine.run(job(), Recorder())
    # A few-step model runs its preset number of steps whatever the img2img strength.
    assert len(unet.kwargs) == steps
    if speed == "lightning":
        assert unet.kwargs[0]["encoder_hidden_states"].shape[0] == 1  # guidance 0: no CFG


def test_unet_weights_file_replaces_the_base_unet(models: tiny_diffusion.Models) -> None:
    from safetensors.torch import load_file

    engine = make_engine(models, unet=str(models.unet_file), kinds=frozenset({"render"}))
    expected = load_file(str(models.unet_file))
    loaded = engine.pipelines.img2img.unet.state_dict()
    name = next(iter(expected))
    assert torch.equal(loaded[name], expected[name])
    assert engine.run(job(), Recorder()).image.size == (72, 56)


# -- loading, settings, errors --------------------------------------------------------------


# diffusers passes huggingface_hub an argument it deprecated; it warns on the lookup that fails.
@pytest.mark.filterwarnings("ignore:The `local_dir_use_symlinks` argument is deprecated")
def test_a_missing_model_fails_at_setup_without_downloading(
    models: tiny_diffusion.Models,
) -> None:
    engine = DiffusionEngine(models.config(base_model="nobody/no-such-model-xyz"))
    with pytest.raises(ModelMissing) as raised:
        engine.setup()
    message = str(raised.value)
    assert "TDS_DIFFUSION_BASE_MODEL" in message
    assert "TDS_DIFFUSION_ALLOW_DOWNLOAD" in message


def test_a_missing_video_model_names_its_setting(models: tiny_diffusion.Models) -> None:
    missing = str(models.root / "not-here")
    engine = DiffusionEngine(models.config(video_model=missing, kinds=frozenset({"video"})))
    with pytest.raises(ModelMissing, match="TDS_DIFFUSION_VIDEO_MODEL"):
        engine.setup()


def test_out_of_memory_becomes_an_engine_error(
    engine: DiffusionEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any) -> Any:
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setitem(runs.RUNS, "render", explode)
    with pytest.raises(EngineError, match="out of memory"):
        engine.run(job(), Recorder())


def test_settings_from_the_environment() -> None:
    config = DiffusionConfig.from_env({})
    assert config == DiffusionConfig()
    assert config.allow_download is False
    assert config.kinds == frozenset(("render", "refine", "enhance", "staging", "video"))
    config = DiffusionConfig.from_env(
        {
            "TDS_DIFFUSION_KINDS": "render, refine",
            "TDS_DIFFUSION_STEPS": "8",
            "TDS_DIFFUSION_GUIDANCE": "3.5",
            "TDS_DIFFUSION_COMPILE": "yes",
            "TDS_DIFFUSION_SPEED": "lightning",
            "TDS_DIFFUSION_BASE_MODEL": "/models/sdxl",
        }
    )
    assert config.kinds == {"render", "refine"}
    assert (config.steps, config.guidance, config.compile) == (8, 3.5, True)
    assert (config.speed, config.base_model) == ("lightning", "/models/sdxl")
    for bad in (
        {"TDS_DIFFUSION_KINDS": "render,paint"},
        {"TDS_DIFFUSION_STEPS": "many"},
        {"TDS_DIFFUSION_SPEED": "ludicrous"},
        {"TDS_DIFFUSION_COMPILE": "maybe"},
    ):
        with pytest.raises(ValueError, match="TDS_DIFFUSION_"):
            DiffusionConfig.from_env(bad)


def test_registry_loads_the_engine_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TDS_DIFFUSION_KINDS", "render,enhance")
    engine = registry.load("diffusion")
    assert engine.name == "diffusion"
    assert engine.kinds == {"render", "enhance"}
    assert "diffusion" in registry.names()
    assert "remote" in registry.names()


# -- prompts and control images --------------------------------------------------------------


def test_prompts_compose_user_words_scene_style_and_light() -> None:
    composed = prompts.compose(
        job(prompt="  red brick,  green roof ", negative_prompt="people", scene_type="exterior")
    )
    assert composed.prompt.startswith("red brick, green roof, building exterior")
    assert prompts.STYLES["modern"] in composed.prompt
    assert prompts.LIGHTING["golden_hour"] in composed.prompt
    assert composed.negative.startswith("people, blurry")
    by_name = prompts.compose(job(architectural_style="Art Deco", lighting="Blue Hour"))
    assert prompts.STYLES["art_deco"] in by_name.prompt
    assert prompts.LIGHTING["blue_hour"] in by_name.prompt
    staged = prompts.compose(job("staging", architectural_style="scandinavian"))
    assert "furnished scandinavian interior" in staged.prompt
    assert "camera" in prompts.compose(job("video")).prompt


def test_every_catalogue_id_has_a_short_phrase() -> None:
    assert {option.id for option in catalogue.SCENE_TYPES} == set(prompts.SCENES)
    assert {option.id for option in catalogue.STYLES} == set(prompts.STYLES)
    assert {option.id for option in catalogue.LIGHTING} == set(prompts.LIGHTING)
    longest = 0
    for kind in ("render", "refine", "enhance", "staging", "video"):
        for scene in catalogue.SCENE_TYPES:
            for style in catalogue.STYLES:
                for light in catalogue.LIGHTING:
                    text = prompts.compose(
                        job(
                            kind,
                            scene_type=scene.id,
                            architectural_style=style.id,
                            lighting=light.id,
                        )  # type: ignore[arg-type]
                    ).prompt
                    words = len(text.replace(",", " , ").split())
                    longest = max(longest, words)
    assert longest <= 50, "leave room in CLIP's 77 tokens for the user's own words"


def test_canny_and_lines_find_the_drawn_edges() -> None:
    image = np.full((64, 64, 3), 200, np.uint8)
    cv2.rectangle(image, (16, 16), (48, 48), (30, 30, 30), -1)
    edges = np.asarray(control.canny(Image.fromarray(image)))[..., 0] > 0
    assert edges[:, 14:19].any()
    assert edges[:, 46:51].any()
    assert not edges[30:34, 28:36].any()  # flat inside: no edges
    lines = np.asarray(control.lines(Image.fromarray(image)))[..., 0] > 0
    assert lines[20:44, 13:20].sum() > 15  # the left side of the square, a straight line
    assert not lines[:8, :8].any()


def test_staging_mask_covers_the_floor_not_walls_window_or_ceiling() -> None:
    room = empty_room()
    mask = np.asarray(masks.staging_mask(room)) > 0
    assert mask[60:, :].mean() > 0.9  # the floor
    assert mask[30:40, 5:30].mean() > 0.5  # the open space above it
    assert not mask[: 64 // 6].any()  # ceiling
    assert not mask[20:33, 38:51].any()  # the bright window


def test_work_size_keeps_aspect_and_multiples() -> None:
    assert tiling.work_size(4096, 2304, 1024 * 1024, 64) == (1344, 768)
    assert tiling.work_size(72, 56, 64 * 64, 8) == (72, 56)
    assert tiling.work_size(72, 56, 64 * 64, 16) == (64, 48)
    assert tiling.tiles(64, 64, 64, 8) == [tiling.Tile(0, 0, 64, 64)]
    covered = np.zeros((300, 500), bool)
    for tile in tiling.tiles(500, 300, 128, 16):
        covered[tile.y : tile.y + tile.height, tile.x : tile.x + tile.width] = True
        assert tile.width == tile.height == 128
    assert covered.all()


def test_synthetic_full_size_shapes_match_the_real_models() -> None:
    """The benchmark's stand-ins have the real parameter counts (meta device: no memory)."""
    from tds.engines.diffusion import synthetic

    pipeline = synthetic.controlnet_img2img("sdxl", "full")

    def count(module: torch.nn.Module) -> float:
        return sum(p.numel() for p in module.parameters()) / 1e9

    assert count(pipeline.unet) == pytest.approx(2.567, abs=0.01)  # SDXL base UNet
    assert count(pipeline.controlnet) == pytest.approx(1.251, abs=0.01)  # controlnet-*-sdxl-1.0
    assert count(pipeline.text_encoder_2) == pytest.approx(0.695, abs=0.01)


def test_tiny_models_are_on_disk_in_diffusers_layout(models: tiny_diffusion.Models) -> None:
    from transformers import CLIPTokenizer

    from tds.engines.diffusion import synthetic

    assert (Path(models.sdxl) / "model_index.json").is_file()
    for folder in (
        models.sdxl / "tokenizer",
        models.sdxl / "tokenizer_2",
        models.video / "tokenizer",
    ):
        assert (folder / "merges.txt").read_text() == "#version: 0.2\n"
        assert len(json.loads((folder / "vocab.json").read_text())) == 514
        assert not (folder / "tokenizer.json").exists()
    loaded = CLIPTokenizer.from_pretrained(models.sdxl / "tokenizer", local_files_only=True)
    text = "Golden hour, béton brut — 2 storeys"
    assert loaded(text)["input_ids"] == synthetic.tokenizer()(text)["input_ids"]
    assert len(loaded(text)["input_ids"]) == len(text.encode()) + 2 - text.count(" ")
    assert (Path(models.controlnet) / "config.json").is_file()
    assert (Path(models.video) / "transformer" / "config.json").is_file()


def test_benchmark_runs_on_the_cpu(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """bench/engine_diffusion.py on its tiny CPU configuration: the script itself works."""
    import importlib.util
    import json
    import sys

    path = Path(__file__).parents[2] / "bench" / "engine_diffusion.py"
    spec = importlib.util.spec_from_file_location("engine_diffusion_bench", path)
    assert spec is not None
    assert spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up there
    spec.loader.exec_module(bench)
    report = tmp_path / "bench.json"
    code = bench.main(["--kinds", "render,video", "--repeats", "1", "--json", str(report)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "tiny random weights" in printed
    rows = json.loads(report.read_text())["rows"]
    assert [row["kind"] for row in rows] == ["render", "video"]
    for row in rows:
        assert row["s_per_job"] > 0
        assert row["steps"] >= 1
        assert row["steps_per_s"] > 0
        assert row["denoiser_tflops"] > 0


def test_every_setting_is_documented() -> None:
    text = (Path(__file__).parents[2] / "docs" / "engines.md").read_text()
    for name in DiffusionConfig.model_fields:
        assert f"`TDS_DIFFUSION_{name.upper()}`" in text, name
        assert DiffusionConfig.variables(name) == [f"TDS_DIFFUSION_{name.upper()}"]
