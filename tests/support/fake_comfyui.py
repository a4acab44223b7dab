"""A loopback fake of a ComfyUI server, for the comfyui engine's tests and its benchmark.

A real HTTP and websocket server on 127.0.0.1 (Starlette on uvicorn, a free port, a thread)
that speaks ComfyUI's documented protocol, every route also under `/api` as the real one:

- `GET /ws?clientId=…`: a `status` message (`{"status": {"exec_info": {"queue_remaining"}},
  "sid"}`) on connect and whenever the queue changes (to every socket); a prompt's messages go
  to the socket of the client id it was queued with: `execution_start`, `execution_cached`,
  `executing {node, display_node, prompt_id}` per node, `progress {value, max, prompt_id,
  node}` per sampler step, `executed {node, display_node, output, prompt_id}` for nodes that
  save files, then `execution_success` (or `execution_error {prompt_id, node_id, node_type,
  executed, exception_message, exception_type, traceback, current_inputs, current_outputs}`,
  or `execution_interrupted {prompt_id, node_id, node_type, executed}`), the history entry is
  written, and last `executing {node: null, prompt_id}` (ComfyUI's main.py prompt_worker);
  a second socket with one client id replaces the first;
- `POST /upload/image` (multipart `image`, `type`, `subfolder`, `overwrite`) →
  `{"name", "subfolder", "type"}`, renaming `x.png` to `x (1).png` when a different file has
  the name and `overwrite` is not set, 400 without an image or with a path that escapes;
- `GET /prompt` → `{"exec_info": {"queue_remaining"}}`; `POST /prompt` `{"prompt",
  "client_id", "prompt_id"?, "number"?, "front"?, "extra_data"?}` validated as
  execution.validate_prompt does: 400 `{"error": {"type", "message", "details", "extra_info"},
  "node_errors": {id: {"errors": [{type, message, details, extra_info}], "dependent_outputs",
  "class_type"}}}` (`invalid_prompt`, `prompt_no_outputs`, `prompt_outputs_failed_validation`
  with `required_input_missing`, `return_type_mismatch`, `invalid_input_type`,
  `value_smaller_than_min`, `value_bigger_than_max`, `value_not_in_list`,
  `custom_validation_failed` for a LoadImage whose file is not there), else
  `{"prompt_id", "number", "node_errors": {}}`;
- `GET /queue` → `{"queue_running": [[number, prompt_id, prompt, extra_data, outputs]],
  "queue_pending": […]}`; `POST /queue` `{"clear", "delete": [ids]}`;
- `POST /interrupt`, optionally `{"prompt_id"}`: only that prompt if it runs, else whatever runs;
- `GET /history`, `GET /history/{prompt_id}` → `{prompt_id: {"prompt", "outputs", "status":
  {"status_str", "completed", "messages"}, "meta"}}` (`{}` before it ran); `POST /history`;
- `GET /view?filename&subfolder&type` → the file (400 for `..` or an absolute name, 403 for a
  subfolder that escapes, 404 when missing).

Documents followed: docs.comfy.org/development/comfyui-server/comms_routes and comms_messages
(github.com/Comfy-Org/docs), ComfyUI's server.py (routes, upload, view, interrupt with
prompt_id), execution.py (validate_prompt, validate_inputs, the execution_error fields, the
history entry and its status), main.py (prompt_worker: `executing` null after task_done) and
script_examples/websockets_api_example.py (github.com/comfyanonymous/ComfyUI).

The nodes it knows (`NODES`) are the core nodes of the example workflows and the tests: each
with its required and optional inputs, their types and ranges, and what it makes. It runs a
workflow for real on small images: LoadImage loads the upload, ImageScale scales, VAEEncode and
VAEDecode pass pixels through, KSampler warms them a little, SaveImage writes a PNG (with the
prompt in its metadata, as ComfyUI does) and SaveVideo an MP4: so tests can follow the pixels.

Tests steer it: `fail(...)` (the next run of a node raises, as a CUDA error would), `pause()`
(the next sampler stops after its first step until `resume()`; `paused` is set meanwhile),
`hold()` / `release()` (nothing starts: prompts wait in the queue), `drop_sockets()`, `die()`
(the server goes away mid-render), `mute()` (no websocket messages), and read what arrived in
`requests` and `prompts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import math
import mimetypes
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import av
import numpy as np
import uvicorn
from PIL import Image, ImageFilter, ImageOps
from PIL.PngImagePlugin import PngInfo
from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

MAX_INT = 0xFFFFFFFFFFFFFFFF
MAX_RESOLUTION = 16384
SAMPLERS = ["euler", "euler_ancestral", "dpmpp_2m", "dpmpp_2m_sde", "dpmpp_sde", "uni_pc"]
SCHEDULERS = ["normal", "karras", "exponential", "sgm_uniform", "simple", "beta"]
UPSCALE = ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]
MODELS = {
    "checkpoints": ["sd_xl_base_1.0.safetensors", "juggernautXL_v9.safetensors"],
    "controlnet": [
        "controlnet-canny-sdxl-1.0.safetensors",
        "controlnet-union-sdxl-1.0.safetensors",
    ],
    "diffusion_models": ["qwen_image_edit_2509_fp8_e4m3fn.safetensors"],
    "text_encoders": ["qwen_2.5_vl_7b_fp8_scaled.safetensors"],
    "vae": ["qwen_image_vae.safetensors", "sdxl_vae.safetensors"],
    "upscale_models": ["4x-UltraSharp.pth", "RealESRGAN_x2.pth"],
}


class NodeFailure(Exception):
    """What a failing node raises: ComfyUI reports its message and type."""

    def __init__(self, message: str, exception_type: str, node: str) -> None:
        super().__init__(message)
        self.message, self.exception_type, self.node = message, exception_type, node


class Interrupted(Exception):
    """comfy.model_management.InterruptProcessingException."""


# -- the nodes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One input: a link type ("IMAGE", "MODEL", …), a value type ("INT", "FLOAT", "STRING",
    "BOOLEAN") with its range, or a combo (a list of choices)."""

    type: str | tuple[str, ...]
    min: float | None = None
    max: float | None = None

    @property
    def combo(self) -> tuple[str, ...] | None:
        return self.type if isinstance(self.type, tuple) else None


def INT(low: float = 0, high: float = MAX_INT) -> Spec:
    return Spec("INT", low, high)


