"""The diffusion engine's settings, read from `TDS_DIFFUSION_*` environment variables.

Every model is a Hugging Face model id or a local directory in diffusers layout. Weights are
never downloaded unless TDS_DIFFUSION_ALLOW_DOWNLOAD is on: ids resolve in the local Hugging
Face cache (HF_HOME or TDS_DIFFUSION_CACHE_DIR) and a missing model fails at start-up.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from tds.engines.base import KINDS, Kind
from tds.engines.common.settings import EngineSettings

Speed = Literal["standard", "lcm", "lightning", "turbo"]
Control = Literal["auto", "canny", "lines"]
Offload = Literal["none", "model", "sequential"]
Dtype = Literal["auto", "float32", "float16", "bfloat16"]


class DiffusionConfig(EngineSettings):
    """One field per setting, each read from TDS_DIFFUSION_<NAME> (see docs/engines.md)."""

    model_config = SettingsConfigDict(env_prefix="TDS_DIFFUSION_")

    kinds: frozenset[Kind] = frozenset(KINDS)
    base_model: str = "stabilityai/stable-diffusion-xl-base-1.0"
    vae: str = "madebyollin/sdxl-vae-fp16-fix"
    unet: str = ""
    controlnet: str = "diffusers/controlnet-canny-sdxl-1.0"
    control: Control = "auto"
    tile_controlnet: str = "xinsir/controlnet-tile-sdxl-1.0"
    inpaint_model: str = ""
    video_model: str = "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers"
    video_frames: int = 81
    video_fps: int = 16
    video_steps: int = 40
    video_guidance: float = 5.0
    video_area: int = 480 * 832
    speed: Speed = "standard"
    steps: int = 0  # 0: the speed preset's
    guidance: float = -1.0  # < 0: the speed preset's
    area: int = 0  # 0: the base model's native area (1024² SDXL, 512² SD 1.5)
    tile: int = 0  # 0: the native side (1024 SDXL, 512 SD 1.5)
    device: str = "auto"
    dtype: Dtype = "auto"
    offload: Offload = "none"
    compile: bool = False
    allow_download: bool = False
    cache_dir: str = ""

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.video_frames < 2 or self.video_fps < 1 or self.video_steps < 1:
            raise ValueError("TDS_DIFFUSION_VIDEO_FRAMES ≥ 2, _FPS ≥ 1 and _STEPS ≥ 1")
        if self.steps < 0 or self.area < 0 or self.tile < 0 or self.video_area < 64 * 64:
            raise ValueError("TDS_DIFFUSION_STEPS, _AREA and _TILE must not be negative")
        if self.kinds & {"render", "refine", "enhance", "staging"} and not self.base_model:
            raise ValueError(
                "TDS_DIFFUSION_BASE_MODEL is needed for render, refine, enhance, staging"
            )
        if "video" in self.kinds and not self.video_model:
            raise ValueError("TDS_DIFFUSION_VIDEO_MODEL is needed for video")
        return self
