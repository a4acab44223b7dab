"""Loading the diffusers pipelines once per process, by kind, on the configured device.

render and refine share one ControlNet image-to-image pipeline; enhance (tile ControlNet)
and staging (ControlNet inpainting) are built from it with `from_pipe`, so the base model's
UNet, VAE and text encoders are in memory once. The video pipeline is separate. Pipelines
are cached per configuration: engines made in one process share the warm weights.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import diffusers as _diffusers
import torch

from tds.engines.diffusion.config import DiffusionConfig

# diffusers is partly typed: its models and pipelines are handled as Any in this package.
diffusers: Any = _diffusers
Pipeline = Any

log = logging.getLogger(__name__)

# xinsir/controlnet-union-sdxl-1.0 control types (its model card): 3 = canny / lineart /
# MLSD, 6 = tile.
UNION_EDGES, UNION_TILE = 3, 6

IMG2IMG = {
    ("sdxl", False): diffusers.StableDiffusionXLControlNetImg2ImgPipeline,
    ("sdxl", True): diffusers.StableDiffusionXLControlNetUnionImg2ImgPipeline,
    ("sd15", False): diffusers.StableDiffusionControlNetImg2ImgPipeline,
}
INPAINT = {
    ("sdxl", False): diffusers.StableDiffusionXLControlNetInpaintPipeline,
    ("sdxl", True): diffusers.StableDiffusionXLControlNetUnionInpaintPipeline,
    ("sd15", False): diffusers.StableDiffusionControlNetInpaintPipeline,
}
VIDEO_CLASSES = {
    # model_index class → the image-to-video pipeline that loads the same components
    "WanImageToVideoPipeline": "WanImageToVideoPipeline",
    "WanPipeline": "WanImageToVideoPipeline",
    "LTXImageToVideoPipeline": "LTXImageToVideoPipeline",
    "LTXPipeline": "LTXImageToVideoPipeline",
    "StableVideoDiffusionPipeline": "StableVideoDiffusionPipeline",
}


class ModelMissing(RuntimeError):
    """A configured model is not on this machine (and downloads are off)."""


@dataclass(frozen=True)
class Preset:
    steps: int
    guidance: float
    few_step: bool  # steps count from full noise: an img2img run scales them up by strength


PRESETS = {
    "standard": Preset(30, 6.0, False),
    "lcm": Preset(6, 1.5, True),
    "lightning": Preset(4, 0.0, True),
    "turbo": Preset(4, 0.0, True),
}


def device_and_dtype(config: DiffusionConfig) -> tuple[str, torch.dtype]:
    device = config.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if config.dtype != "auto":
        dtype: torch.dtype = getattr(torch, config.dtype)
    elif device.startswith("cuda"):
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    else:
        dtype = torch.float32
    return device, dtype


def denoise_steps(config: DiffusionConfig, strength: float) -> tuple[int, int]:
    """(num_inference_steps to pass, steps that will run) for an img2img pass at strength."""
    preset = PRESETS[config.speed]
    wanted = config.steps or preset.steps
    strength = min(1.0, max(0.01, strength))
    if preset.few_step:
        total = max(wanted, math.ceil(wanted / strength))
    else:
        total = max(wanted, math.ceil(1 / strength))
    return total, max(1, min(int(total * strength), total))


def guidance(config: DiffusionConfig) -> float:
    return config.guidance if config.guidance >= 0 else PRESETS[config.speed].guidance


class Pipelines:
    """The pipelines one configuration needs, on its device, ready to run."""

    def __init__(
        self,
        config: DiffusionConfig,
        *,
        img2img: Pipeline | None = None,
        tile: Pipeline | None = None,
        inpaint: Pipeline | None = None,
        video: Pipeline | None = None,
    ) -> None:
        self.config = config
        self.device, self.dtype = device_and_dtype(config)
        self.img2img = img2img
        self.tile: Pipeline | None = None
        self.inpaint: Pipeline | None = None
        self.video = video
        self.family = "sdxl"
        self.union = False
        self.tile_union = False
        if img2img is not None:
            self._apply_speed(img2img)
            self.family = "sdxl" if hasattr(img2img, "text_encoder_2") else "sd15"
            self.union = isinstance(img2img.controlnet, diffusers.ControlNetUnionModel)
            # No tile ControlNet configured: a union ControlNet has a tile mode; any other
            # ControlNet guides the upscale by the edges of each tile.
            self.tile = tile if tile is not None else img2img
            self.tile_union = isinstance(self.tile.controlnet, diffusers.ControlNetUnionModel)
            self.inpaint = inpaint if inpaint is not None else self._inpaint_from(img2img)
            self._apply_speed(self.tile)
            self._apply_speed(self.inpaint)
        self._active: Pipeline | None = None

    def _apply_speed(self, pipeline: Pipeline) -> None:
        scheduler = _scheduler(self.config, pipeline.scheduler.config)
        if scheduler is not None:
            pipeline.scheduler = scheduler

    # -- sizes ---------------------------------------------------------------------------

    @property
    def tile_mode(self) -> tuple[bool, int]:
        """How enhance guides a tile: (the tile itself?, union control mode).

        A dedicated tile ControlNet, or a union ControlNet with a tile mode (ProMax: 8
        types), sees the tile itself; any other ControlNet sees the tile's edges."""
        assert self.tile is not None
        if not self.tile_union:
            return self.tile is not self.img2img, UNION_EDGES
        types = int(getattr(self.tile.controlnet.config, "num_control_type", 0))
        if types > UNION_TILE:
            return True, UNION_TILE
        return False, UNION_EDGES

    @property
    def native_area(self) -> int:
        if self.config.area:
            return self.config.area
        if self.config.speed == "turbo" or self.family == "sd15":
            return 512 * 512
        return 1024 * 1024

    @property
    def multiple(self) -> int:
        """Sides of what the UNet sees: multiples of the VAE's scale times its own."""
        assert self.img2img is not None
        vae_scale: int = self.img2img.vae_scale_factor
        levels = len(self.img2img.unet.config.block_out_channels) - 1
        return int(vae_scale * 2**levels)

    @property
    def tile_side(self) -> int:
        if self.config.tile:
            return self.config.tile
        return round(math.sqrt(self.native_area))

    # -- loading -------------------------------------------------------------------------

    @classmethod
    def load(cls, config: DiffusionConfig) -> Pipelines:
        kinds = config.kinds
        img2img = tile = inpaint = video = None
        if kinds & {"render", "refine", "enhance", "staging"}:
            img2img = _load_img2img(config)
            if "enhance" in kinds and config.tile_controlnet:
                controlnet = _load_controlnet(config, "tile_controlnet")
                tile = _tile_pipeline(img2img, controlnet)
            if "staging" in kinds and config.inpaint_model:
                inpaint = _load_inpaint(config, img2img)
        if "video" in kinds:
            video = _load_video(config)
        pipelines = cls(config, img2img=img2img, tile=tile, inpaint=inpaint, video=video)
        pipelines.prepare()
        return pipelines

    def _inpaint_from(self, img2img: Pipeline) -> Pipeline:
        cls = INPAINT[(self.family, self.union)]
        pipeline: Pipeline = cls.from_pipe(img2img)
        return pipeline

    def all(self) -> list[Pipeline]:
        found: list[Pipeline] = []
        for pipeline in (self.img2img, self.tile, self.inpaint, self.video):
            if pipeline is not None and all(pipeline is not seen for seen in found):
                found.append(pipeline)
        return found

    def prepare(self) -> None:
        """Device, dtype, attention, optional compile; progress bars off."""
        if self.device.startswith("cuda"):
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        for pipeline in self.all():
            pipeline.set_progress_bar_config(disable=True)
            if self.config.offload == "none":
                pipeline.to(self.device)
        if self.config.compile:
            compiled: set[int] = set()
            for pipeline in self.all():
                for name in ("unet", "controlnet", "transformer"):
                    module = getattr(pipeline, name, None)
                    if isinstance(module, torch.nn.Module) and id(module) not in compiled:
                        module.compile()  # in place: pipelines sharing it share the compiled one
                        compiled.add(id(module))

    def activate(self, pipeline: Pipeline) -> Pipeline:
        """Ready `pipeline` to run. With CPU offload the hooks are (re)installed for the
        pipeline about to run, because pipelines share modules and each install replaces
        the previous pipeline's hooks on them."""
        if self.config.offload != "none" and pipeline is not self._active:
            if self.config.offload == "model":
                pipeline.enable_model_cpu_offload(device=self.device)
            else:
                pipeline.enable_sequential_cpu_offload(device=self.device)
        self._active = pipeline
        return pipeline


