"""The diffusion engine's settings, read from `TDS_DIFFUSION_*` environment variables.

Every model is a Hugging Face model id or a local directory in diffusers layout. Weights are
never downloaded unless TDS_DIFFUSION_ALLOW_DOWNLOAD is on: ids resolve in the local Hugging
Face cache (HF_HOME or TDS_DIFFUSION_CACHE_DIR) and a missing model fails at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Literal

from tds.engines.base import KINDS, Kind

Speed = Literal["standard", "lcm", "lightning", "turbo"]
Control = Literal["auto", "canny", "lines"]
Offload = Literal["none", "model", "sequential"]

SPEEDS: tuple[Speed, ...] = ("standard", "lcm", "lightning", "turbo")
CONTROLS: tuple[Control, ...] = ("auto", "canny", "lines")
OFFLOADS: tuple[Offload, ...] = ("none", "model", "sequential")


@dataclass(frozen=True)
class DiffusionConfig:
    """One field per setting; `from_env` documents the variable and default of each."""

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
    dtype: str = "auto"
    offload: Offload = "none"
    compile: bool = False
    allow_download: bool = False
    cache_dir: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DiffusionConfig:
        env = os.environ if environ is None else environ
        default = cls()
        values: dict[str, object] = {}
        for field in fields(cls):
            raw = env.get(f"TDS_DIFFUSION_{field.name.upper()}")
            if raw is None:
                continue
            raw = raw.strip()
            current = getattr(default, field.name)
            name = f"TDS_DIFFUSION_{field.name.upper()}"
            if field.name == "kinds":
                values["kinds"] = parse_kinds(raw, name)
            elif isinstance(current, bool):
                values[field.name] = parse_bool(raw, name)
            elif isinstance(current, int):
                values[field.name] = parse_number(raw, name, int)
            elif isinstance(current, float):
                values[field.name] = parse_number(raw, name, float)
            else:
                values[field.name] = raw
        config = cls(**values)  # type: ignore[arg-type]
        config.validate()
        return config

    def validate(self) -> None:
        choices: dict[str, tuple[str, ...]] = {
            "speed": SPEEDS,
            "control": CONTROLS,
            "offload": OFFLOADS,
            "dtype": ("auto", "float32", "float16", "bfloat16"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"TDS_DIFFUSION_{name.upper()} must be one of {', '.join(allowed)}, "
                    f"not {getattr(self, name)!r}"
                )
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


def parse_kinds(raw: str, name: str) -> frozenset[Kind]:
    kinds: set[Kind] = set()
    for part in raw.replace(" ", ",").split(","):
        if not part:
            continue
        match = next((kind for kind in KINDS if kind == part.strip().lower()), None)
        if match is None:
            raise ValueError(f"{name}: unknown kind {part!r}; choose from {', '.join(KINDS)}")
        kinds.add(match)
    return frozenset(kinds)


def parse_bool(raw: str, name: str) -> bool:
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"{name} must be 1/0, true/false, yes/no or on/off, not {raw!r}")


def parse_number(raw: str, name: str, kind: type[int] | type[float]) -> int | float:
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
