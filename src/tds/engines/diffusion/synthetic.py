"""Pipelines with random weights, built in code: no download, no file on disk.

`tiny` configurations run every kind on a CPU in well under a second at 64 px (the test suite
and the benchmark's CPU mode use them); `full` ones have the shapes of the real models
(SDXL base + its ControlNets, Wan 2.1 I2V 14B), so a GPU with no weights on disk times the
same work as the real ones. The tokenizer is a byte-level CLIP vocabulary made here: 256
byte symbols, the same 256 with the end-of-word mark, start and end tokens (514 entries) and
no merges, so every word is encoded character by character.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import diffusers as _diffusers
import torch
from transformers import (
    CLIPImageProcessor,
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
    UMT5Config,
    UMT5EncoderModel,
)

# diffusers is partly typed: its models and pipelines are handled as Any in this package.
diffusers: Any = _diffusers
Pipeline = Any
Scale = Literal["tiny", "full"]
START, END = 512, 513  # ids of <|startoftext|> and <|endoftext|> in the byte-level vocabulary


def byte_level_chars() -> list[str]:
    """CLIP's byte-level alphabet: one printable stand-in per byte (GPT-2's table)."""
    keep = [*range(33, 127), *range(161, 173), *range(174, 256)]
    moved = [b for b in range(256) if b not in keep]
    table = {b: chr(b) for b in keep} | {b: chr(256 + i) for i, b in enumerate(moved)}
    return [table[b] for b in range(256)]


def byte_vocabulary() -> dict[str, int]:
    chars = byte_level_chars()
    vocab = {token: index for index, token in enumerate(chars + [c + "</w>" for c in chars])}
    return vocab | {"<|startoftext|>": START, "<|endoftext|>": END}


def tokenizer(max_length: int = 77) -> CLIPTokenizer:
    """A CLIP tokenizer over the byte-level vocabulary; 77 tokens, as SD pipelines pad to
    (Wan reads up to 512)."""
    return CLIPTokenizer(vocab=byte_vocabulary(), merges=[], model_max_length=max_length)


@contextmanager
def _meta(enabled: bool) -> Iterator[None]:
    """Build parameters on the meta device (no memory, no init time) when `enabled`."""
    if not enabled:
        yield
        return
    from accelerate import init_empty_weights

    with init_empty_weights(include_buffers=False):
        yield


def materialize(module: torch.nn.Module, device: str, dtype: torch.dtype, seed: int = 0) -> None:
    """Give a module built on the meta device real random weights on `device`, fast.

    Matrices and kernels get N(0, 0.02); vectors named *weight (norm scales) get 1, other
    vectors 0. Buffers (position ids, rotary tables) were built for real and are only moved.
    """
    generator = torch.Generator(device=device).manual_seed(seed)
    for name, parameter in list(module.named_parameters()):
        owner = module.get_submodule(name.rpartition(".")[0]) if "." in name else module
        leaf = name.rpartition(".")[2]
        value = torch.empty(parameter.shape, device=device, dtype=dtype)
        if value.dim() >= 2:
            value.normal_(0.0, 0.02, generator=generator)
        elif leaf.endswith("weight") or leaf in {"scale", "gamma"}:
            value.fill_(1.0)
        else:
            value.zero_()
        owner._parameters[leaf] = torch.nn.Parameter(value, requires_grad=False)
    module.to(device=device)
    module.eval()


def _clip_text(scale: Scale, projection: bool, wide: bool) -> Any:
    if scale == "tiny":
        config = CLIPTextConfig(
            vocab_size=514,
            bos_token_id=START,
            eos_token_id=END,
            pad_token_id=END,
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            projection_dim=32,
            hidden_act="gelu",
        )
    elif wide:  # OpenCLIP ViT-bigG/14 text tower (SDXL text_encoder_2)
        config = CLIPTextConfig(
            vocab_size=49408,
            bos_token_id=START,
            eos_token_id=END,
            pad_token_id=END,
            hidden_size=1280,
            intermediate_size=5120,
            num_attention_heads=20,
            num_hidden_layers=32,
            projection_dim=1280,
            hidden_act="gelu",
        )
    else:  # CLIP ViT-L/14 text tower (SD 1.5 and SDXL text_encoder)
        config = CLIPTextConfig(
            vocab_size=49408,
            bos_token_id=START,
            eos_token_id=END,
            pad_token_id=END,
            hidden_size=768,
            intermediate_size=3072,
            num_attention_heads=12,
            num_hidden_layers=12,
            projection_dim=768,
            hidden_act="quick_gelu",
        )
    if projection:
        return CLIPTextModelWithProjection(config)
    return CLIPTextModel(config)


def _sdxl_unet_args(scale: Scale) -> dict[str, Any]:
    if scale == "tiny":
        return {
            "block_out_channels": (32, 64),
            "layers_per_block": 2,
            "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
            "attention_head_dim": (2, 4),
            "use_linear_projection": True,
            "addition_embed_type": "text_time",
            "addition_time_embed_dim": 8,
            "transformer_layers_per_block": (1, 2),
            "projection_class_embeddings_input_dim": 80,  # 6 · 8 + 32 pooled
            "cross_attention_dim": 64,  # two 32-wide text encoders side by side
        }
    return {
        "block_out_channels": (320, 640, 1280),
        "layers_per_block": 2,
        "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        "attention_head_dim": (5, 10, 20),
        "use_linear_projection": True,
        "addition_embed_type": "text_time",
        "addition_time_embed_dim": 256,
        "transformer_layers_per_block": (1, 2, 10),
        "projection_class_embeddings_input_dim": 2816,  # 6 · 256 + 1280 pooled
        "cross_attention_dim": 2048,
    }


def _sd15_unet_args(scale: Scale) -> dict[str, Any]:
    if scale == "tiny":
        return {
            "block_out_channels": (32, 64),
            "layers_per_block": 2,
            "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
            "cross_attention_dim": 32,
            "norm_num_groups": 1,
        }
    return {
        "block_out_channels": (320, 640, 1280, 1280),
        "layers_per_block": 2,
        "down_block_types": (
            "CrossAttnDownBlock2D",
            "CrossAttnDownBlock2D",
            "CrossAttnDownBlock2D",
            "DownBlock2D",
        ),
        "attention_head_dim": 8,
        "cross_attention_dim": 768,
    }


def _up_blocks(down: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(
        "CrossAttnUpBlock2D" if block.startswith("CrossAttn") else "UpBlock2D"
        for block in reversed(down)
    )


def unet(family: str, scale: Scale, in_channels: int = 4) -> Any:
    args = _sdxl_unet_args(scale) if family == "sdxl" else _sd15_unet_args(scale)
    return diffusers.UNet2DConditionModel(
        sample_size=32 if scale == "tiny" else (128 if family == "sdxl" else 64),
        in_channels=in_channels,
        out_channels=4,
        up_block_types=_up_blocks(args["down_block_types"]),
        **args,
    )


def controlnet(family: str, scale: Scale, union: bool = False) -> Any:
    args = _sdxl_unet_args(scale) if family == "sdxl" else _sd15_unet_args(scale)
    embedding = (16, 32) if scale == "tiny" else (16, 32, 96, 256)
    if union:
        union_args = {k: v for k, v in args.items() if k != "down_block_types"}
        width = args["block_out_channels"][0]
        # 8 control types, as the ProMax release (tile = 6, repaint = 7) has.
        union_args |= {"num_trans_channel": width, "num_proj_channel": width}
        union_args["num_control_type"] = 8
        if scale == "tiny":
            union_args["num_trans_head"] = 4
        model = diffusers.ControlNetUnionModel(
            in_channels=4,
            conditioning_embedding_out_channels=embedding,
            down_block_types=args["down_block_types"],
            **union_args,
        )
    else:
        model = diffusers.ControlNetModel(
            in_channels=4, conditioning_embedding_out_channels=embedding, **args
        )
    if scale == "tiny":
        _unzero(model)
    return model


def _unzero(module: torch.nn.Module) -> None:
    """A new ControlNet starts with zero convolutions, so it adds nothing to the UNet until
    trained; a test model must react to its control image, so they get small weights."""
    with torch.no_grad():
        for parameter in module.parameters():
            if parameter.dim() >= 2 and not parameter.any():
                parameter.normal_(0.0, 0.5)


def vae(family: str, scale: Scale) -> Any:
    if scale == "tiny":
        return diffusers.AutoencoderKL(
            block_out_channels=[32, 64],
            in_channels=3,
            out_channels=3,
            down_block_types=["DownEncoderBlock2D"] * 2,
            up_block_types=["UpDecoderBlock2D"] * 2,
            latent_channels=4,
            norm_num_groups=1 if family == "sd15" else 32,
        )
    return diffusers.AutoencoderKL(
        block_out_channels=[128, 256, 512, 512],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4,
        latent_channels=4,
        layers_per_block=2,
        sample_size=1024 if family == "sdxl" else 512,
        scaling_factor=0.13025 if family == "sdxl" else 0.18215,
    )


def sd_scheduler() -> Any:
    return diffusers.EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        steps_offset=1,
        timestep_spacing="leading",
    )


def controlnet_img2img(
    family: str = "sdxl", scale: Scale = "tiny", union: bool = False, seed: int = 0
) -> Pipeline:
    """An SDXL (or SD 1.5) ControlNet image-to-image pipeline with random weights.

    With scale "full" the weights live on the meta device: call `materialize` on each model
    (`materialize_pipeline`) before running it.
    """
    full = scale == "full"
    torch.manual_seed(seed)
    with _meta(full):
        parts: dict[str, Any] = {
            "unet": unet(family, scale),
            "controlnet": controlnet(family, scale, union=union),
            "vae": vae(family, scale),
            "scheduler": sd_scheduler(),
            "text_encoder": _clip_text(scale, projection=False, wide=False),
            "tokenizer": tokenizer(),
        }
        if family == "sdxl":
            parts["text_encoder_2"] = _clip_text(scale, projection=True, wide=True)
            parts["tokenizer_2"] = tokenizer()
    pipeline: Pipeline
    if family == "sdxl":
        cls = (
            diffusers.StableDiffusionXLControlNetUnionImg2ImgPipeline
            if union
            else diffusers.StableDiffusionXLControlNetImg2ImgPipeline
        )
        pipeline = cls(**parts)
    else:
        pipeline = diffusers.StableDiffusionControlNetImg2ImgPipeline(
            **parts, safety_checker=None, feature_extractor=None, requires_safety_checker=False
        )
    return pipeline


def wan_i2v(scale: Scale = "tiny", seed: int = 0) -> Pipeline:
    """A Wan 2.1 image-to-video pipeline with random weights (full: the 14B I2V shapes)."""
    full = scale == "full"
    torch.manual_seed(seed)
    with _meta(full):
        if full:
            transformer = diffusers.WanTransformer3DModel(
                patch_size=(1, 2, 2),
                num_attention_heads=40,
                attention_head_dim=128,
                in_channels=36,
                out_channels=16,
                text_dim=4096,
                freq_dim=256,
                ffn_dim=13824,
                num_layers=40,
                cross_attn_norm=True,
                qk_norm="rms_norm_across_heads",
                image_dim=1280,
                added_kv_proj_dim=5120,
            )
            video_vae = diffusers.AutoencoderKLWan(
                base_dim=96,
                z_dim=16,
                dim_mult=[1, 2, 4, 4],
                num_res_blocks=2,
                temperal_downsample=[False, True, True],
            )
            text = UMT5EncoderModel(
                UMT5Config(
                    vocab_size=256384,
                    d_model=4096,
                    d_kv=64,
                    d_ff=10240,
                    num_layers=24,
                    num_heads=64,
                    feed_forward_proj="gated-gelu",
                    pad_token_id=END,
                    eos_token_id=END,
                )
            )
            vision = CLIPVisionConfig(
                hidden_size=1280,
                intermediate_size=5120,
                num_attention_heads=16,
                num_hidden_layers=32,
                image_size=224,
                patch_size=14,
                projection_dim=1024,
                hidden_act="gelu",
            )
            processor = CLIPImageProcessor(crop_size=224, size=224)
        else:
            transformer = diffusers.WanTransformer3DModel(
                patch_size=(1, 2, 2),
                num_attention_heads=2,
                attention_head_dim=12,
                in_channels=36,
                out_channels=16,
                text_dim=32,
                freq_dim=256,
                ffn_dim=32,
                num_layers=2,
                cross_attn_norm=True,
                qk_norm="rms_norm_across_heads",
                rope_max_seq_len=32,
                image_dim=4,
            )
            video_vae = diffusers.AutoencoderKLWan(
                base_dim=3,
                z_dim=16,
                dim_mult=[1, 1, 1, 1],
                num_res_blocks=1,
                temperal_downsample=[False, True, True],
            )
            text = UMT5EncoderModel(
                UMT5Config(
                    vocab_size=514,
                    d_model=32,
                    d_kv=8,
                    d_ff=37,
                    num_layers=2,
                    num_heads=4,
                    pad_token_id=END,
                    eos_token_id=END,
                )
            )
            vision = CLIPVisionConfig(
                hidden_size=4,
                projection_dim=4,
                num_hidden_layers=2,
                num_attention_heads=2,
                image_size=32,
                intermediate_size=16,
                patch_size=1,
            )
            processor = CLIPImageProcessor(crop_size=32, size=32)
        image_encoder = CLIPVisionModelWithProjection(vision)
    pipeline: Pipeline = diffusers.WanImageToVideoPipeline(
        tokenizer=tokenizer(512),
        text_encoder=text,
        vae=video_vae,
        scheduler=diffusers.FlowMatchEulerDiscreteScheduler(shift=3.0 if full else 7.0),
        image_processor=processor,
        image_encoder=image_encoder,
        transformer=transformer,
    )
    return pipeline


def materialize_pipeline(
    pipeline: Pipeline, device: str, dtype: torch.dtype, seed: int = 0
) -> None:
    """Random weights for every model of a pipeline built with scale "full"."""
    for index, (_, component) in enumerate(sorted(pipeline.components.items())):
        if isinstance(component, torch.nn.Module):
            materialize(component, device, dtype, seed + index)