def _scheduler(config: DiffusionConfig, scheduler_config: Any) -> Any:
    if config.speed == "lcm":
        return diffusers.LCMScheduler.from_config(scheduler_config)
    if config.speed == "lightning":
        return diffusers.EulerDiscreteScheduler.from_config(
            scheduler_config, timestep_spacing="trailing"
        )
    if config.speed == "turbo":
        return diffusers.EulerAncestralDiscreteScheduler.from_config(
            scheduler_config, timestep_spacing="trailing"
        )
    return None


def _options(config: DiffusionConfig, dtype: torch.dtype) -> dict[str, Any]:
    options: dict[str, Any] = {
        "dtype": dtype,
        "local_files_only": not config.allow_download,
    }
    if config.cache_dir:
        options["cache_dir"] = config.cache_dir
    return options


def _missing(setting: str, value: str, error: Exception) -> ModelMissing:
    hint = (
        f"download it once (`hf download {value}`) into the Hugging Face cache, "
        "or point the setting at a local diffusers directory"
        if not Path(value).exists()
        else "the directory is not a diffusers model"
    )
    return ModelMissing(
        f"TDS_DIFFUSION_{setting.upper()}={value!r} could not be loaded; weights are never "
        f"downloaded at run time unless TDS_DIFFUSION_ALLOW_DOWNLOAD=1: {hint} ({error})"
    )


