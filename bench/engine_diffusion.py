"""The diffusion engine's speed per kind: seconds per job, denoising steps/s, peak GPU
memory, and the achieved TFLOP/s of the denoiser (UNet + ControlNet, or the video
transformer) against the card's dense bf16 peak.

    python bench/engine_diffusion.py [--kinds render,video] [--repeats 2] [--steps 30]
                                     [--weights auto|random|disk] [--peak-tflops 989]

On a GPU it runs the configured models when their weights are on disk (TDS_DIFFUSION_*),
else the full-size architectures with random weights built in memory (SDXL base + two
ControlNets, Wan 2.1 I2V 14B: the same shapes, so the same speed as the real ones; the
pictures are noise). On a CPU it runs the tiny test configuration at 64 px, so the script
itself is exercised; those numbers say nothing about a GPU.

Each kind runs once to warm up (and to count the denoiser's FLOPs with torch's
FlopCounterMode), then `--repeats` timed jobs through DiffusionEngine.run, as the server
calls it. Denoising time is taken from the first to the last denoiser call of a job.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a bench never downloads

import numpy as np
import torch
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode

from tds.engines.base import KINDS, Job, Kind
from tds.engines.diffusion import synthetic
from tds.engines.diffusion.config import DiffusionConfig
from tds.engines.diffusion.engine import DiffusionEngine
from tds.engines.diffusion.pipelines import ModelMissing, Pipelines

DENOISERS = ("UNet2DConditionModel", "ControlNetModel", "ControlNetUnionModel")
VIDEO_DENOISERS = (
    "WanTransformer3DModel",
    "LTXVideoTransformer3DModel",
    "UNetSpatioTemporalConditionModel",
)

# Dense (no sparsity) bf16 tensor-core peaks, TFLOP/s, from the vendors' data sheets.
PEAKS = (
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("GH200", 989.0),
    ("H200", 989.0),
    ("H100", 989.0),
    ("B200", 2250.0),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L40", 181.0),
    ("L4", 121.0),
    ("RTX 6000 Ada", 364.0),
    ("RTX 4090", 165.0),
    ("A10", 125.0),
    ("MI300X", 1307.0),
)


@dataclass
class Result:
    kind: str
    size: tuple[int, int]
    seconds: list[float] = field(default_factory=list)
    steps: int = 0
    denoise_seconds: list[float] = field(default_factory=list)
    flops_per_step: float = 0.0
    peak_bytes: int = 0

    def row(self, peak_tflops: float | None) -> dict[str, Any]:
        seconds = statistics.median(self.seconds)
        denoise = statistics.median(self.denoise_seconds) if self.denoise_seconds else 0.0
        rate = self.steps / denoise if denoise else 0.0
        tflops = self.flops_per_step * rate / 1e12
        return {
            "kind": self.kind,
            "size": f"{self.size[0]}×{self.size[1]}",
            "s_per_job": round(seconds, 3),
            "steps": self.steps,
            "steps_per_s": round(rate, 2),
            "peak_gpu_gib": round(self.peak_bytes / 2**30, 2),
            "denoiser_tflops": round(tflops, 3),
            "of_peak": f"{100 * tflops / peak_tflops:.1f} %" if peak_tflops else "n/a",
        }


class Denoising:
    """Times a job's denoising: from the first denoiser call to the last one, and counts
    its steps as calls of the scheduler's `step` (classifier-free guidance may call the
    denoiser once or twice per step; the scheduler steps once)."""

    def __init__(self, modules: list[torch.nn.Module], scheduler: Any, cuda: bool) -> None:
        self.cuda = cuda
        self.start: float | None = None
        self.end: float | None = None
        self.steps = 0
        self.handles = []
        for module in modules:
            self.handles.append(module.register_forward_pre_hook(self._pre))
            self.handles.append(module.register_forward_hook(self._post))
        self.scheduler = scheduler
        original = scheduler.step

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.steps += 1
            return original(*args, **kwargs)

        scheduler.step = counted

    def _pre(self, module: Any, args: Any) -> None:
        if self.start is None:
            if self.cuda:
                torch.cuda.synchronize()
            self.start = time.perf_counter()

    def _post(self, module: Any, args: Any, output: Any) -> None:
        if self.cuda:
            torch.cuda.synchronize()
        self.end = time.perf_counter()

    def reset(self) -> None:
        self.start = self.end = None
        self.steps = 0

    @property
    def seconds(self) -> float:
        return (self.end or 0.0) - (self.start or 0.0)

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        del self.scheduler.step  # the class's own method again


def viewport(size: int) -> Image.Image:
    """A synthetic flat-shaded viewport (timing does not depend on the picture)."""
    rng = np.random.default_rng(0)
    image = np.full((size, size, 3), 220, np.uint8)
    for _ in range(12):
        x, y = rng.integers(0, size * 3 // 4, 2)
        w, h = rng.integers(size // 10, size // 3, 2)
        image[y : y + h, x : x + w] = rng.integers(60, 200, 3)
    return Image.fromarray(image, "RGB")


def random_pipelines(config: DiffusionConfig, scale: synthetic.Scale) -> Pipelines:
    """Every pipeline the engine needs, random weights, on config.device."""
    device, dtype = config.device, getattr(torch, config.dtype)
    img2img = synthetic.controlnet_img2img("sdxl", scale, seed=0)
    torch.manual_seed(1)
    tile_net = synthetic.controlnet("sdxl", scale)
    video = synthetic.wan_i2v(scale, seed=2) if "video" in config.kinds else None
    if scale == "full":
        synthetic.materialize_pipeline(img2img, device, dtype, seed=0)
        synthetic.materialize(tile_net, device, dtype, seed=100)
        if video is not None:
            synthetic.materialize_pipeline(video, device, dtype, seed=200)
    tile = type(img2img).from_pipe(img2img, controlnet=tile_net)
    pipelines = Pipelines(config, img2img=img2img, tile=tile, video=video)
    pipelines.prepare()
    return pipelines


def pipeline_of(pipelines: Pipelines, kind: Kind) -> Any:
    if kind == "video":
        return pipelines.video
    return {"enhance": pipelines.tile, "staging": pipelines.inpaint}.get(kind, pipelines.img2img)


def denoisers(pipelines: Pipelines, kind: Kind) -> list[torch.nn.Module]:
    if kind == "video":
        pipeline = pipelines.video
        names = ("transformer", "unet")
    else:
        pipeline = {"enhance": pipelines.tile, "staging": pipelines.inpaint}.get(
            kind, pipelines.img2img
        )
        names = ("unet", "controlnet")
    return [
        getattr(pipeline, n)
        for n in names
        if isinstance(getattr(pipeline, n, None), torch.nn.Module)
    ]


def bench_kind(
    engine: DiffusionEngine, kind: Kind, size: tuple[int, int], repeats: int, cuda: bool
) -> Result:
    image = viewport(max(64, min(size)) if kind != "enhance" else max(64, min(size) // 2))
    job = Job(
        kind=kind,
        image=image,
        width=size[0],
        height=size[1],
        seed=1,
        architectural_style="modern",
        lighting="golden_hour",
        geometry_fidelity=0.7,
        strength=0.5,
    )
    result = Result(kind, size)
    modules = denoisers(engine.pipelines, kind)
    scheduler = pipeline_of(engine.pipelines, kind).scheduler
    names = VIDEO_DENOISERS if kind == "video" else DENOISERS
    with FlopCounterMode(display=False) as counter:  # warm-up run, counted
        timer = Denoising(modules, scheduler, cuda)
        engine.run(job, lambda done, total: None)
        timer.remove()
    counts = counter.get_flop_counts()
    flops = sum(sum(counts.get(name, {}).values()) for name in names)
    result.flops_per_step = flops / max(1, timer.steps)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    timer = Denoising(modules, scheduler, cuda)
    for _ in range(repeats):
        timer.reset()
        start = time.perf_counter()
        engine.run(job, lambda done, total: None)
        if cuda:
            torch.cuda.synchronize()
        result.seconds.append(time.perf_counter() - start)
        result.denoise_seconds.append(timer.seconds)
        result.steps = timer.steps
    timer.remove()
    if cuda:
        result.peak_bytes = torch.cuda.max_memory_allocated()
    return result


def peak_for(name: str) -> float | None:
    return next((peak for key, peak in PEAKS if key.lower() in name.lower()), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--steps", type=int, default=0, help="denoising steps (0: 30 GPU, 4 CPU)")
    parser.add_argument("--video-steps", type=int, default=0, help="0: 8 GPU, 2 CPU")
    parser.add_argument("--video-frames", type=int, default=0, help="0: 81 GPU, 5 CPU")
    parser.add_argument("--weights", choices=("auto", "random", "disk"), default="auto")
    parser.add_argument("--peak-tflops", type=float, default=0.0)
    parser.add_argument("--json", default="", help="also write the results to this file")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="__array__ implementation")
    kinds = [kind for kind in KINDS if kind in args.kinds.split(",")]
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    if cuda:
        dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        card = torch.cuda.get_device_name()
        sizes = {"render": 1024, "refine": 1024, "staging": 1024, "enhance": 2048}
        steps = args.steps or 30
        config = DiffusionConfig(
            kinds=frozenset(kinds),
            device=device,
            dtype=dtype,
            steps=steps,
            video_steps=args.video_steps or 8,
            video_frames=args.video_frames or 81,
        )
    else:
        torch.set_num_threads(1)  # steady numbers on a shared machine
        dtype, card = "float32", "CPU"
        sizes = {"render": 64, "refine": 64, "staging": 64, "enhance": 128}
        steps = args.steps or 4
        config = DiffusionConfig(
            kinds=frozenset(kinds),
            device=device,
            dtype=dtype,
            steps=steps,
            area=64 * 64,
            tile=64,
            video_steps=args.video_steps or 2,
            video_frames=args.video_frames or 5,
            video_area=64 * 64,
            video_fps=8,
        )
    mode = "tiny random weights (CPU: tests the script, not a GPU's speed)"
    engine: DiffusionEngine | None = None
    if args.weights in ("auto", "disk") and (cuda or args.weights == "disk"):
        try:
            from_env = DiffusionConfig.from_env()
            engine = DiffusionEngine(
                DiffusionConfig(**{**from_env.__dict__, "kinds": frozenset(kinds), "steps": steps})
            )
            engine.setup()
            mode = f"weights on disk ({from_env.base_model})"
        except ModelMissing as missing:
            if args.weights == "disk":
                print(missing, file=sys.stderr)
                return 2
            engine = None
    build_start = time.perf_counter()
    if engine is None:
        scale: synthetic.Scale = "full" if cuda else "tiny"
        if cuda:
            mode = "full-size architectures, random weights (SDXL + ControlNets, Wan 2.1 I2V 14B)"
        engine = DiffusionEngine(config, pipelines=random_pipelines(config, scale))
    built = time.perf_counter() - build_start
    peak = args.peak_tflops or (peak_for(card) if cuda else None)
    print(f"device: {card}; dtype {dtype}; {mode}; built in {built:.1f} s")
    print(
        f"torch {torch.__version__}; steps {steps} (img2img runs steps × strength); "
        f"bf16 peak {peak or 'unknown'} TFLOP/s"
    )
    rows = []
    for kind in kinds:
        if kind == "video":
            width, height = (832, 480) if cuda else (64, 64)
        else:
            width = height = sizes[kind]
        result = bench_kind(engine, kind, (width, height), args.repeats, cuda)
        rows.append(result.row(peak))
        if cuda:
            torch.cuda.empty_cache()
    header = (
        "kind",
        "size",
        "s_per_job",
        "steps",
        "steps_per_s",
        "peak_gpu_gib",
        "denoiser_tflops",
        "of_peak",
    )
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in header]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(str(row[h]).ljust(w) for h, w in zip(header, widths, strict=True)))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(
                {"device": card, "dtype": dtype, "mode": mode, "rows": rows}, handle, indent=2
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