def FLOAT(low: float = 0.0, high: float = 1.0) -> Spec:
    return Spec("FLOAT", low, high)


STRING = Spec("STRING")


def COMBO(choices: list[str]) -> Spec:
    return Spec(tuple(choices))


@dataclass(frozen=True)
class Node:
    required: dict[str, Spec]
    outputs: tuple[str, ...]
    run: Callable[[Run, str, dict[str, Any]], tuple[Any, ...]]
    optional: dict[str, Spec] = field(default_factory=dict)
    output_node: bool = False
    sampler: bool = False  # reports `progress` per step


@dataclass
class Run:
    """One prompt being executed."""

    fake: FakeComfyUI
    prompt_id: str
    prompt: dict[str, Any]
    client_id: str | None
    ui: dict[str, dict[str, Any]] = field(default_factory=dict)
    executed: list[str] = field(default_factory=list)


def _images(value: Any) -> list[Image.Image]:
    return list(value) if isinstance(value, list) else [value]


def _load_image(run: Run, node: str, inputs: dict[str, Any]) -> tuple[Any, ...]:
    image = run.fake.input_file(inputs["image"])
    assert image is not None  # validated
    picture = ImageOps.exif_transpose(Image.open(io.BytesIO(image)))
    rgb = picture.convert("RGB")
    if "A" in picture.getbands():
        mask = ImageOps.invert(picture.getchannel("A"))
    else:
        mask = Image.new("L", rgb.size, 0)
    return [rgb], mask


def _load_mask(run: Run, node: str, inputs: dict[str, Any]) -> tuple[Any, ...]:
    image = run.fake.input_file(inputs["image"])
    assert image is not None
    picture = Image.open(io.BytesIO(image))
    channel = {"alpha": "A", "red": "R", "green": "G", "blue": "B"}[inputs["channel"]]
    bands = picture.convert("RGBA")
    return (bands.getchannel(channel),)


def _scale(images: Any, size: tuple[int, int]) -> list[Image.Image]:
    return [image.resize(size, Image.Resampling.BICUBIC) for image in _images(images)]


def _image_scale(run: Run, node: str, inputs: dict[str, Any]) -> tuple[Any, ...]:
    first = _images(inputs["image"])[0]
    width, height = int(inputs["width"]), int(inputs["height"])
    if width == 0 and height == 0:
        return (inputs["image"],)
    width = width or max(1, round(first.width * height / first.height))
    height = height or max(1, round(first.height * width / first.width))
    return (_scale(inputs["image"], (width, height)),)


def _to_pixels(run: Run, node: str, inputs: dict[str, Any]) -> tuple[Any, ...]:
    first = _images(inputs["image"])[0]
    scale = math.sqrt(float(inputs["megapixels"]) * 1024 * 1024 / (first.width * first.height))
    return (_scale(inputs["image"], (round(first.width * scale), round(first.height * scale))),)


def _canny(run: Run, node: str, inputs: dict[str, Any]) -> tuple[Any, ...]:
    edges = [
        image.convert("L").filter(ImageFilter.FIND_EDGES).convert("RGB")
        for image in _images(inputs["image"])
    ]
    return (edges,)


def _ksampler(run: Run, node: str, inputs: dict[str, Any]) -> tuple[Any, ...]:
    steps = int(inputs["steps"])
    for step in range(1, steps + 1):
        run.fake.step(run, node, step, steps)
    denoise = float(inputs.get("denoise", 1.0))
    warm = []
    for image in _images(inputs["latent_image"]["samples"]):
        tint = Image.new("RGB", image.size, (255, 200, 140))
        warm.append(Image.blend(image, tint, 0.06 * denoise))
    return ({"samples": warm},)


def _save_image(run: Run, node: str, inputs: dict[str, Any]) -> tuple[Any, ...]:
    files = []
    for image in _images(inputs["images"]):
        metadata = PngInfo()
        metadata.add_text("prompt", json.dumps(run.prompt))
        buffer = io.BytesIO()
        image.save(buffer, "PNG", pnginfo=metadata, compress_level=4)  # SaveImage's level
        files.append(
            run.fake.save("output", str(inputs["filename_prefix"]), "png", buffer.getvalue())
        )
    run.ui[node] = {"images": files}
    return ()


def _preview_image(run: Run, node: str, inputs: dict[str, Any]) -> tuple[Any, ...]:
    files = []
    for image in _images(inputs["images"]):
        buffer = io.BytesIO()
        image.save(buffer, "PNG", compress_level=1)
        files.append(run.fake.save("temp", "ComfyUI_temp", "png", buffer.getvalue()))
    run.ui[node] = {"images": files}
    return ()


def _save_video(run: Run, node: str, inputs: dict[str, Any]) -> tuple[Any, ...]:
    frames, fps = inputs["video"]
    width, height = frames[0].size
    width, height = width // 2 * 2, height // 2 * 2
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=round(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "28", "preset": "ultrafast"}
        for frame in frames:
            picture = np.asarray(frame.resize((width, height)).convert("RGB"))
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode(None))
    saved = run.fake.save("output", str(inputs["filename_prefix"]), "mp4", buffer.getvalue())
    run.ui[node] = {"images": [saved], "animated": [True]}
    return ()


def _passthrough(
    key: str, wrap: Callable[[Any], Any] = lambda value: value
) -> Callable[..., tuple[Any, ...]]:
    return lambda run, node, inputs: (wrap(inputs[key]),)


def _constant(*values: Any) -> Callable[..., tuple[Any, ...]]:
    return lambda run, node, inputs: values


def _conditioning(run: Run, node: str, inputs: dict[str, Any]) -> tuple[Any, ...]:
    return ({"text": inputs.get("text", inputs.get("prompt", ""))},)


def _controlnet(run: Run, node: str, inputs: dict[str, Any]) -> tuple[Any, ...]:
    return inputs["positive"], inputs["negative"]


def _empty_latent(run: Run, node: str, inputs: dict[str, Any]) -> tuple[Any, ...]:
    size = (int(inputs["width"]), int(inputs["height"]))
    return ({"samples": [Image.new("RGB", size, (128, 128, 128))] * int(inputs["batch_size"])},)


def _upscale(run: Run, node: str, inputs: dict[str, Any]) -> tuple[Any, ...]:
    factor = 2 if "x2" in str(inputs["upscale_model"]) else 4
    first = _images(inputs["image"])[0]
    return (_scale(inputs["image"], (first.width * factor, first.height * factor)),)