def _config_of(config: DiffusionConfig, setting: str, value: str, loader: Any) -> dict[str, Any]:
    options = _options(config, torch.float32)
    options.pop("dtype")
    try:
        loaded: dict[str, Any] = loader.load_config(value, **options)
    except (OSError, ValueError) as error:
        raise _missing(setting, value, error) from error
    return loaded


def _family(config: DiffusionConfig) -> str:
    index = _config_of(config, "base_model", config.base_model, diffusers.DiffusionPipeline)
    name = str(index.get("_class_name", ""))
    if "XL" in name:
        return "sdxl"
    if name.startswith("StableDiffusion") and "3" not in name:
        return "sd15"
    raise ModelMissing(
        f"TDS_DIFFUSION_BASE_MODEL={config.base_model!r} is a {name or 'unknown'} model; "
        "the diffusion engine runs SDXL and SD 1.5 families (StableDiffusion[XL]Pipeline)"
    )


def _load_controlnet(config: DiffusionConfig, setting: str) -> Any:
    value = str(getattr(config, setting))
    _, dtype = device_and_dtype(config)
    found = _config_of(config, setting, value, diffusers.ControlNetModel)
    cls = (
        diffusers.ControlNetUnionModel
        if found.get("_class_name") == "ControlNetUnionModel"
        else diffusers.ControlNetModel
    )
    try:
        return cls.from_pretrained(value, **_options(config, dtype))
    except (OSError, ValueError) as error:
        raise _missing(setting, value, error) from error


def _load_unet(config: DiffusionConfig) -> Any:
    """TDS_DIFFUSION_UNET: a diffusers UNet directory or id (e.g. an LCM UNet), or a
    .safetensors file of UNet weights (e.g. SDXL-Lightning's 4-step UNet) given as a path or
    as owner/repo/file.safetensors in the Hugging Face cache."""
    _, dtype = device_and_dtype(config)
    value = config.unet
    options = _options(config, dtype)
    try:
        if not value.endswith(".safetensors"):
            unet: Any = diffusers.UNet2DConditionModel.from_pretrained(value, **options)
            return unet
        from safetensors.torch import load_file

        path = Path(value)
        if not path.is_file():
            from huggingface_hub import hf_hub_download

            repo, _, filename = value.rpartition("/")
            path = Path(
                hf_hub_download(
                    repo,
                    filename,
                    local_files_only=not config.allow_download,
                    cache_dir=config.cache_dir or None,
                )
            )
        base = diffusers.UNet2DConditionModel.load_config(
            config.base_model, subfolder="unet", local_files_only=not config.allow_download
        )
        unet = diffusers.UNet2DConditionModel.from_config(base)
        unet.load_state_dict(load_file(str(path)))
        return unet.to(dtype)
    except (OSError, ValueError) as error:
        raise _missing("unet", value, error) from error


