"""The model recipes `tds models` knows: Hugging Face repos, the files of each that the diffusion
engine loads, and the settings that point the engine at them.

Stdlib only (no torch, diffusers or huggingface_hub), so `tds models list` answers at once on a
machine without the gpu extra.

Which files a recipe fetches follows how the engine loads a model (pipelines.py): diffusers
pipelines are loaded without a `variant`, so a component's weights are its plain
`diffusion_pytorch_model.safetensors` / `model.safetensors` (or their shards), never the `.fp16.`
variants, `.bin`, Flax, ONNX or the single-file checkpoints some repos carry beside the diffusers
layout. A component that a setting replaces (the base model's VAE when TDS_DIFFUSION_VAE names
another) is not fetched, as diffusers does not read it either.

Sizes are those of the weight files, computed from each model's parameter count (diffusers'
configs, built with `synthetic.py`'s full shapes) times the bytes per weight the repo stores;
configs and tokenizers add a few MB. Where the stored precision was not confirmed the recipe
says so. VRAM is what the engine keeps on the GPU at fp16/bf16 plus working memory at the
model's native size: an estimate, marked `~`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from tds.engines.base import KINDS, Kind

GB = 10**9
Family = Literal["sdxl", "sd15", "none"]

# Folders of a diffusers pipeline that hold no weights: everything in them is read.
PLAIN = ("scheduler", "tokenizer", "tokenizer_2", "feature_extractor", "image_processor")


def weights(folder: str = "") -> tuple[str, ...]:
    """The files of one model (a diffusers or transformers model) at `folder` ("" for a repo
    that is the model itself): its config and its full-precision safetensors, sharded or not."""
    prefix = f"{folder}/" if folder else ""
    names = []
    for stem in ("diffusion_pytorch_model", "model"):
        names += [
            f"{prefix}{stem}.safetensors",
            f"{prefix}{stem}.safetensors.index.json",
            f"{prefix}{stem}-?????-of-?????.safetensors",
        ]
    return (f"{prefix}config.json", *names)


def pipeline(*models: str, plain: tuple[str, ...] = PLAIN) -> tuple[str, ...]:
    """The files of a diffusers pipeline repo whose weight-bearing components are `models`."""
    files: list[str] = ["model_index.json"]
    files += [f"{folder}/*" for folder in plain]
    for folder in models:
        files += weights(folder)
    return tuple(files)


@dataclass(frozen=True)
class Repo:
    """One Hugging Face repo of a recipe and what the engine takes from it."""

    id: str
    files: tuple[str, ...]  # allow_patterns (fnmatch, as huggingface_hub reads them)
    size: int  # bytes of the files above, see the module docstring
    licence: str
    setting: str  # the DiffusionConfig field it is the value of
    value: str = ""  # that field's value; default: the repo id
    revision: str = "main"

    @property
    def setting_value(self) -> str:
        return self.value or self.id


@dataclass(frozen=True)
class Recipe:
    name: str
    title: str
    family: Family  # the base model family it is (sdxl, sd15) or works with
    repos: tuple[Repo, ...]
    kinds: frozenset[Kind]  # what it adds to the engine
    vram: str  # estimated GPU memory ("+" on top of what it builds on)
    # Settings (DiffusionConfig field → value) beyond each repo's own, e.g. a speed preset.
    settings: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    needs: tuple[str, ...] = ()  # recipes it builds on (pulled with it)
    note: str = ""

    @property
    def size(self) -> int:
        return sum(repo.size for repo in self.repos)

    @property
    def licences(self) -> list[str]:
        return list(dict.fromkeys(repo.licence for repo in self.repos))


def _settings(**values: str) -> MappingProxyType[str, str]:
    return MappingProxyType(values)


SDXL_BASE = "stabilityai/stable-diffusion-xl-base-1.0"
OPENRAIL_PP = "CreativeML Open RAIL++-M"
OPENRAIL_M = "CreativeML Open RAIL-M"

RECIPES: tuple[Recipe, ...] = (
    Recipe(
        name="sdxl-canny",
        title="SDXL 1.0 base + Canny ControlNet (the engine's default image models)",
        family="sdxl",
        repos=(
            # fp32 weights: UNet 2.57 B parameters, the two text encoders 123 M and 695 M.
            Repo(
                SDXL_BASE,
                pipeline("unet", "text_encoder", "text_encoder_2"),
                size=13_540_000_000,
                licence=OPENRAIL_PP,
                setting="base_model",
            ),
            Repo(
                "madebyollin/sdxl-vae-fp16-fix",
                weights(),
                size=335_000_000,  # 83.7 M parameters, fp32
                licence="MIT",
                setting="vae",
            ),
            Repo(
                "diffusers/controlnet-canny-sdxl-1.0",
                weights(),
                size=5_004_000_000,  # 1.25 B parameters, fp32
                licence=OPENRAIL_PP,
                setting="controlnet",
            ),
        ),
        kinds=frozenset({"render", "refine", "enhance", "staging"}),
        vram="~12 GB",
        # enhance without a tile ControlNet: each tile guided by its own edges (pull
        # sdxl-tile for the better upscaler); staging shares the base model.
        settings=_settings(tile_controlnet="", inpaint_model="", unet="", speed="standard"),
    ),
    Recipe(
        name="sdxl-tile",
        title="Tile ControlNet for SDXL: enhance redraws each tile from the tile itself",
        family="sdxl",
        repos=(
            Repo(
                "xinsir/controlnet-tile-sdxl-1.0",
                weights(),
                size=2_502_000_000,  # 1.25 B parameters, stored fp16
                licence="Apache-2.0",
                setting="tile_controlnet",
            ),
        ),
        kinds=frozenset({"enhance"}),
        vram="+2.5 GB",
        needs=("sdxl-canny",),
    ),
    Recipe(
        name="sdxl-lightning",
        title="SDXL-Lightning 4-step UNet: the same renders in 4 steps instead of 30",
        family="sdxl",
        repos=(
            Repo(
                "ByteDance/SDXL-Lightning",
                ("sdxl_lightning_4step_unet.safetensors",),
                size=5_135_000_000,  # 2.57 B parameters, fp16
                licence=OPENRAIL_PP,
                setting="unet",
                value="ByteDance/SDXL-Lightning/sdxl_lightning_4step_unet.safetensors",
            ),
        ),
        kinds=frozenset(),
        vram="+0 GB",
        settings=_settings(speed="lightning"),
        needs=("sdxl-canny",),
        note="replaces the base UNet on the GPU (the base's own stays on disk)",
    ),
    Recipe(
        name="sdxl-inpaint",
        title="SDXL 1.0 inpainting 0.1: a base trained to fill masks, for staging",
        family="sdxl",
        repos=(
            # fp32 like the base: 9-channel UNet (2.57 B), both text encoders, its own VAE.
            Repo(
                "diffusers/stable-diffusion-xl-1.0-inpainting-0.1",
                pipeline("unet", "text_encoder", "text_encoder_2", "vae"),
                size=13_875_000_000,
                licence=OPENRAIL_PP,
                setting="inpaint_model",
            ),
        ),
        kinds=frozenset({"staging"}),
        vram="+7 GB",
        needs=("sdxl-canny",),
    ),
    Recipe(
        name="sd15-mlsd",
        title="SD 1.5 + MLSD (straight lines) and tile ControlNets: the lighter option",
        family="sd15",
        repos=(
            # fp32: UNet 860 M, text encoder 123 M, VAE 84 M, safety checker 1.22 GB (its
            # pipeline loads it: the repo's model_index names it).
            Repo(
                "stable-diffusion-v1-5/stable-diffusion-v1-5",
                pipeline("unet", "text_encoder", "vae", "safety_checker"),
                size=5_490_000_000,
                licence=OPENRAIL_M,
                setting="base_model",
            ),
            Repo(
                "lllyasviel/control_v11p_sd15_mlsd",
                weights(),
                size=1_445_000_000,  # 361 M parameters, fp32
                licence="OpenRAIL",
                setting="controlnet",
            ),
            Repo(
                "lllyasviel/control_v11f1e_sd15_tile",
                weights(),
                size=1_445_000_000,
                licence="OpenRAIL",
                setting="tile_controlnet",
            ),
        ),
        kinds=frozenset({"render", "refine", "enhance", "staging"}),
        vram="~6 GB",
        # MLSD was trained on straight line maps: the engine's LSD lines are that.
        settings=_settings(vae="", control="lines", inpaint_model="", unet="", speed="standard"),
    ),
    Recipe(
        name="wan-i2v",
        title="Wan 2.1 image-to-video 14B, 480p (the engine's default video model)",
        family="none",
        repos=(
            # Transformer 16.4 B, UMT5-XXL encoder 6.7 B, CLIP ViT-H image encoder 632 M,
            # VAE 127 M parameters; fp32 storage assumed (not confirmed): approximate.
            Repo(
                "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers",
                pipeline("transformer", "text_encoder", "image_encoder", "vae"),
                size=95_540_000_000,
                licence="Apache-2.0",
                setting="video_model",
            ),
        ),
        kinds=frozenset({"video"}),
        vram="~48 GB",
        note="size approximate (assumes fp32 files); 48 GB is its weights at bf16, "
        "so a 40 GB card needs TDS_DIFFUSION_OFFLOAD=model",
    ),
)

BY_NAME = MappingProxyType({recipe.name: recipe for recipe in RECIPES})
APPROXIMATE = frozenset({"wan-i2v"})  # sizes not confirmed against the hub's listing


def get(name: str) -> Recipe:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown recipe {name!r}; choose from {', '.join(BY_NAME)}") from None


def with_needs(names: list[str]) -> list[Recipe]:
    """The recipes named and those they build on, each once, the ones built on first."""
    ordered: list[Recipe] = []

    def add(recipe: Recipe) -> None:
        for need in recipe.needs:
            add(get(need))
        if recipe not in ordered:
            ordered.append(recipe)

    for name in names:
        add(get(name))
    return ordered


def recipe_of(repo_id: str) -> Recipe | None:
    """The recipe that fetches a repo (the first one, for a repo in several)."""
    for recipe in RECIPES:
        if any(repo.id == repo_id for repo in recipe.repos):
            return recipe
    return None


def combine(recipes: list[Recipe]) -> tuple[dict[str, str], tuple[Kind, ...]]:
    """The diffusion engine's settings (field → value) and kinds for recipes used together.

    One base family is served at a time: recipes of another family than the first one with a
    base model are left out, so are add-ons whose base is missing."""
    bases = [r for r in recipes if not r.needs and r.family != "none"]
    family = bases[0].family if bases else "none"
    chosen = [
        r
        for r in recipes
        if r.family in (family, "none") and all(get(need) in recipes for need in r.needs)
    ]
    chosen.sort(key=lambda recipe: bool(recipe.needs))  # a base first: add-ons override it
    values: dict[str, str] = {}
    kinds: set[Kind] = set()
    for recipe in chosen:
        values |= dict(recipe.settings)
        values |= {repo.setting: repo.setting_value for repo in recipe.repos}
        kinds |= recipe.kinds
    return values, tuple(kind for kind in KINDS if kind in kinds)