def _repeat(run: Run, node: str, inputs: dict[str, Any]) -> tuple[Any, ...]:
    base = _images(inputs["image"])[0]
    count = int(inputs["amount"])
    # A slow zoom, so the clip is a clip and not one frame repeated.
    frames = []
    for index in range(count):
        crop = 1 - 0.1 * index / max(1, count - 1)
        w, h = base.width * crop, base.height * crop
        box = (
            (base.width - w) / 2,
            (base.height - h) / 2,
            (base.width + w) / 2,
            (base.height + h) / 2,
        )
        frames.append(base.resize(base.size, Image.Resampling.BILINEAR, box=box))
    return (frames,)


NODES: dict[str, Node] = {
    "CheckpointLoaderSimple": Node(
        {"ckpt_name": COMBO(MODELS["checkpoints"])},
        ("MODEL", "CLIP", "VAE"),
        lambda run, node, inputs: (f"model:{inputs['ckpt_name']}", "clip", "vae"),
    ),
    "UNETLoader": Node(
        {
            "unet_name": COMBO(MODELS["diffusion_models"]),
            "weight_dtype": COMBO(["default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"]),
        },
        ("MODEL",),
        _constant("model"),
    ),
    "CLIPLoader": Node(
        {
            "clip_name": COMBO(MODELS["text_encoders"]),
            "type": COMBO(["stable_diffusion", "sd3", "flux", "wan", "hidream", "qwen_image"]),
        },
        ("CLIP",),
        _constant("clip"),
        optional={"device": COMBO(["default", "cpu"])},
    ),
    "VAELoader": Node({"vae_name": COMBO(MODELS["vae"])}, ("VAE",), _constant("vae")),
    "ControlNetLoader": Node(
        {"control_net_name": COMBO(MODELS["controlnet"])}, ("CONTROL_NET",), _constant("cn")
    ),
    "UpscaleModelLoader": Node(
        {"model_name": COMBO(MODELS["upscale_models"])},
        ("UPSCALE_MODEL",),
        _passthrough("model_name"),
    ),
    "LoadImage": Node({"image": STRING}, ("IMAGE", "MASK"), _load_image),
    "LoadImageMask": Node(
        {"image": STRING, "channel": COMBO(["alpha", "red", "green", "blue"])},
        ("MASK",),
        _load_mask,
    ),
    "ImageScale": Node(
        {
            "image": Spec("IMAGE"),
            "upscale_method": COMBO(UPSCALE),
            "width": INT(0, MAX_RESOLUTION),
            "height": INT(0, MAX_RESOLUTION),
            "crop": COMBO(["disabled", "center"]),
        },
        ("IMAGE",),
        _image_scale,
    ),
    "ImageScaleToTotalPixels": Node(
        {"image": Spec("IMAGE"), "upscale_method": COMBO(UPSCALE), "megapixels": FLOAT(0.01, 16.0)},
        ("IMAGE",),
        _to_pixels,
    ),
    "Canny": Node(
        {
            "image": Spec("IMAGE"),
            "low_threshold": FLOAT(0.01, 0.99),
            "high_threshold": FLOAT(0.01, 0.99),
        },
        ("IMAGE",),
        _canny,
    ),
    "CLIPTextEncode": Node(
        {"text": STRING, "clip": Spec("CLIP")}, ("CONDITIONING",), _conditioning
    ),
    "TextEncodeQwenImageEditPlus": Node(
        {"clip": Spec("CLIP"), "prompt": STRING},
        ("CONDITIONING",),
        _conditioning,
        optional={
            "vae": Spec("VAE"),
            "image1": Spec("IMAGE"),
            "image2": Spec("IMAGE"),
            "image3": Spec("IMAGE"),
        },
    ),
    "ControlNetApplyAdvanced": Node(
        {
            "positive": Spec("CONDITIONING"),
            "negative": Spec("CONDITIONING"),
            "control_net": Spec("CONTROL_NET"),
            "image": Spec("IMAGE"),
            "strength": FLOAT(0.0, 10.0),
            "start_percent": FLOAT(0.0, 1.0),
            "end_percent": FLOAT(0.0, 1.0),
        },
        ("CONDITIONING", "CONDITIONING"),
        _controlnet,
        optional={"vae": Spec("VAE")},
    ),
    "ModelSamplingAuraFlow": Node(
        {"model": Spec("MODEL"), "shift": FLOAT(0.0, 100.0)}, ("MODEL",), _passthrough("model")
    ),
    "VAEEncode": Node(
        {"pixels": Spec("IMAGE"), "vae": Spec("VAE")},
        ("LATENT",),
        _passthrough("pixels", lambda pixels: {"samples": pixels}),
    ),
    "VAEDecode": Node(
        {"samples": Spec("LATENT"), "vae": Spec("VAE")},
        ("IMAGE",),
        _passthrough("samples", lambda latent: latent["samples"]),
    ),
    "SetLatentNoiseMask": Node(
        {"samples": Spec("LATENT"), "mask": Spec("MASK")}, ("LATENT",), _passthrough("samples")
    ),
    "EmptyLatentImage": Node(
        {
            "width": INT(16, MAX_RESOLUTION),
            "height": INT(16, MAX_RESOLUTION),
            "batch_size": INT(1, 4096),
        },
        ("LATENT",),
        _empty_latent,
    ),
    "KSampler": Node(
        {
            "model": Spec("MODEL"),
            "seed": INT(0, MAX_INT),
            "steps": INT(1, 10000),
            "cfg": FLOAT(0.0, 100.0),
            "sampler_name": COMBO(SAMPLERS),
            "scheduler": COMBO(SCHEDULERS),
            "positive": Spec("CONDITIONING"),
            "negative": Spec("CONDITIONING"),
            "latent_image": Spec("LATENT"),
            "denoise": FLOAT(0.0, 1.0),
        },
        ("LATENT",),
        _ksampler,
        sampler=True,
    ),
    "ImageUpscaleWithModel": Node(
        {"upscale_model": Spec("UPSCALE_MODEL"), "image": Spec("IMAGE")}, ("IMAGE",), _upscale
    ),
    "RepeatImageBatch": Node({"image": Spec("IMAGE"), "amount": INT(1, 4096)}, ("IMAGE",), _repeat),
    "CreateVideo": Node(
        {"images": Spec("IMAGE"), "fps": FLOAT(1.0, 120.0)},
        ("VIDEO",),
        lambda run, node, inputs: ((_images(inputs["images"]), float(inputs["fps"])),),
    ),
    "PrimitiveInt": Node({"value": INT(-MAX_INT, MAX_INT)}, ("INT",), _passthrough("value")),
    "PrimitiveFloat": Node({"value": FLOAT(-1e9, 1e9)}, ("FLOAT",), _passthrough("value")),
    "PrimitiveStringMultiline": Node({"value": STRING}, ("STRING",), _passthrough("value")),
    "SaveImage": Node(
        {"images": Spec("IMAGE"), "filename_prefix": STRING}, (), _save_image, output_node=True
    ),
    "PreviewImage": Node({"images": Spec("IMAGE")}, (), _preview_image, output_node=True),
    "SaveVideo": Node(
        {
            "video": Spec("VIDEO"),
            "filename_prefix": STRING,
            "format": COMBO(["auto", "mp4"]),
            "codec": COMBO(["auto", "h264"]),
        },
        (),
        _save_video,
        output_node=True,
    ),
}


