"""Tiny random diffusers models written to disk the way real ones are laid out, so the
diffusion engine loads them through its real loading code (`local_files_only=True`).

A base model directory (StableDiffusionXLPipeline or StableDiffusionPipeline, as the real
base models ship), ControlNets (edges, tile, union), a UNet weights file (as SDXL-Lightning
ships its UNet) and a Wan image-to-video model. Everything is built in code, tokenizer too.
"""

from __future__ import annotations

import json
import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before diffusers and huggingface_hub are imported

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import diffusers as _diffusers
import torch
from safetensors.torch import save_file

from tds.engines.diffusion import synthetic
from tds.engines.diffusion.config import DiffusionConfig

diffusers: Any = _diffusers


@dataclass(frozen=True)
class Models:
    root: Path
    sdxl: Path
    sd15: Path
    controlnet: Path
    sd15_controlnet: Path
    tile_controlnet: Path
    union_controlnet: Path
    unet_file: Path
    video: Path

    def config(self, **changes: Any) -> DiffusionConfig:
        """The engine's configuration for the tiny SDXL family, at test sizes."""
        settings: dict[str, Any] = {
            "base_model": str(self.sdxl),
            "vae": "",
            "controlnet": str(self.controlnet),
            "tile_controlnet": str(self.tile_controlnet),
            "video_model": str(self.video),
            "video_frames": 5,
            "video_fps": 8,
            "video_steps": 2,
            "video_area": 64 * 64,
            "steps": 2,
            "area": 64 * 64,
            "tile": 64,
            "device": "cpu",
            "dtype": "float32",
        }
        return DiffusionConfig(**(settings | changes))


def write_tokenizer(folder: Path) -> None:
    """Replace a saved tokenizer by the files a CLIP tokenizer is made of: the byte-level
    vocabulary (514 entries) in vocab.json and an empty merges.txt, so that loading it
    reads exactly what this test wrote."""
    (folder / "tokenizer.json").unlink(missing_ok=True)
    vocabulary = synthetic.byte_vocabulary()
    (folder / "vocab.json").write_text(json.dumps(vocabulary, ensure_ascii=False))
    (folder / "merges.txt").write_text("#version: 0.2\n")


def _base(family: str, seed: int) -> Any:
    """The base text-to-image pipeline (no ControlNet), as a base model directory holds."""
    pipeline = synthetic.controlnet_img2img(family, "tiny", seed=seed)
    parts = {k: v for k, v in pipeline.components.items() if k != "controlnet"}
    if family == "sdxl":
        return diffusers.StableDiffusionXLPipeline(**parts)
    return diffusers.StableDiffusionPipeline(**parts)


def build(root: Path) -> Models:
    """Write every tiny model under `root` (about a second on two cores)."""
    paths = {
        name: root / name
        for name in (
            "sdxl",
            "sd15",
            "controlnet",
            "sd15_controlnet",
            "tile_controlnet",
            "union_controlnet",
            "video",
        )
    }
    _base("sdxl", 0).save_pretrained(paths["sdxl"])
    _base("sd15", 0).save_pretrained(paths["sd15"])
    torch.manual_seed(1)
    synthetic.controlnet("sdxl", "tiny").save_pretrained(paths["controlnet"])
    torch.manual_seed(2)
    synthetic.controlnet("sdxl", "tiny").save_pretrained(paths["tile_controlnet"])
    torch.manual_seed(3)
    synthetic.controlnet("sdxl", "tiny", union=True).save_pretrained(paths["union_controlnet"])
    torch.manual_seed(4)
    synthetic.controlnet("sd15", "tiny").save_pretrained(paths["sd15_controlnet"])
    torch.manual_seed(5)
    unet = synthetic.unet("sdxl", "tiny")
    unet_file = root / "unet_lightning.safetensors"
    save_file({k: v.contiguous() for k, v in unet.state_dict().items()}, str(unet_file))
    synthetic.wan_i2v("tiny", seed=6).save_pretrained(paths["video"])
    for model in ("sdxl", "sd15", "video"):
        for folder in paths[model].glob("tokenizer*"):
            write_tokenizer(folder)
    return Models(root=root, unet_file=unet_file, **paths)