def _load_img2img(config: DiffusionConfig) -> Pipeline:
    family = _family(config)
    _, dtype = device_and_dtype(config)
    controlnet = _load_controlnet(config, "controlnet")
    union = isinstance(controlnet, diffusers.ControlNetUnionModel)
    if (family, union) not in IMG2IMG:
        raise ModelMissing("a union ControlNet needs an SDXL base model")
    parts: dict[str, Any] = {"controlnet": controlnet}
    if config.vae:
        try:
            parts["vae"] = diffusers.AutoencoderKL.from_pretrained(
                config.vae, **_options(config, dtype)
            )
        except (OSError, ValueError) as error:
            raise _missing("vae", config.vae, error) from error
    if config.unet:
        parts["unet"] = _load_unet(config)
    cls = IMG2IMG[(family, union)]
    try:
        pipeline: Pipeline = cls.from_pretrained(
            config.base_model, **parts, **_options(config, dtype)
        )
    except (OSError, ValueError) as error:
        raise _missing("base_model", config.base_model, error) from error
    return pipeline


def _tile_pipeline(img2img: Pipeline, controlnet: Any) -> Pipeline:
    family = "sdxl" if hasattr(img2img, "text_encoder_2") else "sd15"
    union = isinstance(controlnet, diffusers.ControlNetUnionModel)
    cls = IMG2IMG[(family, union)]
    pipeline: Pipeline = cls.from_pipe(img2img, controlnet=controlnet)
    return pipeline


def _load_inpaint(config: DiffusionConfig, img2img: Pipeline) -> Pipeline:
    """A separate inpainting base (TDS_DIFFUSION_INPAINT_MODEL, e.g. a 9-channel SDXL
    inpainting UNet) with the render ControlNet; text encoders and VAE are its own."""
    family = "sdxl" if hasattr(img2img, "text_encoder_2") else "sd15"
    union = isinstance(img2img.controlnet, diffusers.ControlNetUnionModel)
    _, dtype = device_and_dtype(config)
    cls = INPAINT[(family, union)]
    try:
        pipeline: Pipeline = cls.from_pretrained(
            config.inpaint_model, controlnet=img2img.controlnet, **_options(config, dtype)
        )
    except (OSError, ValueError) as error:
        raise _missing("inpaint_model", config.inpaint_model, error) from error
    return pipeline


def _load_video(config: DiffusionConfig) -> Pipeline:
    index = _config_of(config, "video_model", config.video_model, diffusers.DiffusionPipeline)
    name = VIDEO_CLASSES.get(str(index.get("_class_name", "")))
    if name is None:
        raise ModelMissing(
            f"TDS_DIFFUSION_VIDEO_MODEL={config.video_model!r} is a "
            f"{index.get('_class_name')}; supported: Wan image-to-video, LTX-Video, "
            "Stable Video Diffusion"
        )
    _, dtype = device_and_dtype(config)
    cls = getattr(diffusers, name)
    try:
        pipeline: Pipeline = cls.from_pretrained(config.video_model, **_options(config, dtype))
    except (OSError, ValueError) as error:
        raise _missing("video_model", config.video_model, error) from error
    return pipeline


_CACHE: dict[DiffusionConfig, Pipelines] = {}
_CACHE_LOCK = threading.Lock()


def cached(config: DiffusionConfig) -> Pipelines:
    """The pipelines of `config`, loaded on first use and kept warm for the process."""
    with _CACHE_LOCK:
        pipelines = _CACHE.get(config)
        if pipelines is None:
            log.info("loading diffusion pipelines for %s", sorted(config.kinds))
            pipelines = Pipelines.load(config)
            _CACHE[config] = pipelines
        return pipelines