# -- validation (execution.validate_prompt) ----------------------------------------------------


def _error(kind: str, message: str, details: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "message": message, "details": details, "extra_info": extra}


def _is_link(value: Any) -> bool:
    return isinstance(value, list)


class Validator:
    def __init__(self, fake: FakeComfyUI, prompt: dict[str, Any]) -> None:
        self.fake = fake
        self.prompt = prompt
        self.validated: dict[str, tuple[bool, list[dict[str, Any]]]] = {}

    def node(self, node_id: str) -> tuple[bool, list[dict[str, Any]]]:
        if node_id in self.validated:
            return self.validated[node_id]
        self.validated[node_id] = (True, [])  # a cycle is not this fake's concern
        spec = self.prompt[node_id]
        node = NODES[spec["class_type"]]
        inputs = spec.get("inputs") or {}
        errors: list[dict[str, Any]] = []
        valid = True
        for name, wanted in list(node.required.items()) + list(node.optional.items()):
            if name not in inputs:
                if name in node.required:
                    errors.append(
                        _error(
                            "required_input_missing",
                            "Required input is missing",
                            name,
                            input_name=name,
                        )
                    )
                continue
            value = inputs[name]
            if _is_link(value):
                if len(value) != 2:
                    errors.append(
                        _error(
                            "bad_linked_input",
                            "Bad linked input, must be a length-2 list of [node_id, slot_index]",
                            name,
                            input_name=name,
                            received_value=value,
                        )
                    )
                    continue
                source, slot = str(value[0]), value[1]
                if source not in self.prompt:
                    errors.append(
                        _error(
                            "exception_during_validation",
                            "Exception when validating node",
                            f"'{source}'",
                            exception_type="KeyError",
                        )
                    )
                    continue
                given = NODES[self.prompt[source]["class_type"]].outputs
                received = given[slot] if isinstance(slot, int) and 0 <= slot < len(given) else "?"
                expected = "*" if wanted.combo else wanted.type
                if received != expected and expected != "*":
                    errors.append(
                        _error(
                            "return_type_mismatch",
                            "Return type mismatch between linked nodes",
                            f"{name}, received_type({received}) mismatch input_type({expected})",
                            input_name=name,
                        )
                    )
                    continue
                if not self.node(source)[0]:
                    valid = False
                continue
            problem = self.value(name, wanted, value)
            if problem is not None:
                errors.append(problem)
        if (
            spec["class_type"] in ("LoadImage", "LoadImageMask")
            and isinstance(inputs.get("image"), str)
            and self.fake.input_file(inputs["image"]) is None
        ):
            errors.append(
                _error(
                    "custom_validation_failed",
                    "Custom validation failed for node",
                    f"image - Invalid image file: {inputs['image']}",
                    input_name="image",
                    received_value=inputs["image"],
                )
            )
        result = (valid and not errors, errors)
        self.validated[node_id] = result
        return result

    @staticmethod
    def value(name: str, wanted: Spec, value: Any) -> dict[str, Any] | None:
        if wanted.combo is not None:
            if value not in wanted.combo:
                return _error(
                    "value_not_in_list",
                    "Value not in list",
                    f"{name}: '{value}' not in {list(wanted.combo)}",
                    input_name=name,
                    received_value=value,
                )
            return None
        if wanted.type in ("INT", "FLOAT"):
            try:
                number: float = int(value) if wanted.type == "INT" else float(value)
                if isinstance(value, bool) or (
                    wanted.type == "INT" and isinstance(value, float) and not value.is_integer()
                ):
                    raise ValueError(value)
            except (TypeError, ValueError) as error:
                return _error(
                    "invalid_input_type",
                    f"Failed to convert an input value to a {wanted.type} value",
                    f"{name}, {value}, {error}",
                    input_name=name,
                    received_value=value,
                )
            if wanted.min is not None and number < wanted.min:
                return _error(
                    "value_smaller_than_min",
                    f"Value {value} smaller than min of {wanted.min:g}",
                    name,
                    input_name=name,
                    received_value=value,
                )
            if wanted.max is not None and number > wanted.max:
                return _error(
                    "value_bigger_than_max",
                    f"Value {value} bigger than max of {wanted.max:g}",
                    name,
                    input_name=name,
                    received_value=value,
                )
            return None
        if wanted.type == "STRING" and not isinstance(value, str):
            return _error(
                "invalid_input_type",
                "Failed to convert an input value to a STRING value",
                f"{name}, {value}",
                input_name=name,
                received_value=value,
            )
        return None

    def __call__(self) -> tuple[dict[str, Any] | None, list[str], dict[str, Any]]:
        """(error, outputs to execute, node_errors), as validate_prompt answers."""
        outputs: list[str] = []
        for node_id, spec in self.prompt.items():
            if not isinstance(spec, dict) or "class_type" not in spec:
                return (
                    _error(
                        "invalid_prompt",
                        "Cannot execute because a node is missing the class_type property.",
                        f"Node ID '#{node_id}'",
                    ),
                    [],
                    {},
                )
            node = NODES.get(spec["class_type"])
            if node is None:
                return (
                    _error(
                        "invalid_prompt",
                        f"Cannot execute because node {spec['class_type']} does not exist.",
                        f"Node ID '#{node_id}'",
                    ),
                    [],
                    {},
                )
            if node.output_node:
                outputs.append(node_id)
        if not outputs:
            return _error("prompt_no_outputs", "Prompt has no outputs", ""), [], {}
        good: list[str] = []
        node_errors: dict[str, Any] = {}
        lines: list[str] = []
        for output in outputs:
            if self.node(output)[0]:
                good.append(output)
                continue
            for node_id, (ok, reasons) in self.validated.items():
                if ok or not reasons:
                    continue
                entry = node_errors.setdefault(
                    node_id,
                    {
                        "errors": reasons,
                        "dependent_outputs": [],
                        "class_type": self.prompt[node_id]["class_type"],
                    },
                )
                entry["dependent_outputs"].append(output)
                lines += [f"{reason['message']}: {reason['details']}" for reason in reasons]
        if not good:
            error = _error(
                "prompt_outputs_failed_validation",
                "Prompt outputs failed validation",
                "\n".join(dict.fromkeys(lines)),
            )
            return error, [], node_errors
        return None, good, node_errors


# -- the server --------------------------------------------------------------------------------


@dataclass
class Received:
    """One request as the fake received it."""

    method: str
    path: str  # without the /api prefix
    query: dict[str, str]
    body: Any  # the JSON body, the form's fields for uploads, or None


@dataclass
class Queued:
    number: float
    prompt_id: str
    prompt: dict[str, Any]
    extra_data: dict[str, Any]
    outputs: list[str]

    def item(self) -> list[Any]:
        return [self.number, self.prompt_id, self.prompt, self.extra_data, self.outputs]


@dataclass
class Failure:
    message: str
    exception_type: str
    node: str | None
    class_type: str | None


class FakeComfyUI:
    """One ComfyUI server on loopback; `url` is its base URL (an entry of TDS_COMFYUI_URL)."""

    def __init__(self, step_seconds: float = 0.0, *, own_ids: bool = False) -> None:
        self.step_seconds = step_seconds  # wall time per sampler step
        self.own_ids = own_ids  # ignore a client's prompt_id, as servers before it did
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.requests: list[Received] = []
        self.prompts: list[dict[str, Any]] = []  # every prompt queued, as received
        self.files: dict[tuple[str, str, str], bytes] = {}  # (type, subfolder, name) → bytes
        self.history: dict[str, dict[str, Any]] = {}
        self.pending: list[Queued] = []
        self.running: Queued | None = None
        self.number = 0
        self.counters: dict[tuple[str, str], int] = {}
        self.sockets: dict[str, tuple[WebSocket, asyncio.AbstractEventLoop]] = {}
        self.failures: list[Failure] = []
        self.interrupted = False
        self.paused = threading.Event()  # set while a sampler is held by `pause`
        self._pause_next = False
        self._resume = threading.Event()
        self._held = False
        self._muted = False
        self._dead = False
        app = Starlette(routes=self._routes())
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="off",
            loop="asyncio",
            ws="websockets-sansio",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the fake ComfyUI failed to start")
            time.sleep(0.005)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.worker = threading.Thread(target=self._work, daemon=True)
        self.worker.start()

    def __enter__(self) -> FakeComfyUI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.die()
        self.worker.join(5)

    # -- steering ------------------------------------------------------------------------------

    def fail(
        self,
        message: str = "CUDA out of memory. Tried to allocate 2.00 GiB",
        exception_type: str = "torch.OutOfMemoryError",
        *,
        node: str | None = None,
        class_type: str | None = "KSampler",
    ) -> None:
        """The next run of that node (by id, else by class) raises."""
        with self.lock:
            self.failures.append(Failure(message, exception_type, node, class_type))

    def pause(self) -> None:
        """The next sampler holds after its first step until `resume` (or an interrupt)."""
        with self.lock:
            self._pause_next = True
            self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    def hold(self) -> None:
        """Start nothing: every prompt waits in the queue until `release`."""
        with self.lock:
            self._held = True

    def release(self) -> None:
        with self.lock:
            self._held = False
            self.changed.notify_all()

    def mute(self) -> None:
        """Refuse websockets (a proxy that passes plain HTTP only, say): renders follow
        /history alone."""
        self._muted = True
        self.drop_sockets()

    def drop_sockets(self) -> None:
        """Close every websocket; the server stays up."""
        with self.lock:
            sockets = list(self.sockets.values())
            self.sockets.clear()
        for socket, loop in sockets:
            self._in_loop(loop, socket.close(code=1001))

    def die(self) -> None:
        """The server goes away: its sockets close, its port stops answering, nothing more
        runs or is sent."""
        with self.lock:
            if self._dead:
                return
            self._dead = True
            self._resume.set()
            self.changed.notify_all()
        self.server.should_exit = True
        self.thread.join(10)

    def queued(self, prompt_id: str) -> bool:
        with self.lock:
            return any(item.prompt_id == prompt_id for item in self.pending)

    def calls(self, path: str | None = None, method: str | None = None) -> list[Received]:
        with self.lock:
            return [
                r
                for r in self.requests
                if (path is None or r.path == path) and (method is None or r.method == method)
            ]

    def queue_remaining(self) -> int:
        with self.lock:
            return len(self.pending) + (1 if self.running else 0)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        """Block until `predicate()` holds (checked whenever the fake's state changes)."""
        with self.changed:
            if not self.changed.wait_for(predicate, timeout):
                raise AssertionError("the fake ComfyUI never reached the state waited for")

    # -- files ---------------------------------------------------------------------------------

    def input_file(self, annotated: str) -> bytes | None:
        """A LoadImage value: `sub/name.png`, or `name.png [temp]`."""
        kind = "input"
        for suffix in ("input", "temp", "output"):
            if annotated.endswith(f" [{suffix}]"):
                annotated, kind = annotated[: -len(suffix) - 3], suffix
        path = PurePosixPath(annotated)
        with self.lock:
            return self.files.get(
                (kind, str(path.parent) if str(path.parent) != "." else "", path.name)
            )

    def save(self, kind: str, prefix: str, extension: str, data: bytes) -> dict[str, str]:
        path = PurePosixPath(prefix)
        subfolder = "" if str(path.parent) == "." else str(path.parent)
        with self.lock:
            counter = self.counters.get((subfolder, path.name), 0) + 1
            self.counters[(subfolder, path.name)] = counter
            name = f"{path.name}_{counter:05}_.{extension}"
            self.files[(kind, subfolder, name)] = data
        return {"filename": name, "subfolder": subfolder, "type": kind}

    # -- the websocket -------------------------------------------------------------------------

    def send(self, kind: str, data: dict[str, Any], sid: str | None) -> None:
        """ComfyUI's send_sync: to one client, or to every socket when sid is None."""
        if self._muted or self._dead:
            return
        text = json.dumps({"type": kind, "data": data})
        with self.lock:
            targets = (
                list(self.sockets.values())
                if sid is None
                else [self.sockets[sid]]
                if sid in self.sockets
                else []
            )
        for socket, loop in targets:
            self._in_loop(loop, socket.send_text(text))

    def _in_loop(self, loop: asyncio.AbstractEventLoop, coroutine: Any) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:  # from a route: queued behind the answer, never waited for
            loop.create_task(coroutine)
            return
        future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        try:
            future.result(5)
        except Exception:  # a socket closing meanwhile, a loop that stopped: messages are lost
            future.cancel()

    def _status(self) -> dict[str, Any]:
        return {"status": {"exec_info": {"queue_remaining": self.queue_remaining()}}}

    async def _socket(self, socket: WebSocket) -> None:
        if self._muted:
            await socket.close(code=1008)  # before the handshake: a 403
            return
        await socket.accept()
        sid = socket.query_params.get("clientId") or uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        with self.lock:
            old = self.sockets.pop(sid, None)  # "Reusing existing session, remove old"
            self.sockets[sid] = (socket, loop)
        if old is not None:
            with contextlib.suppress(RuntimeError):
                await old[0].close()
        await socket.send_text(
            json.dumps({"type": "status", "data": self._status() | {"sid": sid}})
        )
        try:
            while True:
                await socket.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            with self.lock:
                if self.sockets.get(sid, (None,))[0] is socket:
                    del self.sockets[sid]

    # -- the routes ----------------------------------------------------------------------------

    def _routes(self) -> list[Route | WebSocketRoute]:
        table: list[tuple[str, str, Callable[..., Any]]] = [
            ("GET", "/prompt", self._get_prompt),
            ("POST", "/prompt", self._post_prompt),
            ("POST", "/upload/image", self._upload),
            ("GET", "/queue", self._get_queue),
            ("POST", "/queue", self._post_queue),
            ("POST", "/interrupt", self._interrupt),
            ("GET", "/history", self._get_history),
            ("GET", "/history/{prompt_id}", self._get_history),
            ("POST", "/history", self._post_history),
            ("GET", "/view", self._view),
        ]
        routes: list[Route | WebSocketRoute] = []
        for prefix in ("", "/api"):
            routes.append(WebSocketRoute(f"{prefix}/ws", self._socket))
            for method, path, handler in table:
                routes.append(Route(prefix + path, self._recorded(path, handler), methods=[method]))
        return routes

    def _recorded(self, path: str, handler: Callable[..., Any]) -> Callable[[HttpRequest], Any]:
        async def endpoint(request: HttpRequest) -> Response:
            body: Any = None
            if request.headers.get("content-type", "").startswith("application/json"):
                try:
                    body = json.loads(await request.body())
                except ValueError:
                    body = None
            received = Received(request.method, path, dict(request.query_params), body)
            with self.lock:
                self.requests.append(received)
            response: Response = await handler(request, received)
            with self.changed:
                self.changed.notify_all()
            return response

        return endpoint

    async def _get_prompt(self, request: HttpRequest, received: Received) -> Response:
        return JSONResponse(self._status()["status"])

    async def _post_prompt(self, request: HttpRequest, received: Received) -> Response:
        data = received.body if isinstance(received.body, dict) else {}
        with self.lock:
            if "number" in data:
                number: float = float(data["number"])
            else:
                number = -self.number if data.get("front") else self.number
                self.number += 1
        if "prompt" not in data:
            error = _error("no_prompt", "No prompt provided", "No prompt provided")
            return JSONResponse({"error": error, "node_errors": {}}, status_code=400)
        prompt = data["prompt"]
        prompt_id = str(uuid.uuid4() if self.own_ids else data.get("prompt_id", uuid.uuid4()))
        error, outputs, node_errors = Validator(self, prompt)()
        if error is not None:
            return JSONResponse({"error": error, "node_errors": node_errors}, status_code=400)
        extra_data = dict(data.get("extra_data") or {})
        if "client_id" in data:
            extra_data["client_id"] = data["client_id"]
        extra_data["create_time"] = int(time.time() * 1000)
        with self.lock:
            self.prompts.append(prompt)
            self.pending.append(Queued(number, prompt_id, prompt, extra_data, outputs))
            self.pending.sort(key=lambda item: item.number)
            self.changed.notify_all()
        self.send("status", self._status(), None)
        return JSONResponse({"prompt_id": prompt_id, "number": number, "node_errors": node_errors})

    async def _upload(self, request: HttpRequest, received: Received) -> Response:
        async with request.form() as form:
            image = form.get("image")
            fields = {key: value for key, value in form.items() if isinstance(value, str)}
            received.body = fields
            if image is None or isinstance(image, str) or not image.filename:
                return Response(status_code=400)
            data = await image.read()
            filename = image.filename
        kind = fields.get("type") or "input"
        if kind not in ("input", "temp", "output"):
            kind = "input"
        subfolder = fields.get("subfolder", "")
        path = PurePosixPath(subfolder) / filename
        if path.is_absolute() or ".." in path.parts:
            return Response(status_code=400)
        name = filename
        folder = "" if str(path.parent) == "." else str(path.parent)
        with self.lock:
            if fields.get("overwrite") not in ("true", "1"):
                stem, dot, extension = name.rpartition(".")
                counter = 1
                while (kind, folder, name) in self.files and self.files[
                    (kind, folder, name)
                ] != data:
                    name = f"{stem} ({counter}){dot}{extension}"
                    counter += 1
            self.files[(kind, folder, name)] = data
        return JSONResponse({"name": name, "subfolder": subfolder, "type": kind})

    async def _get_queue(self, request: HttpRequest, received: Received) -> Response:
        with self.lock:
            running = [self.running.item()] if self.running else []
            pending = [item.item() for item in self.pending]
        return JSONResponse({"queue_running": running, "queue_pending": pending})

    async def _post_queue(self, request: HttpRequest, received: Received) -> Response:
        data = received.body if isinstance(received.body, dict) else {}
        with self.lock:
            if data.get("clear"):
                self.pending.clear()
            for prompt_id in data.get("delete") or []:
                self.pending = [item for item in self.pending if item.prompt_id != prompt_id]
            self.changed.notify_all()
        self.send("status", self._status(), None)
        return Response(status_code=200)

    async def _interrupt(self, request: HttpRequest, received: Received) -> Response:
        data = received.body if isinstance(received.body, dict) else {}
        with self.lock:
            target = data.get("prompt_id")
            if self.running is not None and (not target or target == self.running.prompt_id):
                self.interrupted = True
                self._resume.set()
                self.changed.notify_all()
        return Response(status_code=200)

    async def _get_history(self, request: HttpRequest, received: Received) -> Response:
        prompt_id = request.path_params.get("prompt_id")
        with self.lock:
            if prompt_id is None:
                items = dict(self.history)
                most = request.query_params.get("max_items")
                if most is not None:
                    items = dict(list(items.items())[-int(most) :])
                return JSONResponse(items)
            entry = self.history.get(prompt_id)
            return JSONResponse({prompt_id: entry} if entry is not None else {})

    async def _post_history(self, request: HttpRequest, received: Received) -> Response:
        data = received.body if isinstance(received.body, dict) else {}
        with self.lock:
            if data.get("clear"):
                self.history.clear()
            for prompt_id in data.get("delete") or []:
                self.history.pop(prompt_id, None)
        return Response(status_code=200)

    async def _view(self, request: HttpRequest, received: Received) -> Response:
        query = request.query_params
        if "filename" not in query:
            return Response(status_code=404)
        filename = query["filename"]
        kind = query.get("type", "output")
        if not filename or filename[0] == "/" or ".." in filename:
            return Response(status_code=400)
        if kind not in ("input", "temp", "output"):
            return Response(status_code=400)
        subfolder = query.get("subfolder", "")
        if subfolder.startswith("/") or ".." in PurePosixPath(subfolder).parts:
            return Response(status_code=403)
        name = PurePosixPath(filename).name
        with self.lock:
            data = self.files.get((kind, subfolder, name))
        if data is None:
            return Response(status_code=404)
        if "preview" in query:
            # server.py: "format;quality", webp unless jpeg (or an alpha channel asked for)
            preview = query["preview"].split(";")
            fmt = preview[0] if preview[0] in ("webp", "jpeg") else "webp"
            if "a" in query.get("channel", ""):
                fmt = "webp"
            quality = int(preview[-1]) if preview[-1].isdigit() else 90
            with Image.open(io.BytesIO(data)) as picture:
                if fmt == "jpeg" or query.get("channel") == "rgb":
                    picture = picture.convert("RGB")
                buffer = io.BytesIO()
                picture.save(buffer, format=fmt, quality=quality)
            headers = {"Content-Disposition": f'filename="{name.replace("png", fmt)}"'}
            return Response(buffer.getvalue(), media_type=f"image/{fmt}", headers=headers)
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        headers = {"Content-Disposition": f'filename="{name}"'}
        return Response(data, media_type=content_type, headers=headers)

    # -- the executor (main.py's prompt_worker, execution.PromptExecutor) ---------------------

    def _work(self) -> None:
        while True:
            with self.changed:
                self.changed.wait_for(lambda: self._dead or (self.pending and not self._held))
                if self._dead:
                    return
                item = self.pending.pop(0)
                self.running = item
                self.interrupted = False
                self.changed.notify_all()
            self.send("status", self._status(), None)
            self._execute(item)

    def _execute(self, item: Queued) -> None:
        client = item.extra_data.get("client_id")
        run = Run(self, item.prompt_id, item.prompt, client)
        messages: list[list[Any]] = []

        def message(kind: str, data: dict[str, Any]) -> None:
            data = data | {"timestamp": int(time.time() * 1000)}
            messages.append([kind, data])
            self.send(kind, data, client)

        message("execution_start", {"prompt_id": item.prompt_id})
        message("execution_cached", {"nodes": [], "prompt_id": item.prompt_id})
        values: dict[str, tuple[Any, ...]] = {}
        success = True
        try:
            for output in item.outputs:
                self._evaluate(run, output, values)
            message("execution_success", {"prompt_id": item.prompt_id})
        except Interrupted as stop:
            success = False
            node = str(stop.args[0])
            message(
                "execution_interrupted",
                {
                    "prompt_id": item.prompt_id,
                    "node_id": node,
                    "node_type": item.prompt[node]["class_type"],
                    "executed": list(run.executed),
                },
            )
        except NodeFailure as failure:
            success = False
            node = failure.node
            message(
                "execution_error",
                {
                    "prompt_id": item.prompt_id,
                    "node_id": node,
                    "node_type": item.prompt[node]["class_type"],
                    "executed": list(run.executed),
                    "exception_message": failure.message,
                    "exception_type": failure.exception_type,
                    "traceback": traceback.format_tb(failure.__traceback__),
                    "current_inputs": {},
                    "current_outputs": {},
                },
            )
        if self._dead:
            return  # a server that died mid-render writes nothing more
        with self.lock:
            self.history[item.prompt_id] = {
                "prompt": item.item(),
                "outputs": run.ui,
                "status": {
                    "status_str": "success" if success else "error",
                    "completed": success,
                    "messages": messages,
                },
                "meta": {
                    node: {
                        "node_id": node,
                        "display_node": node,
                        "parent_node": None,
                        "real_node_id": node,
                    }
                    for node in run.ui
                },
            }
            self.running = None
            self.changed.notify_all()
        self.send("status", self._status(), None)
        self.send("executing", {"node": None, "prompt_id": item.prompt_id}, client)

    def _evaluate(self, run: Run, node: str, values: dict[str, tuple[Any, ...]]) -> tuple[Any, ...]:
        if node in values:
            return values[node]
        spec = run.prompt[node]
        inputs: dict[str, Any] = {}
        for name, value in (spec.get("inputs") or {}).items():
            if _is_link(value):
                inputs[name] = self._evaluate(run, str(value[0]), values)[value[1]]
            else:
                inputs[name] = value
        self._check_interrupt(run, node)
        self.send(
            "executing",
            {"node": node, "display_node": node, "prompt_id": run.prompt_id},
            run.client_id,
        )
        with self.lock:
            failure = next(
                (
                    f
                    for f in self.failures
                    if f.node == node or (f.node is None and f.class_type == spec["class_type"])
                ),
                None,
            )
            if failure is not None:
                self.failures.remove(failure)
        if failure is not None:
            raise NodeFailure(failure.message, failure.exception_type, node)
        result = NODES[spec["class_type"]].run(run, node, inputs)
        values[node] = result
        run.executed.append(node)
        if node in run.ui:
            self.send(
                "executed",
                {
                    "node": node,
                    "display_node": node,
                    "output": run.ui[node],
                    "prompt_id": run.prompt_id,
                },
                run.client_id,
            )
        return result

    def step(self, run: Run, node: str, value: int, most: int) -> None:
        """A sampler's step: its progress message, the pause point, the interrupt check."""
        if self.step_seconds:
            time.sleep(self.step_seconds)
        self._check_interrupt(run, node)
        self.send(
            "progress",
            {"value": value, "max": most, "prompt_id": run.prompt_id, "node": node},
            run.client_id,
        )
        with self.lock:
            hold, self._pause_next = self._pause_next, False
        if hold:
            self.paused.set()
            with self.changed:
                self.changed.notify_all()
            while not self._resume.wait(0.01):
                pass
            self.paused.clear()
        self._check_interrupt(run, node)

    def _check_interrupt(self, run: Run, node: str) -> None:
        with self.lock:
            if self.interrupted or self._dead:
                self.interrupted = False
                raise Interrupted(node)


# -- workflows for the tests (API format, bound by tds: titles) ---------------------------------


def _node(class_type: str, inputs: dict[str, Any], title: str = "") -> dict[str, Any]:
    return {"class_type": class_type, "inputs": inputs, "_meta": {"title": title or class_type}}


def sdxl(*, strength: bool = False, steps: int = 4) -> dict[str, Any]:
    """Image to image with a canny ControlNet: the input at the output's size, sampled."""
    return {
        "1": _node("CheckpointLoaderSimple", {"ckpt_name": "sd_xl_base_1.0.safetensors"}),
        "2": _node("LoadImage", {"image": "example.png"}, "tds:image"),
        "3": _node(
            "ImageScale",
            {
                "image": ["2", 0],
                "upscale_method": "lanczos",
                "width": 1024,
                "height": 1024,
                "crop": "disabled",
            },
            "tds:width tds:height",
        ),
        "4": _node("Canny", {"image": ["3", 0], "low_threshold": 0.4, "high_threshold": 0.8}),
        "5": _node(
            "ControlNetLoader", {"control_net_name": "controlnet-canny-sdxl-1.0.safetensors"}
        ),
        "6": _node("CLIPTextEncode", {"text": "", "clip": ["1", 1]}, "tds:prompt"),
        "7": _node("CLIPTextEncode", {"text": "", "clip": ["1", 1]}, "tds:negative_prompt"),
        "8": _node(
            "ControlNetApplyAdvanced",
            {
                "positive": ["6", 0],
                "negative": ["7", 0],
                "control_net": ["5", 0],
                "image": ["4", 0],
                "strength": 0.8,
                "start_percent": 0.0,
                "end_percent": 0.8,
            },
            "tds:fidelity",
        ),
        "9": _node("VAEEncode", {"pixels": ["3", 0], "vae": ["1", 2]}),
        "10": _node(
            "KSampler",
            {
                "model": ["1", 0],
                "seed": 0,
                "steps": steps,
                "cfg": 6.0,
                "sampler_name": "dpmpp_2m",
                "scheduler": "karras",
                "positive": ["8", 0],
                "negative": ["8", 1],
                "latent_image": ["9", 0],
                "denoise": 0.9,
            },
            "tds:seed tds:strength" if strength else "tds:seed",
        ),
        "11": _node("VAEDecode", {"samples": ["10", 0], "vae": ["1", 2]}),
        "12": _node(
            "SaveImage", {"images": ["11", 0], "filename_prefix": "tds/render"}, "tds:output"
        ),
    }


def enhance() -> dict[str, Any]:
    return {
        "1": _node("LoadImage", {"image": "example.png"}, "tds:image"),
        "2": _node("UpscaleModelLoader", {"model_name": "4x-UltraSharp.pth"}),
        "3": _node("ImageUpscaleWithModel", {"upscale_model": ["2", 0], "image": ["1", 0]}),
        "4": _node(
            "ImageScale",
            {
                "image": ["3", 0],
                "upscale_method": "area",
                "width": 0,
                "height": 0,
                "crop": "disabled",
            },
            "tds:width tds:height",
        ),
        "5": _node(
            "SaveImage", {"images": ["4", 0], "filename_prefix": "tds/enhance"}, "tds:output"
        ),
    }


def staging() -> dict[str, Any]:
    graph = sdxl()
    graph["6"]["_meta"]["title"] = "tds:instruction furnish the room"
    graph["13"] = _node("LoadImageMask", {"image": "mask.png", "channel": "red"}, "tds:mask")
    graph["14"] = _node("SetLatentNoiseMask", {"samples": ["9", 0], "mask": ["13", 0]})
    graph["10"]["inputs"]["latent_image"] = ["14", 0]
    graph["12"]["inputs"]["filename_prefix"] = "tds/staging"
    return graph


def video(frames: int = 12) -> dict[str, Any]:
    return {
        "1": _node("LoadImage", {"image": "example.png"}, "tds:image"),
        "2": _node(
            "ImageScale",
            {
                "image": ["1", 0],
                "upscale_method": "bilinear",
                "width": 512,
                "height": 512,
                "crop": "disabled",
            },
            "tds:width tds:height",
        ),
        "3": _node("RepeatImageBatch", {"image": ["2", 0], "amount": frames}),
        "4": _node("CreateVideo", {"images": ["3", 0], "fps": 12.0}),
        "5": _node(
            "SaveVideo",
            {"video": ["4", 0], "filename_prefix": "tds/video", "format": "mp4", "codec": "h264"},
            "tds:output",
        ),
    }


def workflows() -> dict[str, dict[str, Any]]:
    """One workflow per kind, every binding in use somewhere."""
    return {
        "render": sdxl(),
        "refine": sdxl(strength=True),
        "enhance": enhance(),
        "staging": staging(),
        "video": video(),
    }


def write_workflows(folder: Any, graphs: dict[str, dict[str, Any]] | None = None) -> str:
    """`<kind>.json` files in `folder` (a pathlib.Path); the folder, for TDS_COMFYUI_WORKFLOWS."""
    folder.mkdir(parents=True, exist_ok=True)
    for kind, graph in (workflows() if graphs is None else graphs).items():
        (folder / f"{kind}.json").write_text(json.dumps(graph, indent=2))
    return str(folder)
